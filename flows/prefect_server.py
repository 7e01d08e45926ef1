"""Prefect's temporary local server (started when no PREFECT_API_URL is set), made to die with
the process that started it.

Prefect starts it as a child process and stops it at a normal exit; a process killed outright
(SIGKILL, the OOM killer) leaves it orphaned and listening. On Linux the child is started with
a parent-death signal (`prctl(PR_SET_PDEATHSIG, SIGTERM)`), from the main thread: the signal is
sent when the thread that started the child ends, so it must be the thread that lives longest.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import types
from typing import Any

_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """In the child, before it runs: ask Linux for SIGTERM when the parent dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


class _SubprocessDyingWithParent(types.ModuleType):
    """The `subprocess` module as Prefect's server module sees it: Popen starts the child with
    the parent-death signal; everything else is the real module."""

    def __init__(self) -> None:
        super().__init__("subprocess")

    def __getattr__(self, name: str) -> Any:
        return getattr(subprocess, name)

    @staticmethod
    def Popen(*args: Any, **kwargs: Any) -> subprocess.Popen[Any]:
        parent = os.getpid()
        kwargs.setdefault("preexec_fn", lambda: _die_with_parent(parent))
        return subprocess.Popen(*args, **kwargs)


def start_temporary_server() -> str | None:
    """Start Prefect's temporary server now, as a child that dies with this process; return its
    API address. Nothing to do (None) when PREFECT_API_URL is set, off Linux, or off the main
    thread (Prefect then starts its server itself, as before)."""
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value() or not sys.platform.startswith("linux"):
        return None
    if threading.current_thread() is not threading.main_thread():
        return None
    from prefect.server.api import server

    if not isinstance(server.subprocess, _SubprocessDyingWithParent):
        server.subprocess = _SubprocessDyingWithParent()  # type: ignore[assignment]
    temporary = server.SubprocessASGIServer()  # the instance Prefect's clients use
    temporary.start()
    return temporary.api_url
