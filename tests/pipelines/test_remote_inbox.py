"""Inboxes on a real S3 API (moto's server on loopback, credentials only in the environment)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.remote_inbox import RemoteInboxError, mirror_inbox
from tests.many_pilots import s3_server


def _put(bucket: str, key: str, text: str) -> None:
    import fsspec

    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    with fs.open(f"{bucket}/{key}", "w") as out:
        out.write(text)


def _files(folder: Path) -> dict[str, int]:
    return {
        p.relative_to(folder).as_posix(): p.stat().st_mtime_ns
        for p in folder.rglob("*")
        if p.is_file()
    }


def test_s3_inbox_is_mirrored_and_a_later_export_is_seen_by_the_same_process(
    tmp_path: Path,
) -> None:
    """It mirrors an S3 inbox's source folders only, then in the same process picks up an export
    added since, leaving the unchanged file alone and no partial download behind."""
    with s3_server() as s3:
        _put(s3.bucket, "inbox/usage/usage-2026-W45.csv", "a\n1\n")
        _put(s3.bucket, "inbox/notes/readme.txt", "not a source folder")
        local = tmp_path / "cache" / "pilot"
        assert mirror_inbox(s3.url("inbox"), local) == local
        first = _files(local)
        assert list(first) == ["usage/usage-2026-W45.csv"]
        assert (local / "usage/usage-2026-W45.csv").read_text() == "a\n1\n"

        _put(s3.bucket, "inbox/tickets/tickets-2026-W46.jsonl", '{"id": 1}\n')
        mirror_inbox(s3.url("inbox"), local)
        second = _files(local)
    assert sorted(second) == ["tickets/tickets-2026-W46.jsonl", "usage/usage-2026-W45.csv"]
    assert second["usage/usage-2026-W45.csv"] == first["usage/usage-2026-W45.csv"]
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["pilot"]


def test_missing_s3_inbox_names_the_url(tmp_path: Path) -> None:
    """It refuses an inbox URL under which the bucket holds nothing, naming the URL."""
    with s3_server() as s3, pytest.raises(RemoteInboxError, match=r"s3://.*/no-such-inbox"):
        mirror_inbox(s3.url("no-such-inbox"), tmp_path / "cache")


def test_unreadable_inbox_url_names_the_url_and_where_credentials_come_from(
    tmp_path: Path,
) -> None:
    """It turns a storage error into one message with the URL and the credentials' source."""
    with pytest.raises(RemoteInboxError) as raised:
        mirror_inbox("nosuchprotocol://bucket/inbox", tmp_path / "cache")
    assert "nosuchprotocol://bucket/inbox" in str(raised.value)
    assert "AWS_ACCESS_KEY_ID" in str(raised.value)
