"""Record listeners: functions told of every entry this process records, after it is kept.

A listener is called with the stored :class:`Entry` once its ledger (or, for a ledger that
cannot be written, its spool) holds it: by :meth:`Ledger.record`, :meth:`Ledger.keep`
(tracked calls) and a budget's commit. It is told once per call, in the process that made
the call; a spool replayed later tells no one again. Telemetry export registers here, so
that the ledger knows nothing of who listens.

A listener that raises never breaks the call that was recorded: its error is logged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from ._entry import Entry

log = logging.getLogger("costbook.ledger")

RecordListener = Callable[[Entry], None]

_listeners: tuple[RecordListener, ...] = ()
_lock = threading.Lock()


def add_record_listener(listener: RecordListener) -> None:
    """Call ``listener(entry)`` after each entry this process records from now on (adding
    one that is registered already does nothing)."""
    global _listeners
    if not callable(listener):
        raise TypeError(f"a record listener must be callable, got {type(listener).__name__}")
    with _lock:
        if listener not in _listeners:
            _listeners = (*_listeners, listener)


def remove_record_listener(listener: RecordListener) -> None:
    """Stop calling ``listener``; removing one that is not registered does nothing."""
    global _listeners
    with _lock:
        _listeners = tuple(each for each in _listeners if each != listener)


def record_listeners() -> tuple[RecordListener, ...]:
    """The listeners registered, in the order they were added."""
    return _listeners


def recorded(entry: Entry) -> Entry:
    """Tell every listener of ``entry`` (just kept) and return it. A listener's error is
    logged, never raised: the call it describes has happened and is recorded."""
    for listener in _listeners:
        try:
            listener(entry)
        except Exception:
            log.warning("record listener %r failed on entry %s", listener, entry.id,
                        exc_info=True)
    return entry
