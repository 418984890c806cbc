"""The entry point under hostile input: every bad value is one line on stderr and exit 2,
never a traceback."""

from __future__ import annotations

import contextlib
import io
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costbook import Ledger, Usage, price
from costbook.cli._main import main

HOSTILE_NUMBERS = st.one_of(
    st.sampled_from([
        "", " ", "0", "-0", "-1", "1e999999999", "1E+999999999999999999", "1e-999999999",
        "NaN", "nan", "-Infinity", "Infinity", "inf", "sNaN", "9" * 5000, "9" * 30 + "b",
        "9223372036854775808", "1_000_000_000_000_000_000k", "0.100", "10.000", "1E-30",
        "1E+30", str(10**40), "$", "$-1", "٣", "１２３", "1\x00", "1%", "%", "1e5%",
        "1e999999999%", "-1e999999999%", "NaN%", "0x10", "1.5M", "1.2345k",
    ]),
    st.from_regex(r"\A[-+$]?[0-9_]{0,30}(\.[0-9]{0,30})?([eE][-+]?[0-9]{1,20})?[kKmMbB%]?\Z"),
    st.text(max_size=30),
)


def _json_values(depth: int) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(["[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth,
                         "1e999999999", "NaN", '"\ud800"', "", "\x00"]),
        st.builds(
            lambda n, inner: '{"model": "gpt-4o-mini", "messages": ' + "[" * n + inner
            + "]" * n + "}",
            st.integers(0, 3000), st.sampled_from(["", '{"role": "user", "content": "hi"}']),
        ),
        st.text(max_size=50),
    )


@pytest.fixture(scope="module")
def place() -> Path:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        with Ledger(root / "spend.sqlite") as ledger:
            cost = price(Usage(input_tokens=100_000), "openai/gpt-4o-mini", provider="openrouter")
            ledger.record(cost, reported_cost=Decimal("0.0300"), request_id="gen-1")
            ledger.record(cost, reported_cost=Decimal("0.0150"), request_id="gen-2")
        yield root


def _run(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 2
    return code, err.getvalue()


def _check(code: int, err: str) -> None:
    assert code in (0, 1, 2), (code, err)
    assert "Traceback" not in err
    if code == 2:
        assert err.count("\n") >= 1 and err.splitlines()[0].startswith("costbook")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])
@given(
    command=st.sampled_from(["estimate", "compare", "budget", "reconcile"]),
    option=st.sampled_from(["--input", "--output", "--cache-read", "--images"]),
    value=HOSTILE_NUMBERS,
)
def test_hostile_numbers_never_give_a_traceback(place, command, option, value):
    ledger = str(place / "spend.sqlite")
    argv = {
        "estimate": ["estimate", "gpt-4o-mini", f"{option}={value}"],
        "compare": ["compare", "gpt-4o-mini", f"{option}={value}"],
        "budget": ["budget", "status", "--ledger", ledger, f"--limit={value}"],
        "reconcile": ["reconcile", "--ledger", ledger, f"--tolerance={value}"],
    }[command]
    _check(*_run(argv))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])
@given(body=_json_values(100_000))
def test_hostile_request_bodies_never_give_a_traceback(place, body):
    path = place / "request.json"
    path.write_text(body, encoding="utf-8", errors="surrogatepass")
    _check(*_run(["estimate", "--request", str(path)]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])
@given(rate=HOSTILE_NUMBERS)
def test_hostile_pinned_rates_never_give_a_traceback(place, rate):
    path = place / "prices.lock"
    path.write_text(
        "pins:\n  openai:gpt-4o-mini:\n    effective: 2024-07-18\n    rates:\n"
        f"      input: {rate!r}\n      output: {rate}\n", encoding="utf-8",
        errors="surrogatepass",
    )
    _check(*_run(["check", "--pins", str(path)]))
