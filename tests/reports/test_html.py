"""The HTML report, rendered in a real headless Chromium: what it shows, that it shows it
exactly, and that it asks for nothing outside the file."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from chromium import browser  # noqa: F401  (the session's browser fixture)
from costbook import Ledger, Usage, price
from costbook.pricing._money import usd
from costbook.reports._html import html_report

UTC = timezone.utc
HOSTILE = '<script>alert("x")</script> & \'quotes\''
NOW = datetime(2025, 6, 20, 12, tzinfo=UTC)


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2025, 6, day, hour, tzinfo=UTC)


def costbook_cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "costbook", *argv], capture_output=True,
                          text=True, check=True, timeout=120)


@pytest.fixture
def ledger_path(tmp_path):
    """Calls backdated over five days, at three providers, one with a reported cost that
    differs, and a tag value and a model id that are HTML."""
    path = tmp_path / "spend.sqlite"
    with Ledger(path) as ledger:
        mini = price(Usage(input_tokens=1_000_000, output_tokens=100_000), "gpt-4o-mini")
        ledger.record(mini, at=at(3), tags={"team": "search"})
        ledger.record(mini, at=at(3, 18), tags={"team": HOSTILE})
        ledger.record(price(Usage(input_tokens=200_000, output_tokens=10_000), "gpt-4o"),
                      at=at(5), tags={"team": "ads"}, request_id="chatcmpl-9")
        routed = price(Usage(input_tokens=50_000, output_tokens=5_000), "openai/gpt-4o-mini",
                       provider="openrouter")
        ledger.record(routed, at=at(7), reported_cost=Decimal("0.0111"), request_id="gen-1")
        ledger.record(price(Usage(), "claude-3-5-haiku-20241022"), at=at(7), status="error")
    return path


def test_the_page_shows_the_exact_total_charts_and_tables_and_asks_for_nothing(
    ledger_path, tmp_path, browser  # noqa: F811
):
    page_path = tmp_path / "report.html"
    done = costbook_cli("report", "--ledger", str(ledger_path), "--html", str(page_path),
                        "--by", "model", "team", "--limit", "5")
    with Ledger(ledger_path, read_only=True) as ledger:
        total = ledger.total()
    assert total == Decimal("1.0305")
    assert done.stdout.startswith(f"wrote {page_path}: 5 calls, $1.0305, ")
    page = browser.open(page_path)
    try:
        assert page.problems() == []
        assert page.requests() == [page_path.resolve().as_uri()]  # nothing left the file
        assert page.evaluate("document.getElementById('total').textContent") == "$1.03"
        assert page.evaluate("document.getElementById('total').title") == "exactly $1.0305"
        assert page.evaluate("document.getElementById('total-exact').textContent") \
            == usd(total) == "$1.0305"
        assert page.evaluate("document.getElementById('calls').textContent") == "5"
        # the stacked bars: one per (day, model) with spend, each with a height, on its own day
        bars = page.evaluate("""[...document.querySelectorAll('#daily-chart rect')].map(r =>
            ({h: r.getBBox().height, title: r.querySelector('title').textContent}))""")
        assert bars and all(bar["h"] > 0 for bar in bars)
        assert sorted(bar["title"].split(" · ")[0] for bar in bars) == [
            "2025-06-03", "2025-06-05", "2025-06-07"]
        assert "2025-06-03 · gpt-4o-mini: $0.42 (2 calls)" in [b["title"] for b in bars]
        legend = page.evaluate("[...document.querySelectorAll('.legend li')].map(l => "
                               "l.textContent)")
        assert legend[:4] == ["gpt-4o", "gpt-4o-mini", "openai/gpt-4o-mini",
                              "claude-3-5-haiku-20241022"]
        ticks = page.evaluate("[...document.querySelectorAll('#daily-chart .tick')].map(t => "
                              "t.textContent)")
        assert "$0" in ticks and "06-03" in ticks and "06-07" in ticks
        burn = page.evaluate("document.querySelector('#burn-chart path.remaining')"
                             ".getAttribute('d')")
        assert burn.startswith("M") and "V" in burn
        # the report table holds the rows of `report --json`, and the page embeds them
        embedded = json.loads(page.evaluate(
            "document.getElementById('costbook-report').textContent"))
        printed = json.loads(costbook_cli("report", "--ledger", str(ledger_path), "--json",
                                          "--by", "model", "team").stdout)
        assert embedded == printed
        cells = page.evaluate("[...document.querySelectorAll('#report-table tbody tr')]"
                              ".map(r => [...r.cells].map(c => c.textContent))")
        assert [row[-1] for row in cells] == [usd(Decimal(r["cost"])) for r in printed] \
            + ["$1.0305"]
        # HTML from the ledger is shown as text, never run
        assert page.evaluate("document.scripts.length") == 1
        assert HOSTILE in page.evaluate("document.body.innerText")
        costliest = page.evaluate("[...document.querySelectorAll('#costliest-table tbody tr')]"
                                  ".map(r => r.cells[3].textContent)")
        assert costliest[0] == "gpt-4o" and len(costliest) == 5
        drift = page.evaluate("[...document.querySelectorAll('#drift-table td')].map(c => "
                              "c.textContent)")
        assert drift == ["openrouter", "openai/gpt-4o-mini", "1", "1", "$0.0105", "$0.0111",
                         "$0.0006"]
        text = page.evaluate("document.body.innerText")
        assert str(ledger_path) in text and "Made " in text
        light = page.screenshot(tmp_path / "report-light.png")
        dark = page.screenshot(tmp_path / "report-dark.png", dark=True)
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") \
            == "rgb(18, 22, 28)"
        assert page.pdf().startswith(b"%PDF")
    finally:
        page.close()
    print(f"\nscreenshots: {light} {dark}")
    assert light.stat().st_size > 10_000 and dark.stat().st_size > 10_000


def test_an_empty_ledger_says_so(tmp_path, browser):  # noqa: F811
    path = tmp_path / "empty.sqlite"
    Ledger(path).close()
    page_path = tmp_path / "empty.html"
    with Ledger(path, read_only=True) as ledger:
        page_path.write_text(html_report(ledger, now=NOW), encoding="utf-8")
    page = browser.open(page_path)
    try:
        assert page.problems() == []
        assert page.evaluate("document.getElementById('empty').textContent").startswith(
            f"No entries in {path}")
        assert page.evaluate("document.querySelectorAll('svg.chart').length") == 0
        assert json.loads(page.evaluate(
            "document.getElementById('costbook-report').textContent")) == []
        print(f"\nscreenshot: {page.screenshot(tmp_path / 'empty.png')}")
    finally:
        page.close()


def test_filters_that_match_nothing_say_so_with_the_window(ledger_path):
    with Ledger(ledger_path, read_only=True) as ledger:
        page = html_report(ledger, since=at(10).date(), until=at(12).date(), tags={"team": "x"},
                           now=NOW)
    assert f"No entries in {ledger_path} match" in page
    assert "Window: from 2025-06-10 to 2025-06-12 (included); tag team=x; by model" in page


def test_ten_thousand_entries_make_a_small_page_that_renders_quickly(tmp_path, browser):  # noqa: F811
    path = tmp_path / "big.sqlite"
    rng = random.Random(7)
    costs = [price(Usage(input_tokens=1000 * n, output_tokens=90 * n), model)
             for n in range(1, 8) for model in ("gpt-4o-mini", "gpt-4o", "o3", "gpt-4.1")]
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with Ledger(path) as ledger:
        for i in range(10_000):
            ledger.record(rng.choice(costs), at=start + timedelta(minutes=53 * i),
                          tags={"team": f"team-{i % 17}", "user": f"user-{i % 301}"})
        expected = usd(ledger.total())
        began = time.perf_counter()
        text = html_report(ledger, by=["model", "team"], limit="2000", window="month")
        made_in = time.perf_counter() - began
    page_path = tmp_path / "big.html"
    page_path.write_text(text, encoding="utf-8")
    size = page_path.stat().st_size
    page = browser.open(page_path)
    try:
        assert page.problems() == []
        assert page.evaluate("document.getElementById('total-exact').textContent") == expected
        heights = page.evaluate("[...document.querySelectorAll('#daily-chart rect')]"
                                ".map(r => r.getBBox().height)")
        assert len(heights) > 300 and min(heights) > 0
        print(f"\n10,000 entries: {size / 1024:.0f} KB, made in {made_in:.2f} s, loaded in "
              f"{page.load_seconds:.2f} s; {page.screenshot(tmp_path / 'big.png')}")
    finally:
        page.close()
    assert size < 5_000_000
    assert made_in < 20 and page.load_seconds < 20


def test_refused_calls_are_shown_with_what_they_would_have_risked(tmp_path, browser):  # noqa: F811
    path = tmp_path / "refused.sqlite"
    with Ledger(path) as ledger:
        ledger.record(price(Usage(), "gpt-4o-mini"), at=at(10), status="refused",
                      estimate="0.00103", tags={"refused_by": "max_cost $0.001"})
        page_html = html_report(ledger, now=NOW)
    page_path = tmp_path / "refused.html"
    page_path.write_text(page_html, encoding="utf-8")
    page = browser.open(page_path)
    try:
        assert page.problems() == []
        assert page.evaluate("document.getElementById('calls').textContent") == "0"
        assert page.evaluate("document.getElementById('refused').textContent") == "1"
        assert page.evaluate("document.getElementById('risked').textContent") == "$0.00103"
        assert page.evaluate("document.getElementById('total-exact').textContent") == "$0.00"
    finally:
        page.close()


def test_model_names_of_200000_characters_make_a_small_page(tmp_path, browser):  # noqa: F811
    import sqlite3
    import warnings

    path = tmp_path / "long.sqlite"
    with Ledger(path) as ledger, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for n in range(6):
            cost = price(Usage(input_tokens=1000 * (n + 1)), "gpt-4o-mini")
            for day in range(1, 8):
                ledger.record(cost, at=at(day), tags={"team": f"{n}" * 200_000})
    # as an older costbook stored them, whole
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("UPDATE entries SET model = printf('%.*c', 200000, char(65 + id % 6))")
    db.close()
    with Ledger(path) as ledger:
        text = html_report(ledger, by=["model", "team"], now=NOW)
    page_path = tmp_path / "long.html"
    page_path.write_text(text, encoding="utf-8")
    assert len(text) < 600_000
    assert "A" * 1000 not in text and "…[cut from 200000 characters]" in text
    page = browser.open(page_path)
    try:
        assert page.problems() == []
        assert page.load_seconds < 20
    finally:
        page.close()


def test_an_empty_ledger_shows_its_named_budgets_and_an_unreadable_reconciliation_says_so(
    tmp_path,
):
    with Ledger(tmp_path / "empty.sqlite") as ledger:
        ledger.set_budget("daily", "2.50", window="day", tags={"team": HOSTILE})
        ledger.keep_reconciliation("openai", {"provider": "openai", "groups": "nonsense"})
        ledger.keep_reconciliation("anthropic", {
            "since": "2025-06-01", "until": "2025-06-02", "source": HOSTILE,
            "tolerance_percent": "1", "differences": {"untracked": 1, "price": 0,
                                                      "extraction": 0},
            "totals": {"ledger": "0", "priced": None, "reported": "1.5"},
            "groups": [{"day": "2025-06-01", "model": HOSTILE, "differences": ["untracked"],
                        "ledger": {"calls": 0, "cost": "0", "imported_cost": "0"},
                        "reported": {"requests": None, "priced": None, "cost": "1.5"}}]})
        page = html_report(ledger, now=NOW)
    assert 'id="empty"' in page
    assert "<h2>Budget daily: burn-down</h2>" in page and 'id="burn-daily-chart"' in page
    assert "Limit $2.50 over today (UTC), tag team=&lt;script&gt;" in page
    assert HOSTILE not in page
    assert ("The reconciliation kept in the ledger cannot be read; run costbook reconcile "
            "--with again.") in page
    assert "1 group <b>untracked</b>: usage the ledger lacks" in page
    assert ("<td class=\"nw\">2025-06-01</td><td class=\"num\">0</td><td class=\"num\">-</td>"
            in page)
