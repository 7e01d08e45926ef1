"""The settings one inbox file is read with.

`sources.<source>` holds folder-wide options; `sources.<source>.formats.<format>` the options of
one export format (a vendor account's field ids belong there, so they never touch another
vendor's files); `sources.<source>.files` a list of `{match: "<glob>", ...}` entries for one-off
files. A file gets the folder-wide options, overlaid by those of the format it is read as,
overlaid by every `files` entry its name matches (later entries win).
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase
from pathlib import PurePosixPath
from typing import Any

from models.operating_model import SourceSettings

SECTIONS = ("formats", "files")
MATCH = "match"


def file_names(source: str, relative_path: str) -> tuple[str, ...]:
    """The names a `files` pattern is matched against: the file name, its path inside the
    source folder and its path as given."""
    path = PurePosixPath(relative_path.replace("\\", "/"))
    inside = (
        PurePosixPath(*path.parts[1:]).as_posix()
        if len(path.parts) > 1 and path.parts[0] == source
        else path.as_posix()
    )
    return tuple(dict.fromkeys((path.name, inside, path.as_posix())))


def matching_entries(settings: SourceSettings, names: Sequence[str]) -> list[dict[str, Any]]:
    """The `files` entries whose `match` pattern matches one of `names`, in written order."""
    found = []
    for entry in settings.files:
        pattern = str(entry.get(MATCH) or "")
        if pattern and any(fnmatchcase(name, pattern) for name in names):
            found.append({k: v for k, v in entry.items() if k != MATCH})
    return found


def settings_for(
    settings: SourceSettings, names: Sequence[str], format_name: str | None = None
) -> SourceSettings:
    """The settings of a file named `names` read as `format_name` (None: before the format is
    known): folder-wide, then `formats.<format_name>`, then the matching `files` entries."""
    merged: dict[str, Any] = {k: v for k, v in settings.model_dump().items() if k not in SECTIONS}
    entries = matching_entries(settings, names)
    if format_name is not None:
        merged |= settings.formats.get(format_name) or {}
    for entry in entries:
        merged |= entry
    return SourceSettings.model_validate(merged)
