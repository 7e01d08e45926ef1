"""The command line's process: a hang explains itself, SIGTERM stops it, and expected faults
print one line on the console while their tracebacks go to a log file.

- `faulthandler` dumps every thread's stack on a crash, on SIGUSR1 (`kill -USR1 <pid>`: where
  is it now?), and before a forced exit.
- SIGTERM ends the run within seconds whatever it is doing: the main thread gets SystemExit
  (its cleanups run), and a watchdog woken by the signal itself (not by Python code, which a
  thread stuck in native code would never reach) dumps the stacks and exits the process after
  TERM_GRACE_SECONDS if it is still there.
- Console log handlers print records without their tracebacks; the log file keeps them whole.
"""

from __future__ import annotations

import faulthandler
import logging
import logging.handlers
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

# How long a terminated run may take to unwind before it is forced out: long enough for the
# flow to report its crash to a busy Prefect server, short of the 30 s after which container
# runtimes and systemd send SIGKILL.
TERM_GRACE_SECONDS = 20.0
TERM_EXIT_CODE = 143  # 128 + SIGTERM, as a shell reports it

_installed = False


def install(log_file: Path | None) -> Path | None:
    """Set up the process: stack dumps and SIGTERM (once), and the log file holding tracebacks
    (again after Prefect is imported: its console handlers exist from then on). Returns the log
    file in use (None when it cannot be written)."""
    global _installed
    if not _installed:
        _installed = True
        stderr = _stderr()
        faulthandler.enable(file=stderr, all_threads=True)
        if hasattr(signal, "SIGUSR1"):
            faulthandler.register(signal.SIGUSR1, file=stderr, all_threads=True, chain=False)
        if threading.current_thread() is threading.main_thread():
            _watch_for_sigterm()
    return _route_tracebacks(log_file)


def _stderr() -> Any:
    """The process's standard error as a real file (faulthandler writes to its descriptor);
    the original one when sys.stderr was replaced (e.g. by a test runner capturing output)."""
    try:
        sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return sys.__stderr__
    return sys.stderr


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(TERM_EXIT_CODE)


def _watch_for_sigterm() -> None:
    """Python's SIGTERM handler (SystemExit in the main thread) plus a watchdog thread woken
    through the signal wake-up descriptor, written by the C-level handler even while the main
    thread waits in native code."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    try:
        signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    except ValueError:  # not the main thread after all
        os.close(read_end)
        os.close(write_end)
        return
    signal.signal(signal.SIGTERM, _terminate)

    def watch() -> None:
        while True:
            try:
                received = os.read(read_end, 64)
            except OSError:
                return
            if not received:
                return
            if signal.SIGTERM in received:
                sys.stderr.write(
                    f"terminated (SIGTERM): stopping; forced out in {TERM_GRACE_SECONDS:.0f} s\n"
                )
                # A C-level timer: it dumps every stack and exits even if no Python code runs.
                faulthandler.dump_traceback_later(TERM_GRACE_SECONDS, exit=True, file=sys.stderr)
                return

    threading.Thread(target=watch, name="sigterm-watchdog", daemon=True).start()


_log_file: Path | None = None
_file_handler: logging.Handler | None = None
TRACE_LOGGER = "pilot_readiness.faults"


class _NoTraceback(logging.Formatter):
    """A console formatter's text without the traceback (the log file keeps it)."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info = record.exc_text = record.stack_info = None
        try:
            text = self.inner.format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved
        if saved[0] is not None and _log_file is not None:
            text += f" (traceback in {_log_file})"
        return text


def _console_handlers() -> list[logging.Handler]:
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    return [
        handler
        for logger in loggers
        for handler in logger.handlers
        if isinstance(handler, logging.StreamHandler)
        and not isinstance(handler, logging.FileHandler)
        and not type(handler).__module__.startswith("_pytest")  # a test's log capture
    ]


class _LogFile(logging.handlers.RotatingFileHandler):
    """The log file, attached to the root and to Prefect's logger (which stops propagating once
    Prefect sets up its logging): a record that reaches it through both is written once."""

    _last: logging.LogRecord | None = None

    def handle(self, record: logging.LogRecord) -> bool:
        if record is self._last:
            return False
        self._last = record
        return super().handle(record)


def _route_tracebacks(log_file: Path | None) -> Path | None:
    """Console handlers print records without tracebacks; the log file gets every record whole."""
    global _log_file, _file_handler
    if log_file is not None and _log_file != log_file:
        try:
            log_file.parent.mkdir(parents=True, exist_ok=True)
            # Bounded: five files of 5 MB at most.
            handler = _LogFile(log_file, maxBytes=5 * 2**20, backupCount=4, encoding="utf-8")
        except OSError:
            handler = None
        if handler is not None:
            handler.setFormatter(
                logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
            )
            handler.setLevel(logging.INFO)
            if _file_handler is not None:  # one log file at a time: the command's own
                for name in ("", "prefect", TRACE_LOGGER):
                    logging.getLogger(name).removeHandler(_file_handler)
                _file_handler.close()
            _file_handler = handler
            logging.getLogger(TRACE_LOGGER).propagate = False  # the file only, not the console
            _log_file = log_file
    if _file_handler is not None:
        # Again each time: Prefect's logging set-up replaces its logger's handlers.
        for name in ("", "prefect", TRACE_LOGGER):
            logging.getLogger(name).addHandler(_file_handler)
    for handler in _console_handlers():
        if not isinstance(handler.formatter, _NoTraceback):
            handler.setFormatter(_NoTraceback(handler.formatter))
    return _log_file


def current_log_file() -> Path | None:
    """The log file this process writes (None before one could be opened)."""
    return _log_file


def log_exception(message: str, exc: BaseException) -> None:
    """Record an expected fault's traceback in the log file (not on the console)."""
    logging.getLogger(TRACE_LOGGER).error(message, exc_info=exc)
