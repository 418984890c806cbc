"""Which provider bills a call, told by the host of the API base URL a client uses."""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

from .._errors import CostbookError
from ._catalog import Catalog, catalog

_lock = threading.Lock()
_hosts_of: tuple[Catalog, dict[str, str]] | None = None


def provider_for_base_url(url: str) -> str | None:
    """The provider whose table lists the host of ``url`` in its ``api_hosts``, or ``None``.

    A host matches an API host it equals or is a subdomain of
    (``https://openrouter.ai/api/v1`` and ``https://eu.openrouter.ai/v1`` are both
    ``openrouter``); the longest matching API host wins.
    """
    host = _host(url)
    if not host:
        return None
    hosts = _api_hosts()
    while True:
        found = hosts.get(host)
        if found is not None:
            return found
        _, dot, host = host.partition(".")
        if not dot:
            return None


def provider_for_client(base_url: str | None, provider: str | None = None, *,
                        default: str | None = None) -> str:
    """The provider that bills calls sent to ``base_url``: ``provider`` when given (checked
    against the tables), else the one its host names, else ``default`` (a client that can
    speak to one provider's API alone).

    Raises :class:`~costbook.UnknownProviderError` for a ``provider`` no table describes,
    and :class:`~costbook.CostbookError` when the host names no provider, saying to pass
    ``provider=``.
    """
    if provider is not None:
        return catalog().provider(provider).id
    found = None if base_url is None else provider_for_base_url(base_url)
    if found is not None:
        return found
    if default is not None:
        return catalog().provider(default).id
    known = ", ".join(sorted(catalog().providers))
    raise CostbookError(
        f"cannot tell the provider from the base URL {str(base_url)!r}: no pricing table lists "
        f"its host {_host(base_url or '') or '(none)'!r} in api_hosts; pass provider= with "
        f"one of {known}"
    )


def _host(url: str) -> str:
    text = str(url).strip()
    if "//" not in text:
        text = "//" + text  # a bare host such as openrouter.ai/api/v1
    try:
        host = urlsplit(text).hostname
    except ValueError:
        return ""
    return (host or "").rstrip(".").lower()


def _api_hosts() -> dict[str, str]:
    """API host -> provider for the catalog in use, rebuilt when the catalog changes."""
    global _hosts_of
    current = catalog()
    cached = _hosts_of
    if cached is not None and cached[0] is current:
        return cached[1]
    with _lock:
        hosts: dict[str, str] = {}
        for provider in current.providers.values():
            for api_host in provider.api_hosts:
                hosts.setdefault(api_host.strip().rstrip(".").lower(), provider.id)
        _hosts_of = (current, hosts)
        return hosts
