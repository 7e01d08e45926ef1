"""docs/reference.md names every rule id, every operating-model key and every readiness.json field."""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path

from pydantic import BaseModel

from checks.rules.catalog import CATALOG
from models.operating_model import OperatingModel

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference.md"
GOLDEN = ROOT / "tests" / "fixtures" / "demo-golden"
# Keys under a mapping of models are written with a placeholder for the mapping's key.
PLACEHOLDERS = {"costs.prices": "<model>", "sources": "<source>"}


def _models_in(annotation: object) -> list[tuple[type[BaseModel], bool]]:
    """The pydantic models an annotation holds, each with whether it sits in a dict's values."""
    found: list[tuple[type[BaseModel], bool]] = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [(annotation, False)]
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is dict and len(args) == 2:
        return [(model, True) for model, _ in _models_in(args[1])]
    for arg in args:
        found += _models_in(arg)
    return found


def operating_model_keys(model: type[BaseModel] = OperatingModel, prefix: str = "") -> list[str]:
    """Every key path of the operating model, walking its pydantic models recursively."""
    keys: list[str] = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        keys.append(path)
        for inner, in_dict in _models_in(field.annotation):
            inner_prefix = f"{path}.{PLACEHOLDERS[path]}." if in_dict else f"{path}."
            keys += operating_model_keys(inner, inner_prefix)
    return keys


def _quoted(text: str) -> set[str]:
    return set(re.findall(r"`([^`]+)`", text))


def test_every_rule_id_is_documented() -> None:
    """It names every rule id of the catalog in backticks."""
    missing = sorted(set(CATALOG) - _quoted(REFERENCE.read_text(encoding="utf-8")))
    assert not missing, f"rule ids missing from docs/reference.md: {missing}"


def test_every_operating_model_key_is_documented() -> None:
    """It names every operating-model key, nested ones by their full dotted path."""
    keys = operating_model_keys()
    assert "roles.stop_authority.backup.email" in keys  # the walk reaches nested models
    assert "costs.prices.<model>.cached_input" in keys  # and models inside mappings
    missing = sorted(set(keys) - _quoted(REFERENCE.read_text(encoding="utf-8")))
    assert not missing, f"operating-model keys missing from docs/reference.md: {missing}"


def test_every_readiness_json_field_is_documented() -> None:
    """It names every top-level field of a published readiness.json, and the draft marker."""
    published = json.loads((GOLDEN / "2026-W46.json").read_text(encoding="utf-8"))
    fields = {*published, "email", "generated_at", "draft"}
    assert {"verdict", "rules", "metrics"} <= fields
    missing = sorted(fields - _quoted(REFERENCE.read_text(encoding="utf-8")))
    assert not missing, f"readiness.json fields missing from docs/reference.md: {missing}"


def test_links_stay_inside_the_repository() -> None:
    """The README and docs/reference.md link only to files of the repository, which exist."""
    for doc in (ROOT / "README.md", REFERENCE):
        text = doc.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)", text):
            if target.startswith(("http://", "https://")):
                assert "github.com" not in target, f"{doc.name} links another repository"
                continue
            resolved = (doc.parent / target).resolve()
            assert resolved.is_relative_to(ROOT), f"{doc.name} links outside: {target}"
            assert resolved.exists(), f"{doc.name} links a missing file: {target}"
    assert "docs/reference.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_rule_rows_give_the_catalog_owner_and_effect() -> None:
    """Each rule's row states the owner role and what a failure does as the catalog declares."""
    rows = {
        cells[0].strip("` "): cells
        for line in REFERENCE.read_text(encoding="utf-8").splitlines()
        if line.startswith("| `")
        and len(cells := [c.strip() for c in line.strip("|").split("|")]) == 5
    }
    for rule_id, rule in CATALOG.items():
        assert rows[rule_id][3:] == [rule.on_fail, rule.owner_role], rule_id


def test_every_environment_setting_is_documented() -> None:
    """It names every PILOT_* setting the product reads."""
    from models.settings import Settings

    names = {f"PILOT_{name.upper()}" for name in Settings.model_fields}
    missing = sorted(names - _quoted(REFERENCE.read_text(encoding="utf-8")))
    assert not missing, f"settings missing from docs/reference.md: {missing}"
