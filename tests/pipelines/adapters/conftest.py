"""Adapter test helpers: run one file through the real ingest preparation (read, detect,
adapt, type, check, price) as the weekly run does."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from flows.ingest import prepare_file
from models.operating_model import OperatingModel, SourceSettings
from pipelines.prepare import InboxFile, PreparedFile

VENDOR = Path(__file__).resolve().parents[2] / "fixtures" / "vendor"
# Real exports copied unedited from ../shared/samples/real (origins in real/SOURCES.md).
SAMPLES = VENDOR / "real"
# Far after every sample's dates, so no real row counts as "in the future".
NOW_UTC = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)

Prepare = Callable[..., PreparedFile]


def sample(name: str) -> Path:
    """A real export (tests/fixtures/vendor/real, copied unedited from shared/samples/real)."""
    path = SAMPLES / name
    assert path.exists(), f"real sample {name} missing from {SAMPLES}"
    return path


@pytest.fixture
def prepare(example_model: OperatingModel, tmp_path: Path) -> Prepare:
    """prepare(source, path, format=None, timezone=None, **options) -> PreparedFile.

    `format=None` leaves the format to detection; options go to `sources.<source>`.
    """

    def run(
        source: str,
        path: Path,
        format: str | None = None,
        timezone: str | None = None,
        **options: object,
    ) -> PreparedFile:
        settings: dict[str, object] = dict(options)
        if format is not None:
            settings["format"] = format
        # Validated alone: the whole model does not round-trip through a dump (response times).
        update: dict[str, object] = {"sources": {source: SourceSettings.model_validate(settings)}}
        if timezone is not None:
            update["timezone"] = timezone
        operating_model = example_model.model_copy(update=update)
        folder = tmp_path / "inbox" / source
        folder.mkdir(parents=True, exist_ok=True)
        copy = folder / path.name
        shutil.copyfile(path, copy)
        file = InboxFile(
            source=source,
            path=copy,
            relative_path=f"{source}/{path.name}",
            sha256=hashlib.sha256(copy.read_bytes()).hexdigest(),
            exported_at=NOW_UTC,
        )
        return prepare_file(file, operating_model, NOW_UTC)

    return run
