"""``costbook audit``: the groups, the summary per provider, exit 1 for CI when a rate in
use differs from every source."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from catalog_payloads import catalog_files
from costbook.cli._main import main
from costbook.pricing._catalog import reset


@pytest.fixture(autouse=True)
def _fresh_catalog() -> Iterator[None]:
    reset()
    yield
    reset()


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _from(files):
    return [arg for source, path in files.items() for arg in ("--from", f"{source}={path}")]


def test_audit_lists_stale_and_disputed_rates_and_exits_1(tmp_path, capsys):
    files = catalog_files(tmp_path)
    code, out, err = run(capsys, "audit", "--provider", "openai", *_from(files))
    assert code == 1, err
    lines = out.splitlines()
    assert lines[0] == (f"compared with genai-prices ({files['genai-prices']}), litellm "
                        f"({files['litellm']}), models.dev ({files['models.dev']})")
    assert lines[2:7] == [
        "the tables differ from every source (likely stale): 1 rates",
        "  model               rate   in use  genai-prices  litellm  models.dev",
        "  ------------------  -----  ------  ------------  -------  ----------",
        "  openai:gpt-4o-mini  input  0.15    0.2           0.2      0.2",
        "",
    ]
    assert "  openai:gpt-4o-mini  cache_read  0.075   0.075         0.075    0.08" in lines
    assert "all agree: 1 rates" in lines
    assert lines[-2:] == ["openai: 1 models, 1 rates agree, 1 stale, 1 disputed",
                          "total: 1 models, 1 rates agree, 1 stale, 1 disputed"]


def test_audit_json_and_a_clean_run_exits_0(tmp_path, capsys, monkeypatch):
    files = catalog_files(tmp_path)
    code, out, err = run(capsys, "audit", "--sources", "litellm", "--provider", "openai",
                         "--from", f"litellm={files['litellm']}", "--json")
    assert code == 1, err
    report = json.loads(out)
    assert report["ok"] is False and report["sources"] == ["litellm"]
    assert {r["rate"] for r in report["stale"]} == {"input"}
    assert report["agree"][0]["sources"] == {"litellm": "0.6"}
    own = tmp_path / "own.yaml"
    own.write_text("provider: openai\nmodels:\n  - id: gpt-4o-mini\n    prices:\n"
                   "      - {input: 0.2, output: 0.6, cache_read: 0.075}\n", encoding="utf-8")
    monkeypatch.setenv("COSTBOOK_PRICING_PATH", str(own))
    reset()
    code, out, err = run(capsys, "audit", "--sources", "litellm", "--provider", "openai",
                         "--from", f"litellm={files['litellm']}", "--all")
    assert code == 0, err
    assert "all agree: 3 rates" in out.splitlines()
    assert "  openai:gpt-4o-mini  output      0.6     0.6" in out.splitlines()


@pytest.mark.parametrize(("args", "message"), [
    (["audit", "--from", "litellm"], "--from 'litellm': write it as SOURCE=FILE, like "
     "--from litellm=model_prices_and_context_window.json"),
    (["audit", "--sources", ","], "--sources names nothing; give a comma-separated list"),
    (["audit", "--sources", "openrouter"], "unknown price catalog 'openrouter': give one of "
     "genai-prices, litellm, models.dev"),
    (["audit", "--sources", "litellm", "--from", "models.dev=x.json"],
     "a file or URL is given for models.dev, which is not among the sources audited (litellm)"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, args, message):
    code, out, err = run(capsys, *args)
    assert (code, out) == (2, "")
    assert err == f"costbook: error: {message}\n"
