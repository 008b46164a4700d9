"""clean_text: one test per rule on hand-made strings, then the real corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from kilde.ingest.clean import clean_text, normalise_chars

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def pdf_lines(*lines: str) -> str:
    """Text as the corpus has it: every line ends in " \\n\\n"."""
    return "".join(line + " \n\n" for line in lines)


def text_lines(text: str) -> list[str]:
    """The non-blank lines of ``text``: which lines were kept apart, whatever the spacing."""
    return [line for line in text.split("\n") if line]


# --- characters ----------------------------------------------------------------------------


def test_line_endings_are_normalised():
    assert clean_text("Første linje.\r\nAndre linje.\rTredje linje.") == (
        "Første linje.\nAndre linje.\nTredje linje."
    )


def test_nfc():
    decomposed = "pa\u030aa\u0301"  # "på" with a combining ring, "á" with a combining acute
    assert clean_text(decomposed) == "på\u00e1"


@pytest.mark.parametrize("space", ["\u00a0", "\u202f", "\u2009"])
def test_odd_spaces_become_plain_spaces(space):
    assert clean_text(f"39{space}200 ansatte") == "39 200 ansatte"


def test_soft_hyphens_and_invisible_characters_are_dropped():
    assert clean_text("sam\u00adhand\u200bling") == "samhandling"


def test_non_breaking_hyphen_becomes_a_hyphen():
    assert clean_text("Midt\u2011Norge") == "Midt-Norge"


def test_trailing_and_repeated_spaces_go():
    assert clean_text("Et   ord.   \nTo  ord.\t \n") == "Et ord.\nTo ord."


def test_private_use_bullet_becomes_a_bullet():
    assert clean_text("\uf097 Helse Vest\n\uf097 Helse Nord") == "• Helse Vest\n• Helse Nord"


# --- hyphens at line ends ------------------------------------------------------------------


def test_syllable_hyphen_is_joined():
    assert clean_text("god sam-\nhandling mellom dem") == "god samhandling mellom dem"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("de høyeste IT-\nkostnadene", "de høyeste IT-kostnadene"),
        ("i Helse Midt-\nNorge har", "i Helse Midt-Norge har"),
        ("senter for e-\nhelse og", "senter for e-helse og"),
        ("I 2023-\nundersøkelsen økte", "I 2023-undersøkelsen økte"),
        ("videokonsultasjonen/-\noppfølgingen har", "videokonsultasjonen/-oppfølgingen har"),
    ],
)
def test_real_hyphens_stay(raw, expected):
    assert clean_text(raw) == expected


@pytest.mark.parametrize("word", ["og", "eller"])
def test_suspended_compound_keeps_hyphen_and_space(word):
    raw = pdf_lines("digitalisering i helse-", f"{word} omsorgstjenesten")
    assert clean_text(raw) == f"digitalisering i helse- {word} omsorgstjenesten"


def test_hyphen_inside_a_link_stays():
    raw = pdf_lines("Se https://www.helsedirektoratet.no/om-oss/internasjonalt-", "samarbeid/ehds")
    assert (
        clean_text(raw)
        == "Se https://www.helsedirektoratet.no/om-oss/internasjonalt-samarbeid/ehds"
    )


def test_range_split_after_en_dash_is_joined_without_space():
    assert clean_text("ferdig rundt 2032–\n2033, og") == "ferdig rundt 2032–2033, og"


# --- reflow --------------------------------------------------------------------------------


def test_running_sentence_is_joined_across_blank_lines():
    raw = pdf_lines(
        "Helseplattformen er en felles pasientjournal og samhandlingsplattform for sykehus,",
        "kommuner og fastleger i Midt-Norge. Målet er en mer sammenhengende helsetjeneste",
        "for pasienter og ansatte i hele regionen.",
    )
    assert clean_text(raw) == (
        "Helseplattformen er en felles pasientjournal og samhandlingsplattform for sykehus, "
        "kommuner og fastleger i Midt-Norge. Målet er en mer sammenhengende helsetjeneste "
        "for pasienter og ansatte i hele regionen."
    )


def test_running_sentence_is_joined_across_single_newlines():
    assert clean_text("Dette er en setning\nsom fortsetter her.") == (
        "Dette er en setning som fortsetter her."
    )


def test_break_after_sentence_end_stays():
    raw = "Første avsnitt slutter her.\nAndre setning starter med stor bokstav."
    assert clean_text(raw) == raw


def test_lowercase_after_full_stop_is_not_joined():
    assert clean_text("Slutt.\nfortsettelse") == "Slutt.\nfortsettelse"


def test_paragraphs_stay_separated_by_one_blank_line():
    raw = "Første avsnitt går\nover to linjer.\n\n\n\nAndre avsnitt."
    assert clean_text(raw) == "Første avsnitt går over to linjer.\n\nAndre avsnitt."


def test_double_spaced_text_gets_paragraphs_after_sentence_ends():
    raw = pdf_lines(
        "Første avsnitt er en lang setning som layouten har brutt over",
        "to linjer.",
        "Andre avsnitt har også en setning.",
        "Tredje avsnitt.",
    )
    assert clean_text(raw) == (
        "Første avsnitt er en lang setning som layouten har brutt over to linjer.\n\n"
        "Andre avsnitt har også en setning.\n\nTredje avsnitt."
    )


def test_parenthesis_continues_the_sentence():
    raw = pdf_lines("deltakelsen er relativt lav over tid", "(tabell V2.1).")
    assert clean_text(raw) == "deltakelsen er relativt lav over tid (tabell V2.1)."


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["Dette er en reduksjon på", "2 prosentpoeng fra 2023."], "på 2 prosentpoeng"),
        (["en økning på 4 prosentpoeng fra 2023 (59", "%). 38 % opplever"], "(59 %). 38 %"),
        (
            [
                "journalsystemet for sykehusene, Doculive, ble avsluttet i oktober",
                "2025. Midt-Norge var på dette tidspunktet den eneste brukeren.",
            ],
            "oktober 2025. Midt-Norge",
        ),
    ],
)
def test_number_continues_the_sentence(lines, expected):
    assert expected in clean_text(pdf_lines(*lines))


def test_footnote_after_an_unfinished_line_is_not_joined():
    raw = pdf_lines(
        "99 % av respondentene jobbet ved St. Olavs hospital HF i",
        "52 Meld. St. 9 (2023–2024) Nasjonal helse- og samhandlingsplan.",
    )
    assert text_lines(clean_text(raw)) == [
        "99 % av respondentene jobbet ved St. Olavs hospital HF i",
        "52 Meld. St. 9 (2023–2024) Nasjonal helse- og samhandlingsplan.",
    ]


def test_capital_after_a_word_that_cannot_end_a_sentence_is_joined():
    raw = pdf_lines("utfordringer knyttet til innføringen ved", "St. Olavs hospital HF.")
    assert clean_text(raw) == "utfordringer knyttet til innføringen ved St. Olavs hospital HF."


def test_date_split_after_the_day_is_joined():
    raw = pdf_lines("da styret i Helse Midt-Norge RHF 25.", "september 2025 behandlet sak 132.")
    assert "RHF 25. september 2025 behandlet" in clean_text(raw)


def test_short_heading_is_not_joined_to_the_next_paragraph():
    raw = pdf_lines("1.2. IT-løsningen Helseplattformen", "Helseplattformen er bygget på Epic.")
    assert text_lines(clean_text(raw)) == [
        "1.2. IT-løsningen Helseplattformen",
        "Helseplattformen er bygget på Epic.",
    ]


def test_title_before_a_paragraph_gap_is_not_joined():
    raw = "Notat vedr. representantforslag om å avvikle Helseplattformen \n \n\nDet vises til."
    assert clean_text(raw) == (
        "Notat vedr. representantforslag om å avvikle Helseplattformen\n\nDet vises til."
    )


# --- lines of their own --------------------------------------------------------------------


@pytest.mark.parametrize("bullet", ["•", "-", "–", "*", "o"])
def test_bullets_stay_lines_of_their_own(bullet):
    raw = f"Kort oppsummert\n{bullet} første punkt\n{bullet} andre punkt"
    assert clean_text(raw).split("\n") == [
        "Kort oppsummert",
        f"{bullet} første punkt",
        f"{bullet} andre punkt",
    ]


def test_bullet_item_wrapped_over_lines_is_joined():
    raw = "• Driftskostnadene til IKT synker som andel av\nde samlede driftskostnadene.\n• Neste"
    assert clean_text(raw) == (
        "• Driftskostnadene til IKT synker som andel av de samlede driftskostnadene.\n• Neste"
    )


def test_numbered_answers_stay_lines_of_their_own():
    assert clean_text("Svar\n(1) Enig\n(2) Uenig") == "Svar\n(1) Enig\n(2) Uenig"


def test_table_rows_stay_lines_of_their_own():
    raw = pdf_lines(
        "Totalt helsepersonell i undersøkelsen",
        "3831 100 4997 100 4505 100",
        "Møre og Romsdal 84 2 121 2 53 1",
        "Trøndelag 892 23 533 11 654 15",
    )
    assert text_lines(clean_text(raw)) == [
        "Totalt helsepersonell i undersøkelsen",
        "3831 100 4997 100 4505 100",
        "Møre og Romsdal 84 2 121 2 53 1",
        "Trøndelag 892 23 533 11 654 15",
    ]


def test_page_number_alone_is_not_joined():
    raw = pdf_lines("Fysisk konsultasjon Telefonkontakt Video Annet", "25")
    assert text_lines(clean_text(raw)) == ["Fysisk konsultasjon Telefonkontakt Video Annet", "25"]


def test_slide_fragment_stays_alone():
    assert clean_text("Sykehjem\n?\nHelsestasjon") == "Sykehjem\n?\nHelsestasjon"


# --- links ---------------------------------------------------------------------------------


def test_link_only_lines_are_dropped():
    raw = (
        "Oslo, mars 2025 \n\n"
        "https://www.regjeringen.no/no/dokumenter/nou-2023-4/id2961552/\n"
        "52 https://www.helsedirektoratet.no/statistikk/nasjonal-digitaliseringsmonitor\n"
        " www.helseplattformen.no/Fakta/\n"
        "Sammendrag"
    )
    assert clean_text(raw) == "Oslo, mars 2025\n\nSammendrag"


def test_link_inside_a_sentence_stays():
    raw = "Styresakene finnes på https://styreportal.helse-midt.no/1001 for alle."
    assert clean_text(raw) == raw


# --- whitespace ----------------------------------------------------------------------------


def test_three_or_more_newlines_collapse_to_two():
    assert clean_text("En.\n\n\n\n\nTo.") == "En.\n\nTo."


def test_form_feed_is_a_paragraph_break():
    assert clean_text("En side.\fNeste side.") == "En side.\n\nNeste side."


def test_empty_and_blank_text_give_empty_string():
    assert clean_text("") == ""
    assert clean_text(" \n\n \u00a0 \n") == ""


def test_normalise_chars_keeps_line_breaks():
    assert normalise_chars("a\u00a0 b\r\nc") == "a b\nc"


# --- the real corpus -----------------------------------------------------------------------


def corpus_text(name: str) -> str:
    path = next(CORPUS.glob(f"{name}_*.txt"), None)
    if path is None:
        pytest.skip(f"corpus file {name}_*.txt is not in {CORPUS}")
    return clean_text(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["000", "001", "002", "003", "004"])
def test_corpus_output_is_tidy(name):
    text = corpus_text(name)
    lines = text.split("\n")
    assert "\n\n\n" not in text
    assert all(line == line.strip() for line in lines)
    assert not any(line.startswith(("http://", "https://")) for line in lines)
    assert "\u00a0" not in text and "\u202f" not in text and "  " not in text
    # The double spacing is gone: far fewer lines than the source has.
    source = next(CORPUS.glob(f"{name}_*.txt")).read_text(encoding="utf-8")
    assert len(lines) < 0.75 * source.count("\n")


def test_corpus_sentence_across_lines_is_whole():
    text = corpus_text("003")
    sentence = (
        "Resultatene kan ses i lys av at innføringen av Helseplattformen, som medfører et "
        "krevende endringsarbeid og stor omstilling for mange, har fått virke over noe tid "
        "for flere helseforetak og kommuner i regionen."
    )
    assert any(sentence in line for line in text.split("\n"))  # one line, not several


def test_corpus_numbers_and_compounds_survive():
    text = corpus_text("001")
    assert "39 200 ansatte i helsetjenesten" in text  # narrow no-break space made plain
    assert "de høyeste IT-kostnadene per innbygger" in text
    assert (
        "Driftskostnadene til IKT synker som andel av de samlede driftskostnadene i "
        "Midt-Norge synker" in text
    )


def test_corpus_slide_bullets_stay_lines():
    lines = corpus_text("002").split("\n")
    assert "• Visjonen: Én innbygger – én journal" in lines
    assert "• Et stort samhandlingsprosjekt" in lines
    assert "o 218 barn er født (siden 12.nov)" in lines
