"""A text file's encoding when none is configured: UTF-8 (and UTF-16 with a byte-order mark)
as read by `pipelines/read.py`, else detected with charset-normalizer.

Short exports that are mostly ASCII fit several single-byte code pages about equally well;
among the candidates nearly as good as the best, the code pages exports are usually written in
(Windows-1252 first) are preferred. A file whose best candidate is still unsure is refused: a
wrong guess would load wrong names silently.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

from pipelines.read import RefusedFile, container_kind

SAMPLE_BYTES = 1 << 20
# Below this confidence (1 - charset-normalizer's chaos) a detected encoding is not used.
MIN_CONFIDENCE = 0.8
# How much less sure than the best a preferred code page may be and still be chosen.
_NEAR = 0.05
_PREFERRED = (
    "cp1252", "latin_1", "iso8859_15", "cp1250", "cp1251", "cp1257", "cp932", "shift_jis",
    "gb18030", "big5", "euc_kr", "mac_roman",
)  # fmt: skip
_TEXT_SUFFIXES = {".csv", ".tsv", ".txt", ".jsonl", ".ndjson", ".json"}


@dataclass(frozen=True)
class DetectedEncoding:
    """An encoding charset-normalizer found, and how sure it is (0 to 1)."""

    encoding: str
    confidence: float


def detect_encoding(path: Path) -> DetectedEncoding | None:
    """The encoding of a text file that is not UTF-8 (None for UTF-8, a UTF-16 byte-order mark,
    or a file that is not text). Refuses a file no encoding fits with enough confidence."""
    if path.suffix.lower() not in _TEXT_SUFFIXES:
        return None
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in sample:
        return None
    if container_kind(path, sample) is not None:  # an archive or workbook: the reader says so
        return None
    try:
        # Not final: the sample may end inside a character.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return None
    except UnicodeDecodeError:
        pass
    matches = list(from_bytes(sample))
    if not matches:
        raise RefusedFile(
            "cannot decode as UTF-8 and no other encoding fits; "
            "declare the file's encoding in sources.<source>.encoding"
        )
    best = min(m.chaos for m in matches)
    # Each match also names the code pages that decode the sample to the same text.
    near = [
        (name, m.chaos)
        for m in matches
        if m.chaos <= best + _NEAR
        for name in dict.fromkeys([m.encoding, *m.could_be_from_charset])
    ]
    ranked = sorted(
        near,
        key=lambda item: (
            _PREFERRED.index(item[0]) if item[0] in _PREFERRED else len(_PREFERRED),
            item[1],
        ),
    )
    encoding, chaos = ranked[0]
    confidence = round(1 - chaos, 2)
    if confidence < MIN_CONFIDENCE:
        raise RefusedFile(
            f"cannot decode as UTF-8; the closest encoding, {encoding}, fits with "
            f"confidence {confidence:.2f} only (below {MIN_CONFIDENCE}); declare the file's "
            "encoding in sources.<source>.encoding"
        )
    return DetectedEncoding(encoding, confidence)
