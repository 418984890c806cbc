"""Every Python snippet of the README (and of docs/) runs as written, on its own."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# A block runs unless the line before its fence says why not: <!-- not run: REASON -->
BLOCK = re.compile(r"(?:<!--\s*not run:(?P<why>[^>]*)-->\s*\n)?```python\n(?P<code>.*?)```",
                   re.DOTALL)


def _snippets() -> list:
    found = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            line = text.count("\n", 0, match.start("code")) + 1
            marks = [pytest.mark.skip(reason=match["why"].strip())] if match["why"] else []
            found.append(pytest.param(match["code"], id=f"{doc.name}:{line}", marks=marks))
    return found


SNIPPETS = _snippets()


def test_the_readme_has_snippets_and_few_are_not_run():
    skipped = [s for s in SNIPPETS if s.marks]
    assert len(SNIPPETS) >= 8
    # each that is not run calls a provider's API with a key (its output shown is from the
    # local test servers) or is an excerpt of a file the tests run
    assert len(skipped) <= 6


@pytest.mark.parametrize("code", SNIPPETS)
def test_snippet_runs_as_written(code, tmp_path):
    (tmp_path / "snippet.py").write_text(code, encoding="utf-8")
    env = {**os.environ, "COSTBOOK_LEDGER": str(tmp_path / "default-ledger.sqlite")}
    env.pop("COSTBOOK_PRICING_PATH", None)
    # the local test servers (tests/fake_*.py) can stand in for a provider's API
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "tests"),
                                                    env.get("PYTHONPATH")) if p)
    done = subprocess.run([sys.executable, "snippet.py"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
