"""Answering: a question in, an answer with verified citations out.

A ``Pipeline`` of small stages, each with one job, chosen by ``Settings`` in ``factory``:

    follow-up resolution -> retrieval -> optional reranker -> evidence gate (refuse or go on)
    -> answerer (a draft: text spans from the passages) -> cite and verify

An answerer never retrieves; it reads the passages it is given. ``Engine`` opens a store with
its embedder and builds the pipeline, and the CLI, the app and eval all ask through it.
"""
