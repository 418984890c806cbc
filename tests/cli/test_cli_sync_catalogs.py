"""``costbook sync genai-prices|litellm|models.dev`` and ``costbook models`` saying which
source priced each model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal

import pytest

from catalog_payloads import GENAI_PATH, genai_prices_text, litellm
from costbook.cli._main import main
from costbook.pricing._catalog import reset
from models_api_server import ModelsAPIServer, Reply


@pytest.fixture
def server() -> Iterator[ModelsAPIServer]:
    with ModelsAPIServer() as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_catalog() -> Iterator[None]:
    reset()
    yield
    reset()


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_sync_litellm_from_a_file_then_price_and_list_the_source(tmp_path, capsys):
    path = tmp_path / "model_prices_and_context_window.json"
    path.write_text(litellm(), encoding="utf-8")
    code, out, err = run(capsys, "sync", "litellm", "--from", str(path))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(
        f"litellm: 1 models (and 1 with a retirement date) at 2 providers from {path} "
        "written to ")
    assert lines[0].endswith(": 2 added, 0 changed, 0 removed, 0 unchanged, 2 skipped")
    assert "  added: openai:gpt-9-mini  input 0.11  cache_read 0.011  output 0.3  " \
        "input above 200000 0.22  output above 200000 0.6" in lines
    code, out, err = run(capsys, "estimate", "gpt-9-mini", "--input", "1000", "--output",
                         "1000", "--json")
    assert code == 0, err
    assert Decimal(json.loads(out)["total"]) == Decimal("0.00041")
    code, out, err = run(capsys, "models", "--provider", "openai")
    assert code == 0, err
    [row] = [line for line in out.splitlines() if line.startswith("openai:gpt-9-mini ")]
    assert row.split()[-2:] == ["litellm", "(synced)"]
    [bundled] = [line for line in out.splitlines() if line.startswith("openai:gpt-4o-mini ")]
    assert bundled.split()[-1] == "bundled"
    code, out, err = run(capsys, "models", "--provider", "openai", "--json")
    rows = {r["ref"]: r for r in json.loads(out)}
    assert rows["openai:gpt-9-mini"]["from"] == "litellm (synced)"


def test_check_exit_codes_and_json(server, capsys):
    server.serve(GENAI_PATH, Reply(genai_prices_text()))
    url = server.url + GENAI_PATH
    code, out, err = run(capsys, "sync", "genai-prices", "--url", url, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["source"] == "genai-prices" and report["url"] == url
    [anthropic] = [p for p in report["providers"] if p["provider"] == "anthropic"]
    [added] = [a for a in anthropic["added"] if a["id"] == "claude-nova-5"]
    assert added["new"] == {"input": "2.2", "output": "11", "cache_read": "0.22",
                            "cache_write": "2.75", "per_web_search": "0.01"}
    code, out, err = run(capsys, "sync", "genai-prices", "--url", url, "--check")
    assert (code, err) == (0, "")
    assert out.startswith(f"genai-prices: 2 models at 2 providers in {url}, compared with "
                          "the tables in use: 0 differ, 2 agree, 0 not in the tables")
    server.serve(GENAI_PATH, Reply(genai_prices_text().replace('"output_mtok": 11',
                                                               '"output_mtok": 12')))
    code, out, err = run(capsys, "sync", "genai-prices", "--url", url, "--check")
    assert code == 1, err
    assert "  differs: anthropic:claude-nova-5  output 11 -> 12" in out.splitlines()


def test_base_url_names_the_folder_of_the_data_file(server, capsys):
    server.serve("/mirror/v2/data.json", Reply(genai_prices_text()))
    code, out, err = run(capsys, "sync", "genai-prices", "--base-url", server.url + "/mirror",
                         "--provider", "deepseek")
    assert code == 0, err
    assert [r["path"] for r in server.requests] == ["/mirror/v2/data.json"]
    assert out.startswith("genai-prices: 1 models (and 0 with a retirement date) at 1 "
                          "providers")


@pytest.mark.parametrize(("args", "message"), [
    (["sync", "litellm", "--from", "a.json", "--url", "https://x.example/p.json"],
     "give one of --url, --base-url and --from, not --url and --from"),
    (["sync", "litellm", "--api-key-env", "KEY"],
     "--api-key-env goes with a router; the public catalogs need no key"),
    (["sync", "openrouter", "--from", "a.json"],
     "--from goes with a catalog (genai-prices, litellm, models.dev), not with openrouter"),
    (["sync", "litellm", "--provider", ","],
     "--provider names no provider; give P[,P...], like openai,anthropic"),
    (["sync", "litellm", "--url", "ftp://x.example/p.json"],
     "'ftp://x.example/p.json': not an http(s) URL; give --base-url https://..."),
])
def test_bad_input_is_one_line_and_exit_2(capsys, args, message):
    code, out, err = run(capsys, *args)
    assert (code, out) == (2, "")
    assert err == f"costbook: error: {message}\n"


def test_a_malformed_file_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / "prices.json"
    path.write_text('{"gpt-x": {"litellm_provider": "openai", "input_cost_per_token": 1e-07,'
                    ' "output_cost_per_token": 1e-07}', encoding="utf-8")
    code, out, err = run(capsys, "sync", "litellm", "--from", str(path))
    assert code == 2 and out == ""
    assert err.startswith(f"costbook: error: {path}: the file is not valid JSON: ") and err.count("\n") == 1
    assert not (tmp_path / "tables" / "catalogs").exists()


def test_a_real_process_syncs_models_dev_then_prices(server, tmp_path):
    from catalog_payloads import MODELS_DEV_PATH, models_dev

    server.serve(MODELS_DEV_PATH, Reply(json.dumps(models_dev())))
    env = {**os.environ, "COSTBOOK_TABLES_DIR": str(tmp_path / "tables")}
    done = subprocess.run([sys.executable, "-m", "costbook", "sync", "models.dev", "--url",
                           server.url + MODELS_DEV_PATH], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([sys.executable, "-m", "costbook", "estimate", "openai:gpt-9-mini",
                           "--input", "1000", "--output", "0", "--json"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert Decimal(json.loads(done.stdout)["total"]) == Decimal("0.00012")
