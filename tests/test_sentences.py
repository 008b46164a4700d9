"""Norwegian sentence spans: abbreviations, dates, bullets and table rows."""

from kilde.text import sentence_spans


def _sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


def test_abbreviations_and_dates_do_not_end_sentences():
    text = (
        "St. Olavs hospital tok i bruk løsningen 12. november 2022, jf. kap. 3 og bl.a. "
        "vedlegg 2. Kostnaden var ca. 3,7 mrd. kroner i alt. Neste setning starter her."
    )
    assert _sentences(text) == [
        "St. Olavs hospital tok i bruk løsningen 12. november 2022, jf. kap. 3 og bl.a. vedlegg 2.",
        "Kostnaden var ca. 3,7 mrd. kroner i alt.",
        "Neste setning starter her.",
    ]


def test_public_sector_references_do_not_end_sentences():
    text = (
        "Dette følger av Meld. St. 9 (2023–2024) Nasjonal helse- og samhandlingsplan. "
        "Rammen ble nedjustert ved behandlingen av Prop. 117 S (2019–2020) og Innst. 360 S."
    )
    assert _sentences(text) == [
        "Dette følger av Meld. St. 9 (2023–2024) Nasjonal helse- og samhandlingsplan.",
        "Rammen ble nedjustert ved behandlingen av Prop. 117 S (2019–2020) og Innst. 360 S.",
    ]


def test_abbreviated_month_after_an_ordinal_at_line_start():
    text = "Ansatte er positive.\n12. Nov. 2022: St. Olavs hospital og seks kommuner startet"
    assert _sentences(text)[-1] == "12. Nov. 2022: St. Olavs hospital og seks kommuner startet"


def test_bullets_and_table_rows_are_sentences_of_their_own():
    text = "Oversikt over tallene\n• Første punkt i lista\n• Andre punkt\nAndel 45 % 50 %\n"
    assert _sentences(text) == [
        "Oversikt over tallene",
        "• Første punkt i lista",
        "• Andre punkt",
        "Andel 45 % 50 %",
    ]


def test_offsets_map_back_to_the_text():
    text = "  Første setning er her.   Andre setning følger etter.  "
    spans = sentence_spans(text)
    assert [text[a:b] for a, b in spans] == [
        "Første setning er her.",
        "Andre setning følger etter.",
    ]
    assert spans[0] == (2, 2 + len("Første setning er her."))


def test_a_footnote_number_ends_the_sentence_and_stays_out_of_it():
    text = (
        "Helseplattformen er en felles journal for sykehus og kommuner i Midt-Norge.52 Målet er "
        "en mer sammenhengende helsetjeneste. Kostnaden var 3,5 mrd. kroner i 2024.53 Neste."
    )
    assert _sentences(text) == [
        "Helseplattformen er en felles journal for sykehus og kommuner i Midt-Norge.",
        "Målet er en mer sammenhengende helsetjeneste.",
        "Kostnaden var 3,5 mrd. kroner i 2024.",
    ]


def test_decimal_numbers_are_not_footnotes():
    text = "Andelen steg fra 2.5 til 3.5 prosent i perioden. Neste setning kommer her."
    assert _sentences(text)[0] == "Andelen steg fra 2.5 til 3.5 prosent i perioden."


def test_a_heading_is_no_sentence():
    text = (
        "6) Kostnader og risiko ved en eventuell avvikling av Helseplattformen\n"
        "Sopria Steria har på oppdrag fra Helse Midt-Norge RHF gjennomført en vurdering av "
        "kostnader og risiko.\n\n7) Exit-strategi for Helseplattformen\n\n"
        "Partene skal samarbeide i rimelig utstrekning ved uttreden fra samarbeidet."
    )
    assert _sentences(text) == [
        "Sopria Steria har på oppdrag fra Helse Midt-Norge RHF gjennomført en vurdering av "
        "kostnader og risiko.",
        "Partene skal samarbeide i rimelig utstrekning ved uttreden fra samarbeidet.",
    ]
