"""Headings: a citation names the section its quote really stands in, or none.

The ten passages below were looked up by hand in the corpus files: each quote with the
heading of the section it stands in, as a reader of the printed document sees it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kilde.ingest.readers import read_source
from kilde.text import sentence_spans
from kilde.text.headings import is_heading, section_heading

CORPUS = Path(__file__).resolve().parents[1] / "corpus"

TRUE_SECTIONS = [
    (
        "001_0fd81fc229b4ecf7.txt",
        "er estimert til om lag 14,2 milliarder kroner",
        "6) Kostnader og risiko ved en eventuell avvikling av Helseplattformen",
    ),
    (
        "001_0fd81fc229b4ecf7.txt",
        "Samlet gjennomsnittlig turnover var 5 prosent i 2025.",  # after a footnote and a link
        "5.5. Arbeidsmiljø, turnover og årsaker til avslutning av arbeidsforholdet",
    ),
    (
        "001_0fd81fc229b4ecf7.txt",
        "IKT-kostnader som andel av de totale driftskostnadene er sunket",
        "2.2. Utgifter til IKT som andel av totale driftskostnader",
    ),
    (
        "001_0fd81fc229b4ecf7.txt",
        "Uttrekk fra meldingssystemet som benyttes",  # its heading was glued onto it
        "4.5. Meldte feilsaker fra helseforetakene til Helseplattformen AS",
    ),
    (
        "000_4f1cf45ed7c19a3b.txt",
        "34 kommuner og de ni sykehusene i Midt-Norge bruker løsningen",
        "Vedlegg 2. Datagrunnlag fra helsetjenesten i Midt-Norge",
    ),
    (
        "003_470028747cd86873.txt",
        "Det er ønskelig med et utvalg som speiler sammensetningen",
        "2.2 Metodiske betraktninger",
    ),
    (
        "003_470028747cd86873.txt",
        "Ved utgangen av 2024 bor 71 % av innbyggerne i Midt-Norge",
        "3.2 Datagrunnlag fra helsetjenesten i Midt-Norge",
    ),
    (
        "003_470028747cd86873.txt",
        "Respondentene fra helseforetak i Helse Midt-Norge er hovedsakelig leger",  # after charts
        "3.5 Erfaringer og tilfredshet med elektroniske pasientjournalsystemer",
    ),
    (
        "003_470028747cd86873.txt",
        "Helsepersonellkommisjonen understreker at vi må omstille oss",
        "Forord",
    ),
    (
        "004_b97c4305bcd8adba.txt",
        "I fjor foreslo regjeringen en ekstra bevilgning på 200 millioner kroner",
        "Vil følge opp",
    ),
]


def cleaned(name: str) -> str:
    return read_source(CORPUS / name, name).pages[0].text


@pytest.mark.parametrize(("name", "quote", "heading"), TRUE_SECTIONS)
def test_passage_is_cited_under_its_true_section(name, quote, heading):
    text = cleaned(name)
    assert section_heading(text, text.index(quote)) == heading


def test_no_sentence_swallows_a_heading():
    """A heading line never starts or ends a sentence that goes on with body text."""
    for name in sorted({name for name, _, _ in TRUE_SECTIONS}):
        text = cleaned(name)
        headings = {heading for n, _, heading in TRUE_SECTIONS if n == name}
        for start, end in sentence_spans(text):
            sentence = " ".join(text[start:end].split())
            for heading in headings:
                assert not sentence.startswith(heading + " "), sentence[:120]
                assert not sentence.endswith(" " + heading), sentence[:120]


@pytest.mark.parametrize(
    "line",
    [
        "56 Helsedirektoratet (2024), Helsepersonellundersøkelsen om e-helse 2023",  # footnote
        "Figur 3.16a Hvor enig eller uenig er du",  # a caption
        "2019 2020 2021 2022",  # a table row
        "Dette er en hel setning som slutter med punktum.",
        "«Hovedfunn",  # the start of a quotation
    ],
)
def test_not_headings(line):
    prose = "Her følger en lang setning med løpende tekst som forklarer hva avsnittet handler om."
    assert not is_heading(line, True, prose)


@pytest.mark.parametrize(
    "line", ["5.3 Program for økt brukervennlighet", "2 Metode", "Forord", "Dyr i tid og penger"]
)
def test_headings(line):
    prose = "Her følger en lang setning med løpende tekst som forklarer hva avsnittet handler om."
    assert is_heading(line, True, prose)


def test_chart_legends_are_not_headings():
    """Legends repeat, and no running text follows them: the section heading stands."""
    prose = "Her følger en lang setning med løpende tekst som forklarer hva avsnittet handler om."
    legend = "Helse Midt-Norge\nHelseforetak i øvrige regioner\n11\n14\n"
    text = f"3.5 Erfaringer med journalsystemer\n\n{prose}\n\n{legend}\n{legend}\n{prose}"
    assert section_heading(text, text.rindex("Her følger")) == "3.5 Erfaringer med journalsystemer"


def test_no_true_heading_gives_none():
    text = "Første avsnitt er bare tekst uten overskrift, og det går over flere ord."
    assert section_heading(text, len(text) - 5) is None


def test_a_list_of_names_is_no_heading():
    prose = "Her følger en lang setning med løpende tekst som forklarer hva avsnittet handler om."
    line = "St. Olavs hospital, Røros, Os, Holtålen, Indre Fosen, Ørland, Åfjord"
    assert not is_heading(line, True, prose)
