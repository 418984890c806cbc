"""costbook's pytest plugin, installed with costbook and inert until used.

- fixture ``costbook_ledger``: a fresh ledger for one test; tracked clients without a
  ledger of their own record into it;
- marker ``@pytest.mark.max_cost("0.10")``: the test fails when its tracked calls cost more
  (and a call whose high bound would pass the limit is refused before it is sent);
- ``--costbook-report``: calls and cost per test and per model at the end of the session;
  ``--costbook-report-json PATH`` writes the same as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ..client._scopes import max_cost
    from ..ledger._entry import Entry
    from ..ledger._ledger import Ledger

_REPORT_KEY = pytest.StashKey[dict[str, list["Entry"]]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("costbook", "costs of LLM calls (costbook)")
    group.addoption("--costbook-report", action="store_true",
                    help="print calls and cost per test and per model at the end")
    group.addoption("--costbook-report-json", metavar="PATH",
                    help="write calls and cost per test and per model to PATH as JSON")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "max_cost(limit): fail the test when its tracked LLM calls cost more than limit (USD)",
    )
    if _reporting(config):
        config.stash[_REPORT_KEY] = {}


def _reporting(config: pytest.Config) -> bool:
    return bool(config.getoption("costbook_report") or config.getoption("costbook_report_json"))


@pytest.fixture
def costbook_ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A fresh ledger for this test; tracked clients in the test record into it by default."""
    from ..client._scopes import pop_default_ledger, push_default_ledger
    from ..ledger._ledger import Ledger

    ledger = Ledger(tmp_path / "costbook-ledger.sqlite")
    push_default_ledger(ledger)
    try:
        yield ledger
    finally:
        pop_default_ledger(ledger)
        ledger.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    marker = item.get_closest_marker("max_cost")
    report = item.config.stash.get(_REPORT_KEY, None)
    if marker is None and report is None:
        return (yield)
    from ..client._scopes import max_cost

    scopes: list[max_cost] = []
    collector = max_cost.collector()
    if report is not None:
        scopes.append(collector)
    if marker is not None:
        scopes.append(_limit_scope(item, marker))
    for scope in scopes:
        scope.__enter__()
    try:
        result = yield
    except BaseException as exc:
        for scope in reversed(scopes):
            scope.__exit__(type(exc), exc, exc.__traceback__)
        raise
    finally:
        if report is not None:
            report[item.nodeid] = list(collector.entries)
    for scope in reversed(scopes):
        scope.__exit__(None, None, None)
    return result


def _limit_scope(item: pytest.Item, marker: pytest.Mark) -> max_cost:
    from ..client._scopes import max_cost

    if len(marker.args) != 1 or marker.kwargs:
        raise pytest.UsageError(
            f"{item.nodeid}: write the marker as @pytest.mark.max_cost(\"0.10\"), one limit in USD"
        )
    funcargs = getattr(item, "funcargs", {})
    return max_cost(marker.args[0], ledger=funcargs.get("costbook_ledger"))


def _summary(report: dict[str, list[Entry]]) -> dict[str, Any]:
    from ..pricing._money import money_text

    def tally(entries: list[Entry]) -> dict[str, Any]:
        return {"calls": len(entries),
                "cost": money_text(sum((e.total for e in entries), Decimal(0)))}

    by_model: dict[str, list[Entry]] = {}
    for entries in report.values():
        for entry in entries:
            by_model.setdefault(f"{entry.provider}:{entry.model}", []).append(entry)
    everything = [e for entries in report.values() for e in entries]
    return {
        "tests": {nodeid: tally(entries) for nodeid, entries in report.items() if entries},
        "models": {ref: tally(entries) for ref, entries in sorted(by_model.items())},
        "total": tally(everything),
    }


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    report = config.stash.get(_REPORT_KEY, None)
    if report is None:
        return
    summary = _summary(report)
    path = config.getoption("costbook_report_json")
    if path:
        Path(path).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if not config.getoption("costbook_report"):
        return
    from ..pricing._money import display_money

    write = terminalreporter.write_line
    terminalreporter.section("costbook: LLM calls and cost")
    for title, rows in (("test", summary["tests"]), ("model", summary["models"])):
        body = [[name, str(row["calls"]), display_money(Decimal(row["cost"]))]
                for name, row in rows.items()]
        if body:
            for line in _columns(body, [title, "calls", "cost"]):
                write(line)
            write("")
    total = summary["total"]
    write(f"total: {total['calls']} call(s), {display_money(Decimal(total['cost']))}")


def _columns(rows: list[list[str]], headers: list[str]) -> list[str]:
    """Lines of a plain table: the first column left-aligned, the others right-aligned."""
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=False)]
    rules = ["-" * width for width in widths]
    return [
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                  for i, (cell, w) in enumerate(zip(cells, widths, strict=True))).rstrip()
        for cells in [headers, rules, *rows]
    ]
