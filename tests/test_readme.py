"""Every example of the README and of docs/ runs as written and prints what the page shows.

A ```python block runs on its own in a temporary folder; the bare ``` block right after it
is what it prints. When that block is a transcript (its first line is ``$ python NAME.py``,
the snippet's first line being ``# NAME.py``), the snippet is saved as NAME.py and every
``$ `` line of the transcript runs in the same folder, each followed by what it prints
(stdout and stderr). A ```console block is such a transcript on its own. ``costbook`` and
``python`` on those lines are this Python's. A ``$ cat FILE`` line shows a file the next
lines use: when the folder has no such file, it is written with what the page shows.

Marks, on the lines right above a block's fence:

- ``<!-- not run: REASON -->``: shown, not run (a provider's API with a key, a server that
  the page cannot start);
- ``<!-- varies: REGEX -->``: what the regular expression matches may differ, in the output
  shown and the output printed alike (a date, a path, a timing); may be given more than once;
- ``<!-- continues -->``: runs in the folder of the page's example above, after it (to
  read the ledger that example wrote); its marks add to that example's.

And in the output shown, a line ``...`` alone stands for any number of lines.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```(?P<lang>[a-z]*)\n(?P<body>.*?)^```\n", re.DOTALL | re.MULTILINE)
MARK = re.compile(r"<!--\s*(?P<kind>not run|varies|continues):?\s*(?P<value>.*?)\s*-->")
NAMED = re.compile(r"^# (?P<name>[\w-]+\.py)\b")


@dataclass
class Part:
    """A snippet, a transcript, or both, run one after the other in one folder."""

    code: str | None = None
    name: str = "snippet.py"
    expected: str | None = None  # what `python NAME` prints
    transcript: str | None = None  # `$ ` lines and what each prints


@dataclass
class Example:
    """One runnable example: its parts, run in order in one temporary folder."""

    where: str
    parts: list[Part] = field(default_factory=list)
    varies: list[str] = field(default_factory=list)
    not_run: str | None = None


def _marks(text: str, start: int) -> list[tuple[str, str]]:
    """The marks on the lines right above the fence at `start`."""
    marks = []
    for line in reversed(text[:start].rstrip("\n").split("\n")):
        found = MARK.fullmatch(line.strip())
        if found is None:
            break
        marks.append((found["kind"], found["value"]))
    return marks


def _examples(doc: Path) -> list[Example]:
    text = doc.read_text(encoding="utf-8")
    blocks = list(FENCE.finditer(text))
    found = []
    taken: set[int] = set()
    for i, block in enumerate(blocks):
        if i in taken or block["lang"] not in ("python", "console"):
            continue
        line = text.count("\n", 0, block.start()) + 1
        marks = _marks(text, block.start())
        if any(kind == "continues" for kind, _ in marks) and found:
            example = found[-1]
        else:
            example = Example(where=f"{doc.relative_to(ROOT)}:{line}")
            found.append(example)
        for kind, value in marks:
            if kind == "not run":
                example.not_run = value
            elif kind == "varies":
                example.varies.append(value)
        part = Part()
        example.parts.append(part)
        if block["lang"] == "console":
            part.transcript = block["body"]
            continue
        part.code = block["body"]
        named = NAMED.match(block["body"])
        following = blocks[i + 1] if i + 1 < len(blocks) else None
        if (following is not None and following["lang"] == ""
                and not text[block.end():following.start()].strip()):
            taken.add(i + 1)
            output = following["body"]
            if named and output.startswith(f"$ python {named['name']}\n"):
                part.name = named["name"]
                part.transcript = output
            else:
                part.expected = output
        else:
            part.expected = ""
    return found


def _all_examples() -> list:
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    params = []
    for doc in docs:
        for example in _examples(doc):
            marks = [pytest.mark.skip(reason=example.not_run)] if example.not_run else []
            params.append(pytest.param(example, id=example.where, marks=marks))
    return params


EXAMPLES = _all_examples()


def _matches(expected: str, actual: str, varies: list[str]) -> bool:
    for pattern in varies:
        expected = re.sub(pattern, "\N{HORIZONTAL ELLIPSIS}", expected)
        actual = re.sub(pattern, "\N{HORIZONTAL ELLIPSIS}", actual)
    parts = [r"(?:[^\n]*\n)*?" if line == "..." else re.escape(line) + r"\n"
             for line in expected.splitlines()]
    return re.fullmatch("".join(parts), actual if not actual or actual.endswith("\n")
                        else actual + "\n") is not None


def _check(where: str, expected: str, actual: str, varies: list[str]) -> None:
    if not _matches(expected, actual, varies):
        diff = "\n".join(difflib.unified_diff(expected.splitlines(), actual.splitlines(),
                                              "shown", "printed", lineterm=""))
        pytest.fail(f"{where}: the output shown differs from what runs:\n{diff}")


def _environment(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "COSTBOOK_LEDGER": str(tmp_path / "default-ledger.sqlite"),
           "COSTBOOK_TABLES_DIR": str(tmp_path / "user-tables")}
    env.pop("COSTBOOK_PRICING_PATH", None)
    # the local test servers (tests/fake_*.py) can stand in for a provider's API
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "tests"),
                                                    env.get("PYTHONPATH")) if p)
    # `costbook` and `python` in a transcript are this interpreter's
    bin_dir = tmp_path / ".bin"
    bin_dir.mkdir()
    for name, line in (("python", f'exec "{sys.executable}" "$@"'),
                       ("costbook", f'exec "{sys.executable}" -m costbook "$@"')):
        script = bin_dir / name
        script.write_text(f"#!/bin/sh\n{line}\n", encoding="utf-8")
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    env["PATH"] = os.pathsep.join((str(bin_dir), env.get("PATH", "")))
    return env


def _steps(transcript: str) -> list[tuple[str, str]]:
    steps: list[tuple[str, list[str]]] = []
    for line in transcript.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif not steps:
            raise AssertionError(f"a transcript starts with {line!r}, not a `$ ` line")
        else:
            steps[-1][1].append(line)
    return [(command, "".join(out + "\n" for out in lines)) for command, lines in steps]


def test_the_pages_have_examples_and_few_are_not_run():
    skipped = [e for e in EXAMPLES if e.marks]
    assert len(EXAMPLES) >= 25
    # each that is not run calls a provider's API with a key (its output shown is from the
    # local test servers), needs a server the page does not start, or is an excerpt
    assert len(skipped) <= 12


def test_a_varying_line_and_a_wildcard_match_only_what_they_say():
    assert _matches("a\n...\nz\n", "a\nb\nc\nz\n", [])
    assert _matches("a\n...\nz\n", "a\nz\n", [])
    assert not _matches("a\n...\nz\n", "a\nb\n", [])
    assert _matches("on 2026-01-02\n", "on 2031-12-30\n", [r"\d{4}-\d\d-\d\d"])
    assert not _matches("on 2026-01-02\n", "on 2026-01-02 late\n", [r"\d{4}-\d\d-\d\d"])
    assert not _matches("0.021\n", "0.022\n", [])


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_prints_what_the_page_shows(example: Example, tmp_path: Path) -> None:
    env = _environment(tmp_path)
    for part in example.parts:
        if part.code is not None:
            (tmp_path / part.name).write_text(part.code, encoding="utf-8")
        if part.expected is not None:
            done = subprocess.run([sys.executable, part.name], cwd=tmp_path, env=env,
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr
            _check(example.where, part.expected, done.stdout, example.varies)
        if part.transcript is not None:
            status = 0
            for command, expected in _steps(part.transcript):
                shown = re.fullmatch(r"cat ([\w.-]+)", command)
                if shown and not (tmp_path / shown[1]).exists():
                    # a file the page shows and the next lines use
                    (tmp_path / shown[1]).write_text(expected, encoding="utf-8")
                # `$?` is the status of the line before, as in one shell
                done = subprocess.run(["bash", "-c", f"(exit {status}); {command}"],
                                      cwd=tmp_path, env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True, timeout=120)
                status = done.returncode
                _check(f"{example.where}: $ {command}", expected, done.stdout,
                       example.varies)


def test_the_readme_is_a_front_door():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 300
    blocks = list(FENCE.finditer(text))
    # the two set-up commands first
    assert [b["body"] for b in blocks[:2]] == [
        "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/costbook estimate "
        "openai/gpt-4o-mini --provider requesty --input 100k --output 10k\n",
        "python3 -m venv .venv && .venv/bin/pip install '.[test]' && .venv/bin/pytest\n",
    ]
    # then a quickstart of under 20 lines, in the first screens: track, call, report
    quickstart = blocks[2]
    assert quickstart["lang"] == "python"
    assert text.count("\n", 0, quickstart.end()) < 60
    assert len(quickstart["body"].splitlines()) < 20
    assert "costbook.track(" in quickstart["body"]
    assert "\n$ costbook report" in blocks[3]["body"]
    # and a link to every guide
    for page in sorted((ROOT / "docs").glob("*.md")):
        if page.name not in ("index.md",):
            assert f"(docs/{page.name})" in text, f"the README does not link {page.name}"
