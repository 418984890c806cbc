"""OpenTelemetry export of recorded spend: ``costbook.otel.enable()`` and ``disable()``.

See :mod:`costbook.client._otel`. Importing this module does not import OpenTelemetry.
"""

from __future__ import annotations

from .client._otel import COST, TOKEN_USAGE, disable, enable, enabled

__all__ = ["COST", "TOKEN_USAGE", "disable", "enable", "enabled"]
