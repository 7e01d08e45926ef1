"""docs/sources.md is the reference `checks.validate.sources_reference` renders from the sources."""

from __future__ import annotations

from checks.validate import SOURCES_DOC, sources_reference, suite_expectations
from models.sources import SPECS


def test_committed_reference_is_the_rendered_one() -> None:
    """It fails when docs/sources.md differs from what the declarations render now (write it
    again with `uv run python -m checks.validate --write-docs`)."""
    assert SOURCES_DOC.read_text(encoding="utf-8") == sources_reference()


def test_reference_lists_every_source_column_and_reason() -> None:
    """It names every source, every declared column and every reason its suite gives."""
    text = sources_reference()
    for spec in SPECS.values():
        section = text.split(f"\n## {spec.name}\n", 1)[1].split("\n## ", 1)[0]
        assert all(f"| `{column}` |" in section for column in spec.columns)
        reasons = [e.reason for e in suite_expectations(spec)]
        positions = [section.index(f" {reason}\n") for reason in reasons]
        assert positions == sorted(positions)  # in suite order
