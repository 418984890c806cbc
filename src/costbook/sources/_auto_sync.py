"""Opt-in refresh for long-running services: the public catalogs synced in a background
thread on a schedule, and the catalog in use swapped for one built on the new tables in a
single step. Never started at import; a failure is logged and the tables in use stay."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from datetime import timedelta

from ._public_sources import CATALOG_IDS, catalog_source

log = logging.getLogger("costbook.sync")


class AutoSync:
    """A running refresh: :meth:`stop` ends it; :attr:`errors` holds the last failure of
    each source (None once it syncs again)."""

    def __init__(self, sources: Sequence[str], every: timedelta,
                 urls: Mapping[str, str], providers: Sequence[str] | None) -> None:
        self.sources = list(sources)
        self.every = every
        self._urls = dict(urls)
        self._providers = list(providers) if providers else None
        self._stop = threading.Event()
        self._done = threading.Condition()
        self.runs = 0
        self.errors: dict[str, str | None] = {s: None for s in self.sources}
        self._thread = threading.Thread(target=self._loop, name="costbook-auto-sync",
                                        daemon=True)

    def start(self) -> AutoSync:
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Stop refreshing (a sync under way finishes first, up to ``timeout`` seconds)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def wait(self, runs: int = 1, timeout: float | None = None) -> bool:
        """Wait until ``runs`` rounds have finished (synced or failed); whether they had."""
        with self._done:
            return self._done.wait_for(lambda: self.runs >= runs, timeout)

    def run_once(self) -> None:
        """Sync every source once, then swap the catalog in use if any synced."""
        from ..pricing._catalog import refresh
        from ._catalog_sync import sync_catalog

        synced = False
        for source in self.sources:
            if self._stop.is_set():
                break
            try:
                sync_catalog(source, url=self._urls.get(source), providers=self._providers,
                             forget=False)
            except Exception as exc:  # a failed refresh never reaches a call
                self.errors[source] = " ".join(str(exc).split()) or type(exc).__name__
                log.warning("costbook: auto sync of %s failed; the tables in use stay: %s",
                            source, self.errors[source])
                continue
            self.errors[source] = None
            synced = True
        if synced:
            try:
                refresh()
            except Exception as exc:
                log.warning("costbook: the synced tables could not be read; the tables in "
                            "use stay: %s", " ".join(str(exc).split()))

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            with self._done:
                self.runs += 1
                self._done.notify_all()
            self._stop.wait(self.every.total_seconds())


def auto_sync(
    sources: Sequence[str] = CATALOG_IDS,
    every: timedelta = timedelta(hours=24),
    *,
    urls: Mapping[str, str] | None = None,
    providers: Sequence[str] | None = None,
) -> AutoSync:
    """Refresh the tables from the public catalogs ``sources`` now and then every
    ``every``, in a background thread, until :meth:`AutoSync.stop`.

    Nothing here blocks or fails a call: a failed sync is logged (logger
    ``costbook.sync``) and the tables in use stay; after a sync, a new catalog is built in
    the background thread and swapped in at once, so a call prices from the tables before
    or after the sync, never from a mix. ``urls`` maps a source to a mirror of its data
    file; ``providers`` limits every sync to those providers.
    """
    names = list(dict.fromkeys(catalog_source(s).id for s in sources))
    if not names:
        raise ValueError("auto_sync needs at least one source: genai-prices, litellm or "
                         "models.dev")
    if not isinstance(every, timedelta) or every <= timedelta(0):
        raise ValueError(f"every={every!r}: give a positive timedelta, like "
                         "timedelta(hours=6)")
    mirrors = {catalog_source(k).id: v for k, v in (urls or {}).items()}
    return AutoSync(names, every, mirrors, providers).start()
