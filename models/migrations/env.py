"""Alembic environment for the warehouse; the target metadata is SQLModel's (models.warehouse).

`pipelines.warehouse.engine.migrate` passes an open connection in `config.attributes["connection"]`, so no URL is
read here. The alembic CLI (`uv run alembic upgrade head` from the repository root) connects to
`-x url=...`, else PILOT_DB_URL, else the default SQLite warehouse.
"""

from __future__ import annotations

import logging
import os

from alembic import context
from sqlalchemy import Connection, create_engine, pool
from sqlmodel import SQLModel

from models import warehouse  # noqa: F401 - registers the tables on SQLModel.metadata

# Quiet: migrations run inside make_engine, so only warnings and errors may show.
logging.getLogger("alembic").setLevel(logging.WARNING)

config = context.config
target_metadata = SQLModel.metadata
DEFAULT_URL = "sqlite:///var/warehouse.db"


def _url() -> str:
    return (
        context.get_x_argument(as_dictionary=True).get("url")
        or os.environ.get("PILOT_DB_URL")
        or DEFAULT_URL
    )


def _options(dialect: str) -> dict:
    # SQLite cannot ALTER most things in place: batch mode copies the table instead.
    return {
        "target_metadata": target_metadata,
        "render_as_batch": dialect == "sqlite",
        "compare_type": True,
    }


def _run(connection: Connection) -> None:
    context.configure(connection=connection, **_options(connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    url = _url()
    context.configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **_options(url.split(":", 1)[0].split("+", 1)[0]),
    )
    with context.begin_transaction():
        context.run_migrations()
elif (given := config.attributes.get("connection")) is not None:
    _run(given)
else:
    engine = create_engine(_url(), poolclass=pool.NullPool)
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()
