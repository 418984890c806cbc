"""costbook's pytest plugin, installed with costbook and inert until used.

- fixture ``costbook_ledger``: a fresh ledger for one test; tracked clients without a
  ledger of their own record into it;
- marker ``@pytest.mark.max_cost("0.10")``: the test fails when its tracked calls cost more
  (and a call whose high bound would pass the limit is refused before it is sent);
- ``--costbook-report``: calls and cost per test and per model at the end of the session;
  ``--costbook-report-json PATH`` writes the same as JSON.

Under pytest-xdist (``-n``), each worker sends the calls of a test with the test's report
(the ``costbook_calls`` attribute: provider, model and exact cost of each), and the
controller reports them in the order the tests were collected, as a serial run does.
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
    from ..ledger._ledger import Ledger
    from ..records._entry import Entry

# What one call adds to the report: provider, model, cost (exact decimal text).
_Call = tuple[str, str, str]
_REPORT_KEY = pytest.StashKey[dict[str, list[_Call]]]()
_ORDER_KEY = pytest.StashKey[list[str]]()
_CALLS_KEY = pytest.StashKey[list[_Call]]()
_ATTRIBUTE = "costbook_calls"


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
        if not hasattr(config, "workerinput"):  # an xdist worker sends, the controller reports
            config.pluginmanager.register(_Report(config), "costbook-report")


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
            item.stash[_CALLS_KEY] = [_call(entry) for entry in collector.entries]
    for scope in reversed(scopes):
        scope.__exit__(None, None, None)
    return result


def _call(entry: Entry) -> _Call:
    from ..pricing._money import money_text

    return entry.provider, entry.model, money_text(entry.total)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """The calls of a test go with the report of its call phase (sent from an xdist
    worker to the controller as it is)."""
    report = yield
    calls = item.stash.get(_CALLS_KEY, None)
    if call.when == "call" and calls is not None:
        setattr(report, _ATTRIBUTE, [list(c) for c in calls])
    return report


class _Report:
    """Collects the calls of each test from its reports (its own, or those xdist workers
    send) and prints them at the end of the session."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.calls: dict[str, list[_Call]] = config.stash[_REPORT_KEY]
        self.order: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        calls = getattr(report, _ATTRIBUTE, None)
        if calls is not None:
            self.calls[report.nodeid] = [(str(p), str(m), str(c)) for p, m, c in calls]

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.order = [item.nodeid for item in session.items]

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        """The tests in the order the workers collected them (all collect the same)."""
        if not self.order:
            self.order = list(ids)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        _print_summary(terminalreporter, self.config, _summary(self.calls, self.order))


def _limit_scope(item: pytest.Item, marker: pytest.Mark) -> max_cost:
    from ..client._scopes import max_cost

    if len(marker.args) != 1 or marker.kwargs:
        raise pytest.UsageError(
            f"{item.nodeid}: write the marker as @pytest.mark.max_cost(\"0.10\"), one limit in USD"
        )
    funcargs = getattr(item, "funcargs", {})
    return max_cost(marker.args[0], ledger=funcargs.get("costbook_ledger"))


def _summary(report: dict[str, list[_Call]], order: list[str]) -> dict[str, Any]:
    """Calls and cost per test (in the order of collection), per model, and in all."""
    from ..pricing._money import money_text

    def tally(calls: list[_Call]) -> dict[str, Any]:
        return {"calls": len(calls),
                "cost": money_text(sum((Decimal(c[2]) for c in calls), Decimal(0)))}

    place = {nodeid: number for number, nodeid in enumerate(order)}
    tests = sorted(report.items(), key=lambda pair: place.get(pair[0], len(place)))
    by_model: dict[str, list[_Call]] = {}
    for _, calls in tests:
        for call in calls:
            by_model.setdefault(f"{call[0]}:{call[1]}", []).append(call)
    everything = [c for _, calls in tests for c in calls]
    return {
        "tests": {nodeid: tally(calls) for nodeid, calls in tests if calls},
        "models": {ref: tally(calls) for ref, calls in sorted(by_model.items())},
        "total": tally(everything),
    }


def _print_summary(terminalreporter: Any, config: pytest.Config,
                   summary: dict[str, Any]) -> None:
    """The report as text (with ``--costbook-report``) and JSON (with its path)."""
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
