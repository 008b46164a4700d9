"""Normalisation and quote matching of the eval harness."""

from kilde.eval.evidence import (
    chunk_holds,
    normalize,
    overlaps,
    quote_on_page,
    word_ngrams,
    words,
)

# 11 words, so 8 word 4-grams.
QUOTE = "Regjeringen vil styrke samhandlingen mellom kommunene og sykehusene i hele landet."


# --- normalize -----------------------------------------------------------------------------


def test_normalize_turns_odd_spaces_into_one_space():
    assert normalize("39\u00a0200") == "39 200"
    assert normalize("39\u202f200") == "39 200"
    assert normalize("39\u2009200") == "39 200"
    assert normalize("39\u00a0200") == normalize("39 200")


def test_normalize_collapses_whitespace_strips_and_casefolds():
    assert normalize("  Helse \t og\n\nOMSORG  ") == "helse og omsorg"


def test_normalize_composes_unicode():
    # "e" + combining acute accent becomes the single code point "é".
    assert normalize("ide\u0301") == "id\u00e9"


def test_normalize_drops_soft_hyphens_also_at_a_line_end():
    assert normalize("sam\u00adhandling") == "samhandling"
    assert normalize("sam\u00ad\nhandling") == "samhandling"


def test_normalize_joins_a_word_hyphenated_at_a_line_end():
    assert normalize("god sam-\nhandling") == "god samhandling"
    assert normalize("god sam- \n  handling") == "god samhandling"


def test_normalize_keeps_real_hyphens():
    assert normalize("IT-kostnadene") == "it-kostnadene"
    # A hyphen after a capital is part of the word even when the line breaks after it.
    assert normalize("IT-\nkostnadene") == "it-kostnadene"
    assert normalize("2020-\n2024") == "2020-2024"
    # A suspended compound keeps its hyphen and the space before "og".
    assert normalize("helse-\nog omsorgstjenester") == "helse- og omsorgstjenester"


# --- words and n-grams ---------------------------------------------------------------------


def test_words_strip_punctuation_at_word_edges_only():
    assert words("«Dette», sa hun: IT-kostnadene er 1,5 mrd. – i år!") == [
        "dette",
        "sa",
        "hun",
        "it-kostnadene",
        "er",
        "1,5",
        "mrd",
        "i",
        "år",
    ]


def test_word_ngrams():
    assert word_ngrams("«Dette er», en test.", n=2) == {
        ("dette", "er"),
        ("er", "en"),
        ("en", "test"),
    }
    assert len(word_ngrams(QUOTE)) == 8
    assert word_ngrams("for få ord", n=4) == set()


# --- chunk_holds ---------------------------------------------------------------------------


def test_chunk_holds_a_contained_quote_after_normalisation():
    chunk = "Innledning. REGJERINGEN vil styrke sam-\nhandlingen mellom\u00a0kommunene og\n"
    chunk += "sykehusene i hele landet. Videre ..."
    assert chunk_holds(chunk, QUOTE)


def test_chunk_holds_a_quote_cut_by_a_chunk_boundary_by_its_4_grams():
    # The first 8 of 11 words: 5 of the quote's 8 4-grams, more than half.
    chunk = "Tekst før. Regjeringen vil styrke samhandlingen mellom kommunene og sykehusene"
    assert chunk_holds(chunk, QUOTE)


def test_chunk_with_a_minority_of_the_4_grams_does_not_hold_the_quote():
    # The last 6 words: 3 of 8 4-grams.
    assert not chunk_holds("kommunene og sykehusene i hele landet. Neste avsnitt.", QUOTE)
    # The first 7 words: 4 of 8 4-grams is exactly half, which is not more than half.
    assert not chunk_holds("Regjeringen vil styrke samhandlingen mellom kommunene og", QUOTE)
    # A lower threshold lets 3 of 8 (0.375) through.
    assert chunk_holds("kommunene og sykehusene i hele landet.", QUOTE, threshold=0.3)


def test_short_quotes_need_containment():
    assert chunk_holds("Tilskuddet er 39\u00a0200 kroner per år.", "39 200 kroner")
    assert not chunk_holds("Tilskuddet er 39 200 per år.", "39 200 kroner")
    assert not chunk_holds("Hva som helst", "")


# --- quote_on_page -------------------------------------------------------------------------


def test_quote_on_page():
    page = "Side 4\nTilskuddet er 39\u00a0200 kroner, jf. sam-\nhandlingsreformen."
    assert quote_on_page("tilskuddet er 39 200 kroner, jf. samhandlingsreformen", page)
    assert not quote_on_page("tilskuddet er 39 300 kroner", page)
    assert not quote_on_page("   ", page)


# --- overlaps ------------------------------------------------------------------------------


def test_overlaps_by_containment_either_way():
    assert overlaps("styrke samhandlingen", QUOTE)
    assert overlaps(QUOTE, "STYRKE   samhandlingen")
    assert not overlaps("", QUOTE)


def test_overlaps_by_shared_3_grams_of_the_shorter_quote():
    a = "kommunene skal styrke samhandlingen lokalt"  # 3-grams: 3
    # Shares "kommunene skal styrke" and "skal styrke samhandlingen": 2 of 3.
    b = "fylkene og kommunene skal styrke samhandlingen nasjonalt i år"
    assert overlaps(a, b)
    assert overlaps(b, a)
    # Shares only "styrke samhandlingen lokalt": 1 of 3.
    c = "staten vil styrke samhandlingen lokalt"
    assert not overlaps(a, c)


def test_short_quotes_overlap_only_by_containment():
    assert not overlaps("helse omsorg", "omsorg helse")
    assert overlaps("helse og", "helse og omsorg")
