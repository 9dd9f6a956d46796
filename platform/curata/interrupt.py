"""Ctrl-C and SIGTERM: a write either stops before its commit, or finishes its commit.

Every write commits once, at the end (one Delta transaction, then the catalog records that
pin it). An interrupt (``KeyboardInterrupt``) anywhere before that leaves the previous version
untouched: the writer deletes its staged files and marks its run ``cancelled``. The commit and
its catalog records run inside a :class:`Shield`: an interrupt that arrives then is held back
until they are done, because stopping halfway would leave a Delta version the catalog does
not know (a run said "failed" while its version was there). :func:`late` then tells the
caller (the CLI) that the interrupt came too late to stop the commit.

:func:`install` (the CLI calls it) makes SIGINT and SIGTERM raise ``KeyboardInterrupt``
unless a shield is up; a shield can then be raised from any thread (delta-rs pulls the last
batch of a stream on its own thread, just before it commits). Without :func:`install`, a
shield raised on the main thread installs the handler for its duration.
"""

from __future__ import annotations

import signal
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_lock = threading.Lock()
_depth = 0
_held: list[int] = []
_late = threading.Event()


def late() -> bool:
    """True when an interrupt arrived during a commit (which then completed)."""
    return _late.is_set()


def _handler(signum: int, frame: FrameType | None) -> None:
    with _lock:
        if _depth > 0:
            _held.append(signum)
            return
    raise KeyboardInterrupt(signal.Signals(signum).name)


def install() -> None:
    """Make SIGINT and SIGTERM cancel (``KeyboardInterrupt``), held back inside shields.
    Call from the main thread (the CLI does, once)."""
    for sig in _SIGNALS:
        signal.signal(sig, _handler)


class Shield:
    """Holds SIGINT/SIGTERM back between :meth:`enter` and :meth:`exit`; a held-back signal
    is recorded (:func:`late`), not re-raised: the work it would have stopped is committed by
    then. ``enter`` is idempotent and may be called from any thread."""

    def __init__(self) -> None:
        self._entered = False
        self._previous: dict[int, Any] | None = None

    def enter(self) -> None:
        global _depth
        with _lock:
            if self._entered:
                return
            self._entered = True
            _depth += 1
        on_main = threading.current_thread() is threading.main_thread()
        if on_main and signal.getsignal(signal.SIGINT) is not _handler:
            self._previous = {sig: signal.signal(sig, _handler) for sig in _SIGNALS}

    def exit(self) -> None:
        global _depth
        with _lock:
            if not self._entered:
                return
            self._entered = False
            _depth -= 1
            held = bool(_held) and _depth == 0
            if _depth == 0:
                _held.clear()
        if self._previous is not None:
            for sig, handler in self._previous.items():
                signal.signal(sig, handler)
            self._previous = None
        if held:
            _late.set()
            warnings.warn("interrupted while committing: the commit completed", stacklevel=3)


@contextmanager
def shielded(shield: Shield | None = None) -> Iterator[Shield]:
    """Run the block with interrupts held back (see :class:`Shield`)."""
    shield = shield or Shield()
    shield.enter()
    try:
        yield shield
    finally:
        shield.exit()


def then_shield(batches: Iterator[Any], shield: Shield) -> Iterator[Any]:
    """Yield ``batches``, then raise ``shield``: a consumer that commits after the last batch
    (``write_deltalake`` reading a stream) commits with interrupts held back."""
    yield from batches
    shield.enter()


def is_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` is a user's cancel (Ctrl-C, SIGTERM) rather than a failure."""
    return isinstance(exc, KeyboardInterrupt)
