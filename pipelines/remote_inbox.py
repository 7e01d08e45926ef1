"""Inboxes on object storage: any fsspec URL (s3://, gs://, az://, file://, ...) is mirrored into
a local folder before a run, keeping each file's modification time (the export time: newest
export wins). Only new or changed files are downloaded; the run then reads the local mirror."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import fsspec

from models.operating_model import SOURCES


def is_remote(inbox: str | Path) -> bool:
    """True for URLs like s3://bucket/inbox or file:///data/inbox."""
    return "://" in str(inbox)


def _modified(info: dict) -> float | None:
    for key in ("mtime", "LastModified", "last_modified", "updated", "created"):
        value = info.get(key)
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, dt.datetime):
            return value.timestamp()
        if isinstance(value, str):
            try:
                return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
    return None


def mirror_inbox(url: str, local: Path) -> Path:
    """Copy the remote inbox's source folders to `local`; return `local`."""
    fs, root = fsspec.core.url_to_fs(url)
    root = root.rstrip("/")
    for source in SOURCES:
        folder = f"{root}/{source}"
        if not fs.isdir(folder):
            continue
        for remote_path, info in sorted(fs.find(folder, detail=True).items()):
            if info.get("type") == "directory":
                continue
            relative = remote_path[len(root) + 1 :]
            if any(part in ("..", "") for part in relative.split("/")):
                continue  # never write outside the mirror
            target = local / relative
            mtime = _modified(info)
            size = info.get("size")
            if (
                target.exists()
                and target.stat().st_size == size
                and (mtime is None or abs(target.stat().st_mtime - mtime) < 1)
            ):
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            fs.get_file(remote_path, str(target))
            if mtime is not None:
                os.utime(target, (mtime, mtime))
    local.mkdir(parents=True, exist_ok=True)
    return local
