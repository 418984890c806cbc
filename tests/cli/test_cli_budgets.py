"""``costbook budget set|list|status NAME|delete``: named budgets kept in the ledger."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from costbook import Budget, Ledger, Usage, price
from costbook.cli._main import main


def run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def path(tmp_path):
    """A ledger with $0.30 of spend this month: half of it tagged team=search."""
    file = tmp_path / "spend.sqlite"
    cost = price(Usage(input_tokens=1_000_000), "gpt-4o-mini")
    now = datetime.now(timezone.utc)
    with Ledger(file) as ledger:
        ledger.record(cost, tags={"team": "search"}, at=now)
        ledger.record(cost, tags={"team": "ads"}, at=now)
    return str(file)


def test_set_list_status_and_delete_round_trip(capsys, path):
    code, out, _ = run(capsys, "budget", "set", "search", "--limit", "0.20", "--window",
                       "month", "--tag", "team=search", "--ledger", path)
    assert code == 0
    assert out == f"budget search: $0.20 per month (UTC), tags team=search, kept in {path}\n"
    code, out, _ = run(capsys, "budget", "set", "all", "--limit", "$0.25", "--ledger", path)
    assert code == 0
    code, out, _ = run(capsys, "budget", "list", "--ledger", path)
    assert code == 0
    assert out.splitlines() == [
        "name    limit  window  tags         spent  reserved  remaining",
        "------  -----  ------  -----------  -----  --------  ---------  ---------",
        "all     $0.25  total   -            $0.30     $0.00     -$0.05  exhausted",
        "search  $0.20  month   team=search  $0.15     $0.00      $0.05",
    ]
    code, out, _ = run(capsys, "budget", "status", "search", "--ledger", path)
    assert code == 0
    assert "budget search, since " in out and "$0.15" in out and "$0.05" in out
    code, out, _ = run(capsys, "budget", "status", "all", "--ledger", path, "--json")
    assert code == 1  # exhausted
    status = json.loads(out)
    assert (status["name"], status["limit"], status["spent"], status["remaining"]) == (
        "all", "0.25", "0.3", "-0.05")
    code, out, _ = run(capsys, "budget", "delete", "all", "--ledger", path, "--json")
    assert code == 0
    assert json.loads(out) == {"name": "all", "limit": "0.25", "window": "total", "tags": {}}
    with Ledger(path, read_only=True) as ledger:
        assert list(ledger.budgets()) == ["search"]
        assert Budget.named("search", ledger=ledger).limit == Decimal("0.20")


def test_setting_an_existing_name_replaces_it_and_says_so(capsys, path):
    run(capsys, "budget", "set", "team", "--limit", "10", "--window", "day", "--ledger", path)
    code, out, _ = run(capsys, "budget", "set", "team", "--limit", "12.5", "--ledger", path,
                       "--json")
    assert code == 0
    assert json.loads(out) == {
        "budget": {"name": "team", "limit": "12.5", "window": "total", "tags": {}},
        "replaced": {"name": "team", "limit": "10", "window": "day", "tags": {}}}
    code, out, _ = run(capsys, "budget", "set", "team", "--limit", "3", "--ledger", path)
    assert out.endswith("; it replaces $12.50 over all time\n")


def test_the_limit_form_of_status_still_works(capsys, path):
    code, out, _ = run(capsys, "budget", "status", "--limit", "1", "--window", "month",
                       "--tag", "team=ads", "--ledger", path, "--json")
    assert code == 0
    assert json.loads(out)["spent"] == "0.15" and "name" not in json.loads(out)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["budget", "status", "nope"], "no budget named 'nope' in {path}; the budgets there: "
                                       "kept"),
        (["budget", "delete", "nope"], "no budget named 'nope'"),
        (["budget", "status", "kept", "--limit", "3"], "budget status kept reads the limit, "
                                                       "window and tags kept under that name;"
                                                       " drop --limit"),
        (["budget", "set", "bad name", "--limit", "1"], "budget name 'bad name' is not valid"),
        (["budget", "set", "x", "--limit", "ten"], "is not an amount"),
        (["budget", "set", "x"], "the following arguments are required: --limit"),
        (["budget", "set", "x", "--limit", "1", "--window", "week"], "invalid choice"),
        (["budget", "set", "x", "--limit", "1", "--tag", "team"], "'team' is not a tag"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, path, argv, message):
    run(capsys, "budget", "set", "kept", "--limit", "1", "--ledger", path)
    code, out, err = run(capsys, *argv, "--ledger", path)
    assert code == 2, out
    assert message.format(path=path) in err
    assert len(err.strip().splitlines()) == 1
    with Ledger(path, read_only=True) as ledger:
        assert list(ledger.budgets()) == ["kept"]


def test_list_of_a_ledger_without_budgets_says_how_to_add_one(capsys, path):
    code, out, _ = run(capsys, "budget", "list", "--ledger", path)
    assert code == 0
    assert out == (f"no budgets kept in {path}; add one with costbook budget set NAME "
                   "--limit AMOUNT\n")
    code, out, _ = run(capsys, "budget", "list", "--ledger", path, "--json")
    assert json.loads(out) == []


def test_every_option_has_help(capsys):
    for command in ("set", "list", "delete", "status"):
        code, out, _ = run(capsys, "budget", command, "--help")
        assert code == 0
        assert "--ledger PATH" in out and "--json" in out
