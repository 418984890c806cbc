"""costbook's pytest plugin: inert until a test uses its fixture or marker."""

from __future__ import annotations
