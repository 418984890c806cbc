"""The ledger commands: ``costbook report``, ``costbook budget status``, ``costbook reconcile``."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from costbook import Budget, Ledger, Usage, price
from costbook.cli._main import main
from unprivileged import unprivileged

UTC = timezone.utc


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2025, 6, day, hour, tzinfo=UTC)


@pytest.fixture
def path(tmp_path):
    """A ledger of five calls over three days, at three providers."""
    file = tmp_path / "spend.sqlite"
    with Ledger(file) as ledger:
        ledger.record(
            price(Usage(input_tokens=12000, output_tokens=800, cache_read_tokens=4000),
                  "gpt-4o-mini"), at=at(10), tags={"team": "search"},
        )
        ledger.record(
            price(Usage(input_tokens=3000, output_tokens=1500), "openai/gpt-4o-mini",
                  provider="openrouter"),
            at=at(10, 15), tags={"team": "ads"}, reported_cost=Decimal("0.00135"),
            request_id="gen-1",
        )
        ledger.record(
            price(Usage(input_tokens=5000, output_tokens=500), "openai/gpt-4o-mini",
                  provider="openrouter"),
            at=at(11), tags={"team": "search"}, reported_cost=Decimal("0.0011"),
            request_id="gen-2",
        )
        ledger.record(
            price(Usage(input_tokens=20000, output_tokens=2000, cache_write_tokens=8000),
                  "claude-3-5-haiku-20241022"), at=at(11, 9), tags={"team": "search"},
        )
        ledger.record(price(Usage(), "gpt-4o-mini"), at=at(12), status="error",
                      tags={"team": "ads"})
    return str(file)


def test_report_prints_a_table_by_model_with_a_total(capsys, path):
    code, out, err = run(capsys, "report", "--ledger", path)
    assert (code, err) == (0, "")
    assert out == (
        "model                      calls   input  output  cache read  cache write  reasoning"
        "      cost\n"
        "-------------------------  -----  ------  ------  ----------  -----------  ---------"
        "  --------\n"
        "claude-3-5-haiku-20241022      1  20,000   2,000           0        8,000          0"
        "   $0.0256\n"
        "gpt-4o-mini                    2  12,000     800       4,000            0          0"
        "  $0.00198\n"
        "openai/gpt-4o-mini             2   8,000   2,000           0            0          0"
        "   $0.0024\n"
        "total                          5  40,000   4,800       4,000        8,000          0"
        "  $0.02998\n"
    )


def test_report_groups_by_several_keys_within_dates(capsys, path):
    code, out, _ = run(capsys, "report", "--ledger", path, "--by", "day", "team",
                       "--since", "2025-06-11", "--until", "2025-06-12", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [(r["day"], r["team"], r["calls"], r["cost"]) for r in rows] == [
        ("2025-06-11", "search", 2, "0.02665"),
        ("2025-06-12", "ads", 1, "0"),
    ]
    assert rows[0]["usage"]["cache_write_tokens"] == 8000


def test_report_filters_by_tag_provider_and_status(capsys, path):
    _, out, _ = run(capsys, "report", "--ledger", path, "--by", "provider", "--tag",
                    "team=search", "--json")
    assert [(r["provider"], r["cost"]) for r in json.loads(out)] == [
        ("anthropic", "0.0256"), ("openai", "0.00198"), ("openrouter", "0.00105"),
    ]
    _, out, _ = run(capsys, "report", "--ledger", path, "--by", "status", "--provider",
                    "openai", "--json")
    assert [(r["status"], r["calls"]) for r in json.loads(out)] == [("error", 1), ("ok", 1)]
    _, out, _ = run(capsys, "report", "--ledger", path, "--status", "incomplete")
    assert out == f"no entries in {path} match\n"


def test_report_as_csv(capsys, path):
    code, out, _ = run(capsys, "report", "--ledger", path, "--by", "team", "--csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["team"], r["calls"], r["input_tokens"], r["cost"]) for r in rows] == [
        ("ads", "2", "3000", "0.00135"), ("search", "3", "37000", "0.02863"),
    ]
    assert list(rows[0]) == ["team", "calls", "input_tokens", "output_tokens",
                             "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens",
                             "reasoning_tokens", "audio_input_tokens", "audio_output_tokens",
                             "audio_cache_read_tokens", "images", "web_searches", "requests",
                             "cost"]


def test_report_reads_the_ledger_named_by_the_environment(capsys, path, monkeypatch):
    monkeypatch.setenv("COSTBOOK_LEDGER", path)
    code, out, _ = run(capsys, "report", "--by", "month", "--json")
    assert code == 0
    assert json.loads(out)[0]["month"] == "2025-06"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["report", "--ledger", "{tmp}/missing.sqlite"], "no ledger at {tmp}/missing.sqlite"),
        (["report", "--ledger", "{tmp}"], "is a directory"),
        (["report", "--ledger", "{path}", "--tag", "team"], "'team' is not a tag; write it"),
        (["report", "--ledger", "{path}", "--since", "June"], "'June' is not a date"),
        (["report", "--ledger", "{path}", "--json", "--csv"], "not allowed with argument"),
        (["budget", "status", "--ledger", "{path}"], "budget status needs a budget's NAME"),
        (["budget", "status", "--ledger", "{path}", "--limit", "ten"], "is not an amount"),
        (["reconcile", "--ledger", "{path}", "--tolerance", "some"], "neither an amount"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, path, tmp_path, argv, message):
    argv = [a.format(tmp=tmp_path, path=path) for a in argv]
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    _, err = capsys.readouterr()
    assert code == 2
    assert message.format(tmp=tmp_path) in err
    assert len(err.strip().splitlines()) == 1


def test_the_report_of_a_missing_ledger_creates_nothing(capsys, tmp_path):
    run(capsys, "report", "--ledger", str(tmp_path / "missing.sqlite"))
    assert list(tmp_path.iterdir()) == []


# -- budget status -------------------------------------------------------------------------------


def test_budget_status_shows_spent_reserved_and_remaining(capsys, path):
    with Ledger(path) as ledger:
        Budget("0.05", ledger=ledger, tags={"team": "search"}).reserve("0.01")
    code, out, _ = run(capsys, "budget", "status", "--ledger", path, "--limit", "0.05",
                       "--tag", "team=search")
    assert code == 0
    assert out == (
        "budget       amount\n"
        "---------  --------  ----------------------------------\n"
        "limit         $0.05  total (all time, tags team=search)\n"
        "spent      $0.02863\n"
        "reserved      $0.01  open reservations\n"
        "remaining  $0.01137\n"
    )


def test_budget_status_as_json_exits_1_when_exhausted(capsys, path):
    code, out, _ = run(capsys, "budget", "status", "--ledger", path, "--limit", "$0.02",
                       "--json")
    assert code == 1
    data = json.loads(out)
    assert data == {
        "limit": "0.02", "window": "total", "since": None, "tags": {}, "spent": "0.02998",
        "reserved": "0", "remaining": "-0.00998", "exhausted": True, "overrun": "0", "late": 0,
        "refused": 0, "risked": "0",
    }
    code, out, _ = run(capsys, "budget", "status", "--ledger", path, "--limit", "1",
                       "--window", "day", "--json")
    assert code == 0
    assert json.loads(out)["spent"] == "0"  # nothing recorded today
    assert json.loads(out)["since"].endswith("T00:00:00.000000Z")


# -- reconcile -----------------------------------------------------------------------------------


def test_reconcile_lists_drifted_calls_and_exits_1(capsys, path):
    code, out, _ = run(capsys, "reconcile", "--ledger", path)
    assert code == 1
    assert out == (
        "provider    model               calls  drifted  table cost  reported  difference\n"
        "----------  ------------------  -----  -------  ----------  --------  ----------\n"
        "openrouter  openai/gpt-4o-mini      2        1     $0.0024  $0.00245    $0.00005\n"
        "\n"
        "1 call(s) differ by more than 0:\n"
        "id  time                 model                          request id  table cost"
        "  reported  difference\n"
        "--  -------------------  -----------------------------  ----------  ----------"
        "  --------  ----------\n"
        " 3  2025-06-11T12:00:00  openrouter:openai/gpt-4o-mini  gen-2         $0.00105"
        "   $0.0011    $0.00005\n"
    )


def test_reconcile_within_tolerance_exits_0(capsys, path):
    code, out, _ = run(capsys, "reconcile", "--ledger", path, "--tolerance", "5%")
    assert code == 0
    assert out.endswith("\nno call differs by more than 5%\n")
    code, out, _ = run(capsys, "reconcile", "--ledger", path, "--tolerance", "0.00005", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["drifted"] == 0
    assert data["models"][0]["difference"] == "0.00005"


def test_reconcile_as_json(capsys, path):
    code, out, _ = run(capsys, "reconcile", "--ledger", path, "--json")
    assert code == 1
    data = json.loads(out)
    assert data["drifted"] == 1
    (model,) = data["models"]
    assert model["drifted"][0]["request_id"] == "gen-2"
    assert model["drifted"][0]["difference"] == "0.00005"



def test_budget_status_shows_commits_above_their_reservations(capsys, tmp_path):
    file = str(tmp_path / "over.sqlite")
    with Ledger(file) as ledger:
        budget = Budget("1", ledger=ledger)
        cost = price(Usage(input_tokens=100_000), "gpt-4o-mini")
        budget.reserve("0.005").commit(cost)
    code, out, _ = run(capsys, "budget", "status", "--ledger", file, "--limit", "1")
    assert code == 0
    assert "overrun     $0.01  committed above their reservations (included in spent)" in out
    code, out, _ = run(capsys, "budget", "status", "--ledger", file, "--limit", "1", "--json")
    assert (json.loads(out)["overrun"], json.loads(out)["late"]) == ("0.01", 0)


def test_budget_status_with_zeros_past_the_cents(capsys, path):
    code, out, err = run(capsys, "budget", "status", "--ledger", path, "--limit", "0.100")
    assert (code, err) == (0, "")
    assert "limit         $0.10  total (all time)" in out
    assert "remaining  $0.07002" in out


@pytest.mark.parametrize("limit", ["1E+999999", "9" * 40, "1e999999999999999999"])
def test_budget_status_with_a_huge_limit_is_one_line_and_exit_2(capsys, path, limit):
    with pytest.raises(SystemExit) as exited:
        run(capsys, "budget", "status", "--ledger", path, "--limit", limit)
    _, err = capsys.readouterr()
    assert exited.value.code == 2
    assert err.count("\n") == 1 and "more than 1000000000000000 dollars" in err


def test_reconcile_with_amounts_that_have_zeros_past_the_cents(capsys, tmp_path):
    file = str(tmp_path / "zeros.sqlite")
    with Ledger(file) as ledger:
        cost = price(Usage(input_tokens=100_000), "openai/gpt-4o-mini", provider="openrouter")
        ledger.record(cost, reported_cost=Decimal("0.0150"), request_id="gen-8")
        ledger.record(cost, reported_cost=Decimal("0.0300"), request_id="gen-9")
    code, out, err = run(capsys, "reconcile", "--ledger", file)
    assert (code, err) == (1, "")
    assert "openai/gpt-4o-mini      2        1       $0.03    $0.045      $0.015" in out


@pytest.mark.parametrize("tolerance", ["1e999999999%", "1e999999999", "-1e999999999%",
                                       "1e99999999999999999999%", "NaN%", "Infinity"])
def test_reconcile_with_an_absurd_tolerance_is_one_line_and_exit_2(capsys, path, tolerance):
    code, out, err = run(capsys, "reconcile", "--ledger", path, f"--tolerance={tolerance}")
    assert (code, out) == (2, "")
    assert err.startswith("costbook: error: ") and err.count("\n") == 1
    assert "tolerance" in err


def test_the_commands_run_as_a_program(path):
    done = subprocess.run(
        [sys.executable, "-m", "costbook", "report", "--ledger", path, "--by", "provider"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[2].split() == [
        "anthropic", "1", "20,000", "2,000", "0", "8,000", "0", "$0.0256"
    ]


def test_report_of_counts_past_a_64_bit_integer(tmp_path, capsys):
    file = tmp_path / "big.sqlite"
    with Ledger(file) as ledger:
        for _ in range(2):
            ledger.record(price(Usage(input_tokens=5 * 10**18), "gpt-4o-mini"))
    code, out, err = run(capsys, "report", "--ledger", str(file))
    assert code == 0 and err == ""
    assert "10,000,000,000,000,000,000" in out
    code, out, _ = run(capsys, "report", "--ledger", str(file), "--json")
    assert json.loads(out)[0]["usage"]["input_tokens"] == 10**19


def test_report_says_when_a_spool_is_waiting(tmp_path, capsys):
    file = tmp_path / "spooled.sqlite"
    with Ledger(file, timeout=0.1) as ledger:
        ledger.record(price(Usage(input_tokens=10), "gpt-4o-mini"))
        lock = sqlite3.connect(file, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        from costbook.ledger._ledger import make_entry

        with pytest.warns(RuntimeWarning):
            ledger.keep(make_entry(price(Usage(input_tokens=20), "gpt-4o-mini")))
        lock.execute("COMMIT")
        lock.close()
    code, out, err = run(capsys, "report", "--ledger", str(file))
    assert code == 0
    assert f"1 entry waits in {file}.spool" in err
    assert " 10 " in out


@pytest.mark.parametrize("key", ["Model", "tag:Team", "user"])
def test_report_by_a_key_that_is_neither_built_in_nor_a_tag_exits_2(capsys, path, key):
    code, out, err = run(capsys, "report", "--ledger", path, "--by", "model", key)
    assert (code, out) == (2, "")
    assert err == (
        f"costbook: error: cannot group by {key!r}: it is neither a built-in key (model, "
        f"provider, day, month, status) nor a tag key in {path} (tag keys: team)\n"
    )


def test_report_by_a_tag_key_of_the_ledger_still_groups(capsys, path):
    code, out, _ = run(capsys, "report", "--ledger", path, "--by", "tag:team", "--csv")
    assert code == 0
    assert [line.split(",")[:2] for line in out.splitlines()[1:]] == [["ads", "2"], ["search", "3"]]


# --- a ledger that cannot be written can still be read ------------------------------------

def _as_unprivileged(*argv: str) -> list[str]:
    """A command run as a user whom permission bits bind (root ignores them)."""
    return unprivileged([sys.executable, "-m", "costbook", *argv])


@pytest.fixture(params=[0o555, 0o777], ids=["read-only folder", "writable folder"])
def read_only_ledger(path, request):
    """The five-call ledger as a read-only file, in a folder nobody may write, or in one
    anybody may."""
    import os
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="costbook-ro-")  # outside root's private tmp_path
    file = os.path.join(folder, "spend.sqlite")
    shutil.copyfile(path, file)
    os.chmod(file, 0o444)
    os.chmod(folder, request.param)
    yield file
    os.chmod(folder, 0o755)
    shutil.rmtree(folder)


@pytest.mark.parametrize("argv", [
    ["report"], ["report", "--by", "team"], ["budget", "status", "--limit", "1"], ["reconcile"],
])
def test_read_commands_read_a_ledger_that_cannot_be_written(capsys, path, read_only_ledger,
                                                            argv):
    from pathlib import Path

    code, out, _ = run(capsys, *argv, "--ledger", path)
    before = Path(read_only_ledger).read_bytes()
    done = subprocess.run(_as_unprivileged(*argv, "--ledger", read_only_ledger),
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (code, out, "")
    assert "$" in out
    assert Path(read_only_ledger).read_bytes() == before


def test_report_and_budget_status_show_refused_calls_and_the_spend_they_risked(capsys, path):
    with Ledger(path) as ledger:
        ledger.record(price(Usage(), "gpt-4o-mini"), at=at(12), status="refused",
                      estimate="0.0123", tags={"team": "search", "refused_by": "max_cost $0.01"})
    code, out, _ = run(capsys, "report", "--ledger", path, "--by", "status")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[-3:] == ["cost", "refused", "risked"]
    assert lines[4].split()[:2] == ["refused", "0"] and lines[4].split()[-2:] == ["1",
                                                                                  "$0.0123"]
    assert lines[-1].split()[0] == "total" and lines[-1].split()[-2:] == ["1", "$0.0123"]
    code, out, _ = run(capsys, "report", "--ledger", path, "--by", "status", "--json")
    refused = [row for row in json.loads(out) if row["status"] == "refused"]
    assert [(r["calls"], r["cost"], r["refused"], r["risked"]) for r in refused] == [
        (0, "0", 1, "0.0123")]
    code, out, _ = run(capsys, "budget", "status", "--ledger", path, "--limit", "0.05",
                       "--tag", "team=search")
    assert out.splitlines()[-1] == (
        "refused     $0.0123  1 call refused before sending would have risked it (not spent)")
    assert "spent      $0.02863" in out  # as before the refusal


def test_model_names_and_tags_from_answers_reach_the_terminal_escaped(tmp_path, capsys):
    from costbook import Cost

    title = "\x1b]0;PWNED\x07"
    file = tmp_path / "spend.sqlite"
    with Ledger(file) as ledger:
        answer = Cost(total=Decimal("0.002"), items={"reported": Decimal("0.002")},
                      model=f"acme/{title}model\u202e", provider="openrouter",
                      usage=Usage(input_tokens=100, output_tokens=20))
        ledger.record(answer, status="unpriced", reported_cost="0.002",
                      tags={"user": f"{title}eve\nx"})
    for argv in (["report"], ["report", "--by", "model", "user"], ["report", "--csv"],
                 ["report", "--by", "user", "--json"]):
        code, out, err = run(capsys, *argv, "--ledger", str(file))
        assert code == 0, err
        assert not any(c in out + err for c in "\x1b\x07\u202e"), argv
    code, out, _ = run(capsys, "report", "--by", "model", "user", "--ledger", str(file))
    assert out.splitlines()[2].startswith(
        "acme/\\x1b]0;PWNED\\x07model\\u202e  \\x1b]0;PWNED\\x07eve\\nx      1")
    code, out, _ = run(capsys, "report", "--by", "user", "--json", "--ledger", str(file))
    assert "PWNED" in json.loads(out)[0]["user"]
