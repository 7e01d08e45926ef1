"""Inboxes on object storage: any fsspec URL (s3://, gs://, az://, file://, ...) is mirrored into
a local folder before a run, keeping each file's modification time (the export time: newest
export wins). Only new or changed files are downloaded; the run then reads the local mirror.

Credentials come from the environment of the process (for S3: AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION and, for a server other than AWS, AWS_ENDPOINT_URL),
never from the inbox URL, which Prefect stores as a flow parameter.
"""

from __future__ import annotations

import contextlib
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


class RemoteInboxError(OSError):
    """A remote inbox that cannot be listed or read: the message names the URL and the fix."""


CREDENTIALS_HINT = (
    "credentials come from the environment (for S3: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
    "AWS_DEFAULT_REGION, and AWS_ENDPOINT_URL for a server other than AWS)"
)


def mirror_inbox(url: str, local: Path) -> Path:
    """Copy the remote inbox's source folders to `local`; return `local`.

    Each call lists the storage afresh (a long-running process sees files added since its last
    run) and each file lands under its final name only once it is complete, so a run never
    reads half a download. Raises RemoteInboxError when the inbox holds nothing or cannot be
    read.
    """
    try:
        # A client of its own each run: credentials and endpoint as the environment has them
        # now, and no listing cached from an earlier run of a long-running process.
        fs, root = fsspec.core.url_to_fs(url, skip_instance_cache=True)
        root = root.rstrip("/")
        if not fs.exists(root):
            raise RemoteInboxError(
                f"inbox {url} holds no files (no such bucket or folder): check the URL; each "
                f"source's exports go under it, e.g. {url.rstrip('/')}/usage/"
            )
        _mirror(fs, root, local)
    except RemoteInboxError:
        raise
    except Exception as exc:  # storage clients raise their own types (botocore's, ...)
        raise RemoteInboxError(
            f"cannot read inbox {url}: {type(exc).__name__}: {exc}; {CREDENTIALS_HINT}"
        ) from exc
    local.mkdir(parents=True, exist_ok=True)
    return local


def _mirror(fs: fsspec.AbstractFileSystem, root: str, local: Path) -> None:
    # Downloads land beside the mirror, never inside it (ingest would see a partial file).
    partial = local.parent / f".{local.name}.partial"
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
            partial.mkdir(parents=True, exist_ok=True)
            download = partial / f"{os.getpid()}-{target.name}"
            try:
                fs.get_file(remote_path, str(download))
                if mtime is not None:
                    os.utime(download, (mtime, mtime))
                os.replace(download, target)
            finally:
                download.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # still in use by another run of the pilot
        partial.rmdir()
