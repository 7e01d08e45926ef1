"""Month names and headers of localized exports read as English."""

from __future__ import annotations

import polars as pl
import pytest

from pipelines.adapters.jira_locales import english_header, english_headers
from pipelines.adapters.locale_dates import english_months


@pytest.mark.parametrize(
    ("text", "locale", "english"),
    [
        ("12/ene/26 3:05 p. m.", None, "12/Jan/26 3:05 PM"),
        ("3/dic/25 9:00 a. m.", "es", "3/Dec/25 9:00 AM"),
        ("5. März 2026", "de", "5. Mar 2026"),
        ("01/févr./26 10:00", "fr", "01/Feb/26 10:00"),
        ("21/out/25 14:00", "pt", "21/Oct/25 14:00"),
        ("septiembre 3, 2025", None, "Sep 3, 2025"),
        ("12/Mar/24 3:05 PM", None, "12/Mar/24 3:05 PM"),
    ],
)
def test_month_words_become_english_abbreviations(text: str, locale: str | None, english: str):
    """It rewrites the month words of es/de/fr/pt (all of them without a locale) as English."""
    frame = pl.DataFrame({"d": [text]})
    assert frame.select(english_months(pl.col("d"), locale)).item() == english


def test_jira_headers_in_four_languages_become_english() -> None:
    """It reads Jira's translated headers, numbered repeats and custom fields as English."""
    assert english_header("clave de incidencia") == "issue key"
    assert english_header("etiquetas__2") == "labels__2"
    assert english_header("campo personalizado (request type)") == "custom field (request type)"
    assert [english_header(h) for h in ("schlüssel", "création", "criado", "erledigt")] == [
        "issue key",
        "created",
        "created",
        "resolved",
    ]
    assert english_headers(["status", "estado", "creada"]) == {"creada": "created"}
