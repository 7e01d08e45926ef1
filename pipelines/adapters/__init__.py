"""Every known vendor export format, by its `sources.<source>.format` name, and the check of
the `sources.<source>` settings against the options the formats declare."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from difflib import get_close_matches
from types import ModuleType

from pydantic import ValidationError

from models.operating_model import OperatingModel, SourceSettings
from pipelines.adapters import custom_mapping
from pipelines.adapters.base import Adapter, option_problems
from pipelines.adapters.jira_locales import english_header


def _format_modules() -> list[ModuleType]:
    """Every module of this package that declares export formats (its `ADAPTERS`): a new
    vendor format is one new module here, found without being listed anywhere."""
    names = sorted(
        info.name
        for info in pkgutil.iter_modules(__path__)
        if info.name != "base" and not info.name.endswith("_common")
    )
    modules = [importlib.import_module(f"{__name__}.{name}") for name in names]
    return [m for m in modules if hasattr(m, "ADAPTERS")]


_MODULES = _format_modules()

ADAPTERS: dict[str, Adapter] = {a.name: a for m in _MODULES for a in m.ADAPTERS}


def adapters_for(source: str) -> list[Adapter]:
    """The adapters that read files of one inbox folder."""
    return [a for a in ADAPTERS.values() if a.source == source]


def closest_format(source: str, columns: Iterable[str]) -> str | None:
    """For a file no format of `source` matched: the format whose detection columns it shares
    most (at least half of them), and the columns it lacks (`jira_csv (missing: issue id)`);
    None when no format comes that close."""
    # Translated headers count as their English names (a Jira export in Spanish).
    have = set(columns) | {english_header(c) for c in columns}
    scored = []
    for adapter in adapters_for(source):
        wanted = getattr(adapter.detect, "columns", None)
        # At least half of a format's columns: a canonical file sharing `status` is no Freshdesk.
        if wanted and len(wanted & have) * 2 >= len(wanted):
            missing = sorted(wanted - have)
            scored.append((len(missing), -len(wanted & have), adapter.name, missing))
    if not scored:
        return None
    _, _, name, missing = min(scored)
    return f"{name} (missing: {', '.join(missing)})"


# Formats that name no adapter: detection from the file, and the canonical columns as they are.
DETECTED = "auto"
CANONICAL = "canonical"


def neutral_sources() -> dict[str, SourceSettings]:
    """The `sources` settings of a check without a pilot: no vendor account's options, only the
    typical keyword `activity_map` for timesheets."""
    from pipelines.adapters.timesheets_common import TYPICAL_ACTIVITY_MAP

    return {"timesheets": SourceSettings.model_validate({"activity_map": TYPICAL_ACTIVITY_MAP})}


def check_source_options(operating_model: OperatingModel) -> list[str]:
    """Every problem of the operating model's `sources` settings, each under its key path."""
    problems: list[str] = []
    for source, settings in operating_model.sources.items():
        problems += source_problems(source, settings)
    return problems


def source_problems(source: str, settings: SourceSettings) -> list[str]:
    """The problems of one `sources.<source>` section (see `section_problems`), and of each of
    its `formats.<format>` and `files` entries, under their own key paths."""
    where = f"sources.{source}"
    problems = section_problems(source, settings, where)
    names = [DETECTED, CANONICAL, custom_mapping.NAME, *(a.name for a in adapters_for(source))]
    base = {k: v for k, v in settings.model_dump().items() if k not in ("formats", "files")}
    for name, options in settings.formats.items():
        here = f"{where}.formats.{name}"
        if name not in names or name == DETECTED:
            problems.append(
                f"{here}: unknown format for {source} files" + _did_you_mean(name, names[1:])
            )
            continue
        problems += _entry_problems(source, {**(options or {}), "format": name}, here)
    for index, entry in enumerate(settings.files):
        here = f"{where}.files[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("match"), str):
            problems.append(f'{here}: needs match: "<glob>" (a file name pattern)')
            continue
        rest = {k: v for k, v in entry.items() if k != "match"}
        fmt = rest.get("format", base.get("format", DETECTED))
        options = {**(settings.formats.get(str(fmt)) or {}), **rest, "format": fmt}
        problems += _entry_problems(source, options, here)
    return problems


def _entry_problems(source: str, options: dict, where: str) -> list[str]:
    nested = [k for k in ("formats", "files") if k in options]
    if nested:
        return [f"{where}.{k}: not allowed here" for k in nested]
    try:
        entry = SourceSettings.model_validate(options)
    except ValidationError as exc:
        return [f"{where}.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    return section_problems(source, entry, where)


def section_problems(source: str, settings: SourceSettings, where: str) -> list[str]:
    """The problems of one section of options: a format no adapter of the source has, a
    key that neither the folder-wide settings nor an adapter reading the source declares (with
    the nearest known key), a key only adapters other than the configured `format` declare, and
    a value an adapter's options model refuses."""
    candidates = {a.name: a for a in [*adapters_for(source), custom_mapping.CUSTOM]}
    problems: list[str] = []
    if settings.format == DETECTED:
        readers = adapters_for(source)
    elif settings.format == CANONICAL:
        readers = []
    elif settings.format in candidates:
        readers = [candidates[settings.format]]
    else:
        formats = [DETECTED, CANONICAL, *candidates]
        problems.append(
            f"{where}.format: unknown format {settings.format!r} for {source} files"
            + _did_you_mean(settings.format, formats)
        )
        readers = adapters_for(source)
    known = list(dict.fromkeys([*SourceSettings.model_fields, *_option_names(readers)]))
    given = settings.model_extra or {}
    for key in given:
        if key in known:
            continue
        owners = [a.name for a in candidates.values() if key in a.options.model_fields]
        if owners:
            problems.append(
                f"{where}.{key}: an option of {', '.join(owners)}, not of {settings.format}"
            )
        else:
            problems.append(f"{where}.{key}: unknown option" + _did_you_mean(key, known))
    for adapter in readers:
        values = {k: v for k, v in given.items() if k in adapter.options.model_fields}
        try:
            adapter.options.model_validate(values)
        except ValidationError as exc:
            found = option_problems(exc, source, where)
            problems += [p for p in found if p not in problems]
    return problems


def _option_names(adapters: list[Adapter]) -> list[str]:
    return [name for a in adapters for name in a.options.model_fields]


def _did_you_mean(word: str, known: list[str]) -> str:
    nearest = get_close_matches(word, known, n=1)
    return f"; did you mean {nearest[0]}?" if nearest else ""
