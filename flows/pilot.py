"""A pilot's operating model as runs and checks load it: the file, and the options of every
source checked against the export formats that read the source."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from models.operating_model import (
    SOURCES,
    OperatingModel,
    OperatingModelError,
    SourceSettings,
    YamlTooLarge,
    load_operating_model,
    read_yaml,
)
from pipelines.adapters import check_source_options, source_problems


def load_pilot(path: Path | str) -> OperatingModel:
    """The operating model of `path`; raise OperatingModelError listing every problem of the file
    and of its `sources.<source>` options (an unknown key, with the nearest known one)."""
    try:
        operating_model = load_operating_model(path)
    except OperatingModelError as exc:
        more = _option_problems_of_invalid_file(exc.path)
        if not more:
            raise
        raise OperatingModelError(exc.path, [*exc.problems, *more]) from exc
    problems = check_source_options(operating_model)
    if problems:
        raise OperatingModelError(Path(path), problems)
    return operating_model


def _option_problems_of_invalid_file(path: Path) -> list[str]:
    """The option problems of a file refused for other reasons, so one attempt lists them all:
    those of each source section that is itself readable."""
    try:
        raw = read_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, YamlTooLarge, RecursionError):
        return []
    sources = raw.get("sources") if isinstance(raw, dict) else None
    if not isinstance(sources, dict):
        return []
    problems: list[str] = []
    for source, settings in sources.items():
        if source not in SOURCES:
            continue
        try:
            problems += source_problems(source, SourceSettings.model_validate(settings or {}))
        except ValidationError:
            continue  # already listed by the file's own validation
    return problems
