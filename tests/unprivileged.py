"""Commands run as a user whom permission bits bind: root ignores them, so a test of a
file or folder that cannot be written drops to ``nobody`` with ``setpriv``."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys

import pytest

DROP = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


@functools.cache
def _why_not() -> str | None:
    """Why commands cannot run unprivileged here, or None when they can."""
    if os.geteuid() != 0:
        return None
    if shutil.which("setpriv") is None:
        return "running as root without setpriv to drop to an unprivileged user"
    probe = subprocess.run([*DROP, sys.executable, "-c", "import costbook"],
                           capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        return (f"the user nobody cannot import costbook with {sys.executable} (its folder "
                f"is private to root): {probe.stderr.strip()[-200:]}")
    return None


def unprivileged(command: list[str]) -> list[str]:
    """``command`` as an unprivileged user would run it; skips the test, saying why, where
    that cannot be done."""
    why = _why_not()
    if why is not None:
        pytest.skip(f"{why}: permission bits cannot be tested")
    return command if os.geteuid() != 0 else [*DROP, *command]
