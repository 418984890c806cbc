"""The command line: one module per group of commands, each a library call plus formatting."""

from ._main import main

__all__ = ["main"]
