"""Every known vendor export format, by its `sources.<source>.format` name, and the check of
the `sources.<source>` settings against the options the formats declare."""

from __future__ import annotations

import importlib
import pkgutil
from difflib import get_close_matches
from types import ModuleType

from pydantic import ValidationError

from models.operating_model import OperatingModel, SourceSettings
from pipelines.adapters import custom_mapping
from pipelines.adapters.base import Adapter, option_problems


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


# Formats that name no adapter: detection from the file, and the canonical columns as they are.
DETECTED = "auto"
CANONICAL = "canonical"


def check_source_options(operating_model: OperatingModel) -> list[str]:
    """Every problem of the operating model's `sources` settings, each under its key path."""
    problems: list[str] = []
    for source, settings in operating_model.sources.items():
        problems += source_problems(source, settings)
    return problems


def source_problems(source: str, settings: SourceSettings) -> list[str]:
    """The problems of one `sources.<source>` section: a format no adapter of the source has, a
    key that neither the folder-wide settings nor an adapter reading the source declares (with
    the nearest known key), a key only adapters other than the configured `format` declare, and
    a value an adapter's options model refuses."""
    where = f"sources.{source}"
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
            problems += [p for p in option_problems(exc, source) if p not in problems]
    return problems


def _option_names(adapters: list[Adapter]) -> list[str]:
    return [name for a in adapters for name in a.options.model_fields]


def _did_you_mean(word: str, known: list[str]) -> str:
    nearest = get_close_matches(word, known, n=1)
    return f"; did you mean {nearest[0]}?" if nearest else ""
