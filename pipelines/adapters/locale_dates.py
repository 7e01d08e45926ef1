"""Month names of Spanish, German, French and Portuguese exports, read as English.

polars reads `%b`/`%B` in English only, so a Jira export from a Spanish account
(`12/ene/26 3:05 p. m.`) is first rewritten to `12/Jan/26 3:05 PM`. The words of the four
languages never name different months, so without a `locale` every language is tried.
"""

from __future__ import annotations

import re

import polars as pl

_ENGLISH = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Per language, each month's words (abbreviations and full names), lower case, January first.
MONTHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "es": (
        ("ene", "enero"), ("feb", "febrero"), ("mar", "marzo"), ("abr", "abril"),
        ("may", "mayo"), ("jun", "junio"), ("jul", "julio"), ("ago", "agosto"),
        ("sep", "sept", "septiembre", "setiembre"), ("oct", "octubre"), ("nov", "noviembre"),
        ("dic", "diciembre"),
    ),
    "de": (
        ("jan", "januar", "jän", "jänner"), ("feb", "februar"), ("mär", "mrz", "märz"),
        ("apr", "april"), ("mai",), ("jun", "juni"), ("jul", "juli"), ("aug", "august"),
        ("sep", "sept", "september"), ("okt", "oktober"), ("nov", "november"),
        ("dez", "dezember"),
    ),
    "fr": (
        ("janv", "janvier"), ("févr", "fevr", "février"), ("mars",), ("avr", "avril"),
        ("mai",), ("juin",), ("juil", "juillet"), ("août", "aout"), ("sept", "septembre"),
        ("oct", "octobre"), ("nov", "novembre"), ("déc", "dec", "décembre"),
    ),
    "pt": (
        ("jan", "janeiro"), ("fev", "fevereiro"), ("mar", "março"), ("abr", "abril"),
        ("mai", "maio"), ("jun", "junho"), ("jul", "julho"), ("ago", "agosto"),
        ("set", "setembro"), ("out", "outubro"), ("nov", "novembro"), ("dez", "dezembro"),
    ),
}  # fmt: skip
LOCALES = tuple(MONTHS)
# Spanish and Portuguese write the half of the day as `a. m.` / `p. m.`.
_MERIDIEM = ((r"(?i)\ba\.?\s?m\.?(\s|$)", "AM$1"), (r"(?i)\bp\.?\s?m\.?(\s|$)", "PM$1"))


def _words(locale: str | None) -> dict[str, str]:
    languages = [locale] if locale else list(LOCALES)
    found: dict[str, str] = {}
    for language in languages:
        for english, words in zip(_ENGLISH, MONTHS[language], strict=True):
            for word in words:
                found.setdefault(word, english)
    return found


def english_months(value: pl.Expr, locale: str | None = None) -> pl.Expr:
    """Date text with the month words of `locale` (None: every known language) written as
    English abbreviations, and `a. m.`/`p. m.` as AM/PM; other text unchanged."""
    out = value
    # Longest first, so `septiembre` is replaced whole and not as `sep` + `tiembre`.
    for word, english in sorted(_words(locale).items(), key=lambda item: -len(item[0])):
        if word != english.lower():
            whole_word = rf"(?i)(^|[^\p{{L}}]){re.escape(word)}\.?([^\p{{L}}]|$)"
            out = out.str.replace_all(whole_word, f"${{1}}{english}${{2}}")
    for regex, replacement in _MERIDIEM:
        out = out.str.replace_all(regex, replacement)
    return out
