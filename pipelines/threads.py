"""Joining the product's own threads (GX warm-up, read-ahead, WAL checkpoints) with a bound: a
thread that does not end in time is named in the log with the stack it is stuck in, and the
caller goes on (the threads are daemons and never block the process's exit)."""

from __future__ import annotations

import logging
import sys
import threading
import traceback

log = logging.getLogger(__name__)

# Longer than any honest wait of these threads (a GX import, one large file's checks).
JOIN_SECONDS = 300.0


def stack_of(thread: threading.Thread) -> str:
    """Where a running thread is now, as a formatted stack ("" when it has ended)."""
    frame = sys._current_frames().get(thread.ident or -1)
    return "".join(traceback.format_stack(frame)) if frame is not None else ""


def join_or_warn(thread: threading.Thread, seconds: float = JOIN_SECONDS) -> bool:
    """Wait up to `seconds` for the thread; True when it ended, else log its stack, False."""
    thread.join(seconds)
    if not thread.is_alive():
        return True
    log.warning(
        "thread %s still runs after %.0f s; going on without it. It is at:\n%s",
        thread.name,
        seconds,
        stack_of(thread),
    )
    return False
