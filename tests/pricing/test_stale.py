"""Stale prices: models whose checked date is older than a limit, per provider."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from costbook.cli._main import main
from costbook.pricing._stale import stale_models
from table_factory import write_yaml

TODAY = date(2026, 11, 22)


def _tables(folder, today=TODAY):
    old = (today - timedelta(days=120)).isoformat()
    recent = (today - timedelta(days=10)).isoformat()
    write_yaml(folder / "acme.yaml", f"""
provider: acme
models:
  - {{id: acme-old, checked: {old}, prices: [{{input: 1, output: 2}}]}}
  - {{id: acme-new, checked: {recent}, prices: [{{input: 1, output: 2}}]}}
  - {{id: acme-unknown, prices: [{{input: 1, output: 2}}]}}
  - {{id: acme-retired, checked: {old}, deprecated: {recent}, prices: [{{input: 1, output: 2}}]}}
""")
    write_yaml(folder / "zeta.yaml", f"""
provider: zeta
models:
  - {{id: zeta-1, checked: {old}, prices: [{{input: 1, output: 2}}]}}
""")
    return old, recent


def test_models_checked_too_long_ago_are_listed_per_provider(tmp_path):
    old, _ = _tables(tmp_path)
    report = stale_models(90, [tmp_path], today=TODAY)
    assert report.stale == {"acme": [("acme-old", date.fromisoformat(old))],
                            "zeta": [("zeta-1", date.fromisoformat(old))]}
    assert report.unchecked == {"acme": ["acme-unknown"]}
    assert report.count == 2 and not report.ok
    assert report.before == date(2026, 8, 24)
    assert stale_models(120, [tmp_path], today=TODAY).ok  # exactly 120 days is not older
    assert not stale_models(119, [tmp_path], today=TODAY).ok


def test_days_must_be_a_whole_number():
    with pytest.raises(ValueError, match="days must be a whole number of days, 0 or more; got -1"):
        stale_models(-1)


def test_the_bundled_tables_say_when_they_were_checked_only_where_a_source_says():
    from costbook.pricing._catalog import catalog

    report = stale_models(0, today=date(2026, 11, 22))
    assert report.stale["anthropic"]
    # a generated entry names its dataset; it has a checked date only where that dataset
    # states one, never the date the tables were generated
    unchecked = {(p, i) for p, ids in report.unchecked.items() for i in ids}
    assert unchecked
    for model in catalog().models:
        if (model.provider, model.id) in unchecked:
            assert model.rates_source is not None, model.ref
        if model.rates_source is not None:
            assert model.checked != date(2026, 11, 22), model.ref


def test_check_stale_from_the_command_line(tmp_path, capsys):
    today = date.today()
    old, _ = _tables(tmp_path, today)
    code = main(["check", str(tmp_path), "--stale", "90"])
    out, _ = capsys.readouterr()
    assert code == 1
    before = (today - timedelta(days=90)).isoformat()
    assert out.splitlines()[1:] == [
        f"stale: 2 model(s) last checked more than 90 day(s) ago, before {before}",
        "  acme: 1",
        f"    acme-old  checked {old} (120 days)",
        "  zeta: 1",
        f"    zeta-1  checked {old} (120 days)",
        "without a checked date: 1 model(s)",
        "  acme: acme-unknown",
    ]
    assert main(["check", str(tmp_path), "--stale", "365"]) == 0
    out, _ = capsys.readouterr()
    assert "stale: 0 model(s)" in out
    assert main(["check", str(tmp_path), "--stale", "90", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True  # the tables are valid; they are stale
    assert data["stale"]["stale"]["zeta"] == [{"id": "zeta-1", "checked": old, "age_days": 120}]
    assert data["stale"]["unchecked"] == {"acme": ["acme-unknown"]}


def test_check_stale_refuses_a_bad_number(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["check", "--stale", "ninety"])
    assert caught.value.code == 2
    assert capsys.readouterr().err.endswith(
        "argument --stale: 'ninety' is not a number of days; write it like 90\n")
