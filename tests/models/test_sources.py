"""The warehouse table of each source agrees with the source's declaration (models/sources.py).

The rule the code follows (models/warehouse.py, pipelines/prepare.py):
- a source's table holds its declared columns, the row bookkeeping every source row carries
  (`pilot`, `file_id`, `exported_at`, `row_hash`) and nothing else but the columns a later stage
  adds (usage: the resolved price);
- each declared column has the SQL type of its declared type; timestamps are time-zone aware;
- the primary key is `pilot` followed by the source's key, in the key's order;
- a required column is NOT NULL unless the prepare stage lets a vendor file leave it unknown
  (tickets' `ai_draft_used`); every other declared column is nullable, as a valid row may lack it.
"""

from __future__ import annotations

import polars as pl
import pytest
import sqlalchemy as sa
from sqlalchemy.types import TypeEngine

from models.sources import SPECS, ColumnType
from models.warehouse import SOURCE_TABLES
from pipelines.adapters import ADAPTERS
from pipelines.prepare import CanonicalFile

BOOKKEEPING = ("pilot", "file_id", "exported_at", "row_hash")
# Columns a stage after the checks fills in: the cost the pricing stage resolved and where from.
ADDED_LATER: dict[str, frozenset[str]] = {"usage": frozenset({"model_cost_usd", "price_source"})}
SQL_TYPES: dict[ColumnType, type[TypeEngine]] = {
    "str": sa.String,
    "int": sa.Integer,
    "float": sa.Float,
    "bool": sa.Boolean,
    "datetime": sa.DateTime,
    "date": sa.Date,
}


def _table(source: str) -> sa.Table:
    return SOURCE_TABLES[source].__table__  # type: ignore[attr-defined]


def _sql_type(column: sa.Column) -> TypeEngine:
    """The type the database stores, under any Python-side wrapper (sqlmodel's AutoString,
    UTCDateTime)."""
    return getattr(column.type, "impl_instance", column.type)


def _unknown_allowed(source: str) -> tuple[str, ...]:
    """The required columns the prepare stage lets a vendor file of the source leave null."""
    vendor_file = CanonicalFile(
        file=None,  # type: ignore[arg-type]  # the rule reads only the adapter and the target
        file_format="csv",
        adapter=next(iter(ADAPTERS.values())),
        target=source,
        raw=pl.DataFrame(),
        canonical=pl.DataFrame(),
        rows_read=0,
        repeated_lines=pl.Series(dtype=pl.UInt32),
    )
    return vendor_file.unknown_allowed


def test_every_source_has_one_table() -> None:
    """It stores every declared source in a table of its own."""
    assert set(SOURCE_TABLES) == set(SPECS)
    assert len({_table(s).name for s in SPECS}) == len(SPECS)


@pytest.mark.parametrize("source", sorted(SPECS))
def test_table_holds_the_declared_columns_and_only_those(source: str) -> None:
    """It refuses a declared column the table lacks, and a table column no declaration names."""
    declared = set(SPECS[source].columns)
    table = set(_table(source).columns.keys())
    assert declared - table == set(), "declared but not stored"
    assert table - declared - set(BOOKKEEPING) - ADDED_LATER.get(source, frozenset()) == set()
    assert set(BOOKKEEPING) <= table


@pytest.mark.parametrize("source", sorted(SPECS))
def test_declared_types_are_the_sql_types(source: str) -> None:
    """It stores each declared column in the SQL type of its declared type, timestamps aware."""
    table = _table(source)
    for name, declared in SPECS[source].columns.items():
        stored = _sql_type(table.columns[name])
        assert isinstance(stored, SQL_TYPES[declared]), (name, declared, stored)
        if declared == "datetime":
            assert stored.timezone, name  # type: ignore[attr-defined]
        if declared == "date":
            assert not isinstance(stored, sa.DateTime), name


@pytest.mark.parametrize("source", sorted(SPECS))
def test_primary_key_is_the_pilot_then_the_source_key(source: str) -> None:
    """It keys each source's rows by pilot and the source's key, in the key's order."""
    spec = SPECS[source]
    primary_key = tuple(c.name for c in _table(source).primary_key.columns)
    assert primary_key == ("pilot", *spec.key)
    assert set(spec.key) <= set(spec.required)


@pytest.mark.parametrize("source", sorted(SPECS))
def test_required_columns_are_not_null_and_the_others_nullable(source: str) -> None:
    """It makes a required column NOT NULL unless vendor files may leave it unknown, and lets
    every other declared column be null."""
    spec, table = SPECS[source], _table(source)
    unknown_allowed = _unknown_allowed(source)
    assert set(unknown_allowed) <= set(spec.required)
    for name in spec.columns:
        may_be_null = name not in spec.required or name in unknown_allowed
        assert table.columns[name].nullable is may_be_null, name
    assert not any(table.columns[c].nullable for c in BOOKKEEPING)


def test_vendor_tickets_may_leave_whether_a_draft_was_used_unknown() -> None:
    """It keeps the one known exception to the NOT NULL rule in force: vendor tickets'
    `ai_draft_used` is required yet stored nullable."""
    assert _unknown_allowed("tickets") == ("ai_draft_used",)
    assert "ai_draft_used" in SPECS["tickets"].required
    assert _table("tickets").columns["ai_draft_used"].nullable
