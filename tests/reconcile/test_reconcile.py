"""The ledger beside the providers' usage and cost reports, read from a local server that
speaks OpenAI's, Anthropic's and OpenRouter's report APIs: agreement, untracked calls, a
wrong price, extraction errors, paging, null groups, batch rows, a 429 and a 401."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from chromium import browser  # noqa: F401  (the session's browser fixture)
from costbook import Ledger, Usage, price
from costbook.cli._main import main
from costbook.reconcile._import import import_usage
from costbook.reconcile._reconcile import reconcile_with
from provider_reports_server import (
    ADMIN_KEY,
    ProviderReportsServer,
    anthropic_cost_row,
    anthropic_usage_row,
    openai_cost_row,
    openai_usage_row,
)

DAYS = [date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 4)]
SNAPSHOT = "gpt-4o-mini-2024-07-18"


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("OPENAI_ADMIN_KEY", ADMIN_KEY)
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", ADMIN_KEY)
    monkeypatch.setenv("OPENROUTER_API_KEY", ADMIN_KEY)
    with ProviderReportsServer(page_size=2) as reports:
        yield reports


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite") as book:
        yield book


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=timezone.utc)


def track_openai_day(ledger, server, day, calls=2, *, report_calls=None, charge=None):
    """``calls`` gpt-4o-mini calls recorded in the ledger on ``day``; the provider's report
    says ``report_calls`` (default the same) of them, at ``charge`` per million input (the
    table's $0.15 by default)."""
    usage = Usage(input_tokens=10_000, cache_read_tokens=2_000, output_tokens=500)
    for _ in range(calls):
        ledger.record(price(usage, SNAPSHOT, provider="openai"), at=noon(day))
    n = calls if report_calls is None else report_calls
    server.openai_usage[day] = [
        openai_usage_row(SNAPSHOT, input_tokens=10_000 * n, cached=2_000 * n,
                         output_tokens=500 * n, requests=n, project=None),
    ]
    rate = Decimal("0.15") if charge is None else Decimal(charge)
    server.openai_costs[day] = [
        openai_cost_row(f"{SNAPSHOT}, input", str(rate * 8_000 * n / 1_000_000
                                                    + Decimal("0.075") * 2_000 * n / 1_000_000)),
        openai_cost_row(f"{SNAPSHOT}, output", str(Decimal("0.6") * 500 * n / 1_000_000)),
    ]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_window_that_agrees_exactly_over_several_pages(server, ledger, capsys):
    for day in DAYS:
        track_openai_day(ledger, server, day)
    result = reconcile_with("openai", since=DAYS[0], until=DAYS[-1], ledger=ledger,
                            base_url=server.url + "/v1")
    assert result.ok and result.differences == {"untracked": 0, "price": 0, "extraction": 0}
    assert [g.group for g in result.groups] == [
        {"day": d.isoformat(), "model": "gpt-4o-mini"} for d in DAYS]
    group = result.groups[0]
    assert (group.calls, group.reported_requests) == (2, 2)
    assert group.cost == group.reported_priced == group.reported_cost == Decimal("0.0033")
    assert result.totals() == {"ledger": Decimal("0.0099"), "priced": Decimal("0.0099"),
                               "reported": Decimal("0.0099")}
    pages = [r for r in server.requests if r["path"].endswith("/completions")]
    assert len(pages) == 2 and pages[1]["query"]["page"] == ["page_1"]
    assert pages[0]["query"]["group_by"] == ["model", "project_id", "batch", "service_tier"]
    code, out, err = run(capsys, "reconcile", "--with", "openai", "--since", "2026-11-02",
                         "--until", "2026-11-04", "--base-url", server.url + "/v1",
                         "--ledger", ledger.location)
    assert code == 0, err
    assert "agree within the tolerance" in out
    assert ADMIN_KEY not in out + err


def test_untracked_calls_are_named_and_import_makes_the_ledger_match(server, ledger, capsys):
    track_openai_day(ledger, server, DAYS[0])
    track_openai_day(ledger, server, DAYS[1], calls=1, report_calls=3)
    server.openai_usage[DAYS[2]] = [openai_usage_row(SNAPSHOT, input_tokens=4_000,
                                                     output_tokens=100, requests=1,
                                                     project="proj_ops")]
    server.openai_costs[DAYS[2]] = [openai_cost_row(f"{SNAPSHOT}, input", "0.0006",
                                                    project="proj_ops"),
                                    openai_cost_row(f"{SNAPSHOT}, output", "0.00006",
                                                    project="proj_ops")]
    code, out, _ = run(capsys, "reconcile", "--with", "openai", "--since", "2026-11-02",
                       "--until", "2026-11-04", "--base-url", server.url + "/v1",
                       "--ledger", ledger.location, "--json")
    assert code == 1
    found = json.loads(out)
    assert found["differences"] == {"untracked": 2, "price": 0, "extraction": 0}
    day2 = found["groups"][1]
    assert day2["ledger"]["calls"] == 1 and day2["reported"]["requests"] == 3
    assert day2["untracked_usage"]["input_tokens"] == 20_000

    code, out, err = run(capsys, "import", "--with", "openai", "--since", "2026-11-02",
                         "--until", "2026-11-04", "--base-url", server.url + "/v1",
                         "--ledger", ledger.location)
    assert code == 0, err
    assert "imported 2 entries ($0.00396); 1 group(s) were complete already" in out
    imported = ledger.entries(status="imported")
    assert [(e.time.date(), e.model, e.tags) for e in imported] == [
        (DAYS[1], "gpt-4o-mini", {}), (DAYS[2], "gpt-4o-mini", {"project": "proj_ops"})]
    assert imported[0].usage == Usage(input_tokens=20_000, cache_read_tokens=4_000,
                                      output_tokens=1_000, requests=2)
    assert imported[0].total == imported[0].reported_cost == Decimal("0.0033")
    assert imported[0].estimate_high == Decimal("0.0033")  # costbook's price beside it
    reported = Decimal("0.0033") + Decimal("0.00495") + Decimal("0.00066")
    assert ledger.total(since=DAYS[0], until=DAYS[-1], provider="openai") == reported
    code, out, _ = run(capsys, "import", "--with", "openai", "--since", "2026-11-02",
                       "--until", "2026-11-04", "--base-url", server.url + "/v1",
                       "--ledger", ledger.location)
    assert "imported 0 entries ($0.00); 3 group(s) were complete already" in out
    assert len(ledger.entries(status="imported")) == 2


def test_a_wrong_price_in_the_tables_is_attributed_to_the_price(server, ledger):
    for day in DAYS:
        track_openai_day(ledger, server, day, charge="0.20")  # the provider charges more
    result = reconcile_with("openai", since=DAYS[0], until=DAYS[-1], ledger=ledger,
                            base_url=server.url + "/v1", tolerance="0.5")
    assert result.differences == {"untracked": 0, "price": 3, "extraction": 0}
    assert result.groups[0].price_difference == Decimal("0.0008")  # 16,000 x $0.05/M


def test_tokens_the_ledger_misread_are_an_extraction_error(server, ledger):
    track_openai_day(ledger, server, DAYS[0])
    server.openai_usage[DAYS[0]][0]["output_tokens"] = 4_000  # same calls, more output
    result = reconcile_with("openai", since=DAYS[0], until=DAYS[0], ledger=ledger,
                            base_url=server.url + "/v1")
    assert result.groups[0].differences == ["extraction", "price"]


def test_an_import_of_misread_tokens_prices_them_exactly_beside_the_reported_cost(
        server, ledger):
    track_openai_day(ledger, server, DAYS[0])
    server.openai_usage[DAYS[0]][0]["output_tokens"] = 4_000  # 3,000 more than recorded
    server.openai_costs[DAYS[0]].append(openai_cost_row(f"{SNAPSHOT}, output", "0.0018"))
    result = import_usage("openai", since=DAYS[0], until=DAYS[0], ledger=ledger,
                          base_url=server.url + "/v1")
    [entry] = result.added
    assert entry.usage == Usage(output_tokens=3_000, requests=0)
    assert entry.total == entry.reported_cost == Decimal("0.0018")
    # costbook's price of the missing part: 3,000 output tokens at $0.60/M, exactly
    assert entry.estimate_high == Decimal("0.0018")


def test_batch_rows_null_groups_and_a_429(server, ledger):
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    ledger.record(price(usage, "gpt-4o-mini", provider="openai", service_tier="batch"),
                  at=noon(DAYS[0]))
    server.openai_usage[DAYS[0]] = [
        openai_usage_row(SNAPSHOT, input_tokens=1_000_000, output_tokens=1_000_000,
                         batch=True),
        openai_usage_row(None, input_tokens=0, output_tokens=0, requests=0),  # a null group
    ]
    server.openai_costs[DAYS[0]] = [openai_cost_row(None, "0.375")]
    server.throttle["/v1/organization/usage/completions"] = 1
    result = reconcile_with("openai", since=DAYS[0], until=DAYS[0], ledger=ledger,
                            base_url=server.url + "/v1", by=["day"])
    [group] = result.groups
    assert group.reported_priced == Decimal("0.375")  # priced at the batch tier
    assert group.reported_cost == Decimal("0.375") and result.ok
    assert [r["path"] for r in server.requests].count("/v1/organization/usage/completions") == 2


def test_a_refused_admin_key_is_one_line_without_the_key(server, ledger, capsys, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", "sk-ant-admin-wrong-key")
    code, out, err = run(capsys, "reconcile", "--with", "anthropic", "--since", "2026-11-02",
                         "--base-url", server.url, "--ledger", ledger.location,
                         "--until", "2026-11-02")
    assert code == 2
    assert err.startswith("costbook: error: GET http://127.0.0.1:")
    assert "HTTP 401: the provider refused the key in $ANTHROPIC_ADMIN_KEY" in err
    assert "sk-ant-admin-wrong-key" not in out + err
    monkeypatch.delenv("ANTHROPIC_ADMIN_KEY")
    code, _, err = run(capsys, "reconcile", "--with", "anthropic", "--since", "2026-11-02",
                       "--base-url", server.url, "--ledger", ledger.location)
    assert code == 2 and "no admin key: set $ANTHROPIC_ADMIN_KEY" in err


def test_anthropic_cache_writes_web_searches_and_cents(server, ledger):
    day = DAYS[0]
    usage = Usage(input_tokens=4_000, cache_read_tokens=1_000, cache_write_tokens=1_500,
                  cache_write_1h_tokens=500, output_tokens=400)
    for _ in range(3):
        ledger.record(price(usage, "claude-sonnet-4-5", provider="anthropic"), at=noon(day))
    one = price(usage, "claude-sonnet-4-5", provider="anthropic").total
    server.anthropic_usage[day] = [anthropic_usage_row(
        "claude-sonnet-4-5-20250929", uncached=4_500, output=1_200, cache_read=3_000,
        write_5m=3_000, write_1h=1_500, workspace="wrk_1")]
    cents = str(one * 3 * 100)
    server.anthropic_costs[day] = [anthropic_cost_row(
        "claude-sonnet-4-5-20250929", cents, description="Claude Sonnet 4.5 Usage",
        workspace="wrk_1", token_type="uncached_input_tokens")]
    result = reconcile_with("anthropic", since=day, until=day, ledger=ledger,
                            base_url=server.url, by=["day", "model"])
    [group] = result.groups
    assert group.group == {"day": "2026-11-02", "model": "claude-sonnet-4-5-20250929"}
    assert group.reported_requests is None  # Anthropic's report counts no requests
    assert group.reported_usage.as_dict() == {**(usage + usage + usage).as_dict(),
                                              "requests": 0}  # not counted by the report
    assert group.reported_priced == group.reported_cost == group.cost == one * 3
    assert result.ok
    [request] = [r for r in server.requests if r["path"].endswith("/messages")]
    assert request["query"]["group_by[]"] == ["model", "workspace_id", "service_tier",
                                             "context_window"]


def test_openrouter_activity_per_day(server, ledger):
    usage = Usage(input_tokens=1_000, output_tokens=200)
    cost = price(usage, "openai/gpt-4o-mini", provider="openrouter")
    ledger.record(cost, at=noon(DAYS[0]))
    server.openrouter_activity[DAYS[0]] = [
        {"model": "openai/gpt-4o-mini", "model_permaslug": "openai/gpt-4o-mini-2024-07-18",
         "endpoint_id": "e1", "provider_name": "OpenAI", "usage": float(cost.total),
         "byok_usage_inference": 0, "requests": 1, "prompt_tokens": 1_000,
         "completion_tokens": 200, "reasoning_tokens": 0}]
    result = reconcile_with("openrouter", since=DAYS[0], until=DAYS[1], ledger=ledger,
                            base_url=server.url + "/api/v1")
    [group] = result.groups
    assert group.reported_cost == group.cost == cost.total and result.ok
    assert [r["query"]["date"] for r in server.requests] == [["2026-11-02"], ["2026-11-03"]]


def test_the_latest_reconciliation_is_kept_where_the_ledger_can_be_written(server, ledger,
                                                                           capsys):
    track_openai_day(ledger, server, DAYS[0])
    track_openai_day(ledger, server, DAYS[1], calls=1, report_calls=3)
    code, out, _ = run(capsys, "reconcile", "--with", "openai", "--since", "2026-11-02",
                       "--until", "2026-11-03", "--base-url", server.url + "/v1",
                       "--ledger", ledger.location, "--json")
    assert code == 1
    kept = ledger.reconciliations()["openai"]
    assert kept.pop("made").startswith(str(datetime.now(timezone.utc).year))
    assert kept == json.loads(out)
    assert kept["totals"] == {"ledger": "0.00495", "priced": "0.00825",
                              "reported": "0.00825"}
    # the next run replaces it, kept per day even when grouped otherwise; keep=False and
    # a read-only ledger keep nothing
    result = reconcile_with("openai", since=DAYS[0], until=DAYS[1], ledger=ledger,
                            base_url=server.url + "/v1", by=["model"])
    assert [g.group for g in result.groups] == [{"model": "gpt-4o-mini"}]
    kept = ledger.reconciliations()["openai"]
    assert kept["by"] == ["day", "model"]
    assert [(g["day"], g["model"], g["differences"]) for g in kept["groups"]] == [
        ("2026-11-02", "gpt-4o-mini", []), ("2026-11-03", "gpt-4o-mini", ["untracked"])]
    reconcile_with("openai", since=DAYS[0], until=DAYS[0], ledger=ledger,
                   base_url=server.url + "/v1")
    assert ledger.reconciliations()["openai"]["until"] == "2026-11-02"
    reconcile_with("openai", since=DAYS[1], until=DAYS[1], ledger=ledger, keep=False,
                   base_url=server.url + "/v1")
    with Ledger(ledger.location, read_only=True) as reader:
        result = reconcile_with("openai", since=DAYS[1], until=DAYS[1], ledger=reader,
                                base_url=server.url + "/v1")
        assert not result.ok
    assert ledger.reconciliations()["openai"]["until"] == "2026-11-02"
    assert ADMIN_KEY not in json.dumps(ledger.reconciliations())


def test_the_html_report_shows_budgets_imported_spend_and_the_reconciliation(
        server, ledger, capsys, tmp_path, browser):  # noqa: F811
    track_openai_day(ledger, server, DAYS[0])
    track_openai_day(ledger, server, DAYS[1], calls=1, report_calls=3)
    ledger.set_budget("openai-month", "0.01", window="total", tags={})
    argv = ["--with", "openai", "--since", "2026-11-02", "--until", "2026-11-03",
            "--base-url", server.url + "/v1", "--ledger", ledger.location]
    assert run(capsys, "import", *argv)[0] == 0
    assert run(capsys, "reconcile", *argv)[0] == 0  # the import made them agree
    page_path = tmp_path / "report.html"
    code, _, err = run(capsys, "report", "--ledger", ledger.location, "--html",
                         str(page_path))
    assert code == 0, err
    page = browser.open(page_path)
    try:
        assert page.problems() == []
        assert page.requests() == [page_path.resolve().as_uri()]
        text = "(id) => document.getElementById(id).textContent"
        assert page.evaluate(f"({text})('total-exact')") == "$0.00825"
        assert page.evaluate(f"({text})('imported')") == "$0.0033"
        assert page.evaluate(f"({text})('tracked')") == "$0.00495"
        section = page.evaluate("""(() => {
            const s = document.getElementById('reconciliation-openai');
            return {facts: s.querySelector('.facts').textContent,
                    rows: [...s.querySelectorAll('table.reconciled tbody tr')].map(
                        r => [...r.cells].map(c => c.textContent)),
                    bars: [...s.querySelectorAll('svg.chart rect')].map(
                        r => [r.getBBox().height > 0, r.querySelector('title').textContent])};
        })()""")
        assert section["facts"] == ("Recorded $0.00825; the provider's usage priced by "
                                    "costbook $0.00825; reported cost $0.00825.")
        assert section["rows"] == [
            ["2026-11-02", "2", "2", "$0.0033", "$0.00", "$0.0033", "$0.0033", "$0.00", "ok"],
            ["2026-11-03", "2", "3", "$0.00495", "$0.0033", "$0.00495", "$0.00495", "$0.00",
             "ok"],
        ]
        assert section["bars"] == [
            [True, "2026-11-02: recorded $0.0033"], [True, "2026-11-02: reported $0.0033"],
            [True, "2026-11-03: recorded $0.00495"], [True, "2026-11-03: reported $0.00495"]]
        budget = page.evaluate("""(() => {
            const s = document.getElementById('burn-openai-month');
            return [s.querySelector('h2').textContent, s.querySelector('.facts').textContent,
                    !!document.getElementById('burn-openai-month-chart')];
        })()""")
        assert budget == ["Budget openai-month: burn-down",
                          "Limit $0.01 over all time: spent $0.00825, reserved $0.00, "
                          "remaining $0.00175.", True]
    finally:
        page.close()
