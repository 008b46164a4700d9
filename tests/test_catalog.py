"""load_catalog and doc_info, on catalog files written in tmp_path and the real corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from kilde.errors import ConfigError
from kilde.ingest.catalog import CatalogEntry, doc_info, load_catalog
from kilde.ingest.readers import SourceText, iter_sources
from kilde.types import Page

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def write_catalog(folder: Path, text: str) -> Path:
    path = folder / "catalog.toml"
    path.write_text(text, encoding="utf-8")
    return path


def source(title_hint: str | None = None, pages: int = 2, paged: bool = True) -> SourceText:
    return SourceText(
        file="x",
        pages=tuple(Page("x", i + 1, str(i + 1), "tekst") for i in range(pages)),
        paged=paged,
        title_hint=title_hint,
        warnings=(),
    )


def test_missing_catalog_is_empty(tmp_path):
    assert load_catalog(tmp_path) == {}


def test_entries_are_read(tmp_path):
    write_catalog(
        tmp_path,
        """
[files."000_a.txt"]
title = "Vedlegg 2. Datagrunnlag fra helsetjenesten i Midt-Norge"
publisher = "Helsedirektoratet"
date = "2025"

[files."sub/b.pdf"]
title = "Notat"
date = "2026-03-20"

[files."c.md"]
title = "  Bare   tittel "
""",
    )
    assert load_catalog(tmp_path) == {
        "000_a.txt": CatalogEntry(
            "Vedlegg 2. Datagrunnlag fra helsetjenesten i Midt-Norge", "Helsedirektoratet", "2025"
        ),
        "sub/b.pdf": CatalogEntry("Notat", None, "2026-03-20"),
        "c.md": CatalogEntry("Bare tittel", None, None),
    }


def test_toml_dates_and_years_are_accepted(tmp_path):
    write_catalog(
        tmp_path,
        '[files."a.txt"]\ntitle = "A"\ndate = 2025-03-01\n'
        '[files."b.txt"]\ntitle = "B"\ndate = 2024\n'
        '[files."c.txt"]\ntitle = "C"\ndate = "2025-03"\n',
    )
    catalog = load_catalog(tmp_path)
    assert [catalog[name].date for name in ("a.txt", "b.txt", "c.txt")] == [
        "2025-03-01",
        "2024",
        "2025-03",
    ]


def config_error(tmp_path: Path, text: str) -> str:
    path = write_catalog(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_catalog(tmp_path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message  # one line naming the file
    return message


def test_bad_toml(tmp_path):
    assert "ikke gyldig TOML" in config_error(tmp_path, '[files."a.txt"\ntitle = "A"\n')


def test_unknown_key_in_entry(tmp_path):
    message = config_error(tmp_path, '[files."a.txt"]\ntitle = "A"\nauthor = "Meg"\n')
    assert '[files."a.txt"]' in message and '"author"' in message


def test_unknown_top_level_key(tmp_path):
    assert '"filer"' in config_error(tmp_path, '[filer."a.txt"]\ntitle = "A"\n')


@pytest.mark.parametrize(
    "date", ['"2025-13"', '"2025-02-30"', '"20.03.2026"', '"våren 2026"', "25"]
)
def test_bad_date(tmp_path, date):
    message = config_error(tmp_path, f'[files."a.txt"]\ntitle = "A"\ndate = {date}\n')
    assert '[files."a.txt"]' in message and '"date"' in message


def test_missing_title(tmp_path):
    message = config_error(tmp_path, '[files."a.txt"]\npublisher = "Helsedirektoratet"\n')
    assert '"title" mangler' in message


def test_title_must_be_text(tmp_path):
    assert '"title"' in config_error(tmp_path, '[files."a.txt"]\ntitle = 12\n')


def test_entry_must_be_a_table(tmp_path):
    config_error(tmp_path, '[files]\n"a.txt" = "Tittel"\n')


def test_doc_info_uses_the_catalog(tmp_path):
    catalog = {"a.pdf": CatalogEntry("Katalogtittel", "Helse Midt-Norge RHF", "2026")}
    info = doc_info("a.pdf", source("Tittel fra PDF", pages=3), catalog, "abc")
    assert (info.file, info.title, info.publisher, info.date) == (
        "a.pdf",
        "Katalogtittel",
        "Helse Midt-Norge RHF",
        "2026",
    )
    assert (info.pages, info.paged, info.sha256, info.year) == (3, True, "abc", 2026)


def test_doc_info_falls_back_to_the_title_hint():
    info = doc_info("a.pdf", source("Tittel fra PDF"), {}, "abc")
    assert (info.title, info.publisher, info.date) == ("Tittel fra PDF", None, None)


def test_doc_info_falls_back_to_the_file_name():
    info = doc_info("mappe/notat.txt", source(None, pages=1, paged=False), {}, "abc")
    assert info.title == "notat.txt" and info.paged is False


def test_real_catalog_covers_the_corpus():
    if not (CORPUS / "catalog.toml").is_file():
        pytest.skip("no corpus/catalog.toml")
    catalog = load_catalog(CORPUS)
    files = {p.relative_to(CORPUS).as_posix() for p in iter_sources(CORPUS)}
    assert files <= set(catalog)
    assert all(entry.publisher and entry.date for entry in catalog.values())
    assert catalog["003_470028747cd86873.txt"].date == "2025-03"
    assert catalog["001_0fd81fc229b4ecf7.txt"].publisher == "Helse Midt-Norge RHF"
