"""``costbook sync``: against a local models API in OpenRouter's and Requesty's shapes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal

import pytest

from costbook.cli._main import main
from costbook.pricing._catalog import reset
from models_api_server import ModelsAPIServer, Reply
from sync_payloads import OPENROUTER, OPENROUTER_PATH, REQUESTY_PATH, REQUESTY_TEXT, openrouter


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


def test_sync_writes_a_table_that_check_accepts(server, tmp_path, capsys):
    server.serve(OPENROUTER_PATH, OPENROUTER)
    output = tmp_path / "openrouter.yaml"
    code, out, err = run(capsys, "sync", "openrouter", "--base-url", server.url + "/api/v1",
                         "--output", str(output))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == (
        f"openrouter: 3 models from {server.url}/api/v1/models written to {output}: "
        "3 added, 0 changed, 0 removed, 0 unchanged, 2 skipped"
    )
    assert ("  added: acme/float-trap  input 0.1  cache_read 0.03  cache_write 0.375  "
            "output 0.2  reasoning 0.7  audio_input 40  per_web_search 0.01  "
            "per_request 0.0003") in lines
    assert "  skipped: openrouter/auto: priced dynamically (-1 in pricing.prompt)" in lines
    assert err == ""  # not a terminal: no progress
    code, out, err = run(capsys, "check", str(output))
    assert code == 0, err
    assert out.startswith("ok: 1 table file(s), 3 models")


def test_sync_json_lists_rates_as_exact_strings(server, tmp_path, capsys):
    server.serve(REQUESTY_PATH, Reply(REQUESTY_TEXT))
    output = tmp_path / "requesty.yaml"
    code, out, _ = run(capsys, "sync", "requesty", "--base-url", server.url + "/v1",
                       "--output", str(output), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["ok"] is True and data["check"] is False
    added = {c["id"]: c["new"] for c in data["added"]}
    assert added["openai/gpt-4o-mini"] == {"input": "0.15", "output": "0.6", "cache_read": "0.07",
                                           "cache_write": "0.15"}
    assert added["acme/free"] == {"input": "0", "output": "0"}
    assert data["skipped"] == ["acme/no-output: no output_price"]
    code, out, _ = run(capsys, "estimate", "requesty:acme/float-trap", "--input", "1",
                       "--output", "1", "--json")
    assert code == 2  # not in the tables in use: --output wrote elsewhere
    code, out, _ = run(capsys, "check", str(output), "--json")
    assert code == 0 and json.loads(out)["ok"] is True


def test_check_exit_codes_for_ci(server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COSTBOOK_TABLES_DIR", str(tmp_path))
    server.serve(OPENROUTER_PATH, OPENROUTER)
    base = server.url + "/api/v1"
    assert run(capsys, "sync", "openrouter", "--base-url", base)[0] == 0
    assert (tmp_path / "openrouter.yaml").is_file()
    code, out, _ = run(capsys, "sync", "openrouter", "--base-url", base, "--check")
    assert code == 0
    first = out.splitlines()[0]
    # the bundled OpenRouter models this small payload leaves out are "not listed live"
    assert first.startswith(
        f"openrouter: 3 models at {base}/models, compared with the tables in use: "
        "0 differ, 3 agree, 0 not in the tables, "
    )
    assert first.endswith(" not listed live")
    assert out.splitlines()[1:] == [
        "  skipped: openrouter/auto: priced dynamically (-1 in pricing.prompt)",
        "  skipped: acme/half-priced: no pricing.completion",
    ]
    server.serve(OPENROUTER_PATH, openrouter(**{"acme/float-trap": {"completion": "0.00000025"}}))
    code, out, _ = run(capsys, "sync", "openrouter", "--base-url", base, "--check")
    assert code == 1
    assert "  differs: acme/float-trap  output 0.2 -> 0.25" in out.splitlines()
    code, out, _ = run(capsys, "sync", "openrouter", "--base-url", base, "--check", "--json")
    assert code == 1
    [change] = json.loads(out)["changed"]
    assert (change["old"]["output"], change["new"]["output"]) == ("0.2", "0.25")
    assert change["differing"] == ["output"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sync", "bedrock"], "cannot sync provider 'bedrock': costbook syncs openrouter, requesty (the "
         "routers that publish their prices through an API)"),
        (["sync", "openrouter", "--check", "--output", "x.yaml"],
         "--check writes nothing, so it takes no --output; give one or the other"),
        (["sync", "openrouter", "--api-key-env", "COSTBOOK_TEST_NO_SUCH_KEY"],
         "the environment variable COSTBOOK_TEST_NO_SUCH_KEY named by --api-key-env is not set or empty"),
        (["sync", "openrouter", "--base-url", "ftp://example.com"],
         "'ftp://example.com/models': not an http(s) URL; give --base-url https://..."),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, args, message):
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    assert err == f"costbook: error: {message}\n"


def test_an_http_error_is_one_line_and_nothing_is_written(server, tmp_path, capsys):
    server.serve(OPENROUTER_PATH, Reply("oops", 500, {"Retry-After": "0"}))
    output = tmp_path / "openrouter.yaml"
    code, out, err = run(capsys, "sync", "openrouter", "--base-url", server.url + "/api/v1",
                         "--output", str(output))
    assert code == 2 and out == ""
    assert err == (f"costbook: error: GET {server.url}/api/v1/models: HTTP 500 Internal "
                   "Server Error (gave up after 4 attempts)\n")
    assert not output.exists()


def test_the_api_key_from_the_environment_is_never_printed_or_written(server, tmp_path, capsys,
                                                                       monkeypatch):
    secret = "sk-or-v1-do-not-print-me"
    monkeypatch.setenv("MY_OPENROUTER_KEY", secret)
    server.serve(OPENROUTER_PATH, OPENROUTER)
    output = tmp_path / "openrouter.yaml"
    for extra in ([], ["--json"], ["--check"], ["--check", "--json"]):
        args = ["sync", "openrouter", "--base-url", server.url + "/api/v1",
                "--api-key-env", "MY_OPENROUTER_KEY", *extra]
        if "--check" not in extra:
            args += ["--output", str(output)]
        code, out, err = run(capsys, *args)
        assert code in (0, 1)
        assert secret not in out + err
    assert all(r["headers"]["Authorization"] == f"Bearer {secret}" for r in server.requests)
    assert secret not in output.read_text()
    server.serve(OPENROUTER_PATH, Reply({"error": {"message": f"bad key {secret}"}}, 401))
    code, out, err = run(capsys, "sync", "openrouter", "--base-url", server.url + "/api/v1",
                         "--api-key-env", "MY_OPENROUTER_KEY", "--output", str(output))
    assert code == 2 and secret not in out + err
    assert "HTTP 401 Unauthorized" in err


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "costbook", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def test_a_real_process_syncs_then_prices_from_the_user_tables(server, tmp_path):
    env = {**os.environ, "COSTBOOK_TABLES_DIR": str(tmp_path / "tables")}
    server.serve(OPENROUTER_PATH, OPENROUTER)
    done = _cli("sync", "openrouter", "--base-url", server.url + "/api/v1", env=env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "tables" / "openrouter.yaml").is_file()
    done = _cli("estimate", "openrouter:acme/float-trap", "--input", "1", "--output", "1",
                "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert Decimal(json.loads(done.stdout)["total"]) == Decimal("0.0003003")
    done = _cli("sync", "openrouter", "--base-url", server.url + "/api/v1", "--check", env=env)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_progress_shows_on_a_terminal_after_a_second(server, tmp_path):
    import pty

    server.serve(OPENROUTER_PATH, Reply(OPENROUTER, delay=1.6))
    env = {**os.environ, "COSTBOOK_TABLES_DIR": str(tmp_path / "tables")}
    primary, secondary = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "costbook", "sync", "openrouter", "--base-url",
             server.url + "/api/v1"], stdout=subprocess.PIPE, stderr=secondary, env=env,
            timeout=120)
        os.close(secondary)
        shown = b""
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(primary)
    assert done.returncode == 0
    text = shown.decode()
    assert f"costbook: fetching {server.url}/api/v1/models" in text
    assert text.endswith("\r\x1b[K")  # the line is cleared when done
    assert b"fetching" not in done.stdout


# -- a hostile models API ---------------------------------------------------------------------

TITLE = "\x1b]0;PWNED\x07"  # a sequence that retitles a terminal window


def test_reason_phrases_and_model_ids_reach_the_terminal_escaped(server, tmp_path, capsys):
    server.serve(OPENROUTER_PATH, Reply({"error": "no"}, 404, reason=f"{TITLE}Not Found"))
    code, out, err = run(capsys, "sync", "openrouter", "--base-url", server.url + "/api/v1",
                         "--output", str(tmp_path / "o.yaml"))
    assert code == 2
    assert err == (f"costbook: error: GET {server.url}/api/v1/models: HTTP 404 "
                   "\\x1b]0;PWNED\\x07Not Found\n")
    payload = openrouter()
    payload["data"][0]["id"] = f"acme/{TITLE}evil\nadded: fake"
    payload["data"][3]["id"] = f"acme/{TITLE}dynamic"
    server.serve(OPENROUTER_PATH, payload)
    code, out, err = run(capsys, "sync", "openrouter", "--base-url", server.url + "/api/v1",
                         "--output", str(tmp_path / "o.yaml"))
    assert code == 0, err
    assert "\x1b" not in out + err and "\x07" not in out + err
    assert "  added: acme/\\x1b]0;PWNED\\x07evil\\nadded: fake  input 0.15" in out
    assert ("  skipped: acme/\\x1b]0;PWNED\\x07dynamic: priced dynamically (-1 in "
            "pricing.prompt)") in out.splitlines()
    code, out, err = run(capsys, "sync", "openrouter", "--base-url", server.url + "/api/v1",
                         "--output", str(tmp_path / "o.yaml"), "--json")
    assert code == 0 and "\x1b" not in out
    assert f"acme/{TITLE}dynamic: priced dynamically (-1 in pricing.prompt)" in \
        json.loads(out)["skipped"]


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply('{"data": [{"id": "a", "pricing": {"prompt": 1e999999999}}]}'),
         "the response is not valid JSON: a number in the response is 1e999999999, out of "
         "the range costbook reads (1e-100 to 1e+100)"),
        (Reply("[" * 200_000),
         "the response nests arrays or objects more than 64 deep; costbook reads no deeper"),
        (Reply({"data": [{}] * 20_001}),
         "the payload lists 20,001 models, more than the 20,000 costbook reads"),
        (Reply(OPENROUTER, drip=0.05),
         "no complete answer within 1s, the deadline for the whole request"),
    ],
)
def test_a_hostile_payload_ends_in_one_line_and_exit_2(server, tmp_path, capsys, reply, message):
    server.serve(OPENROUTER_PATH, reply)
    for extra in ([], ["--check"]):  # exit 1 is --check's "differs": never a failure's
        code, out, err = run(capsys, "sync", "openrouter", "--base-url",
                             server.url + "/api/v1", "--deadline", "1", *extra)
        assert (code, out) == (2, "")
        assert err.endswith(f"{message}\n") and err.count("\n") == 1, err


def test_a_price_that_would_take_gigabytes_skips_its_model(server, tmp_path, capsys):
    server.serve(OPENROUTER_PATH, openrouter(**{"acme/float-trap": {"prompt": "1e30000000"}}))
    output = tmp_path / "o.yaml"
    code, out, _ = run(capsys, "sync", "openrouter", "--base-url", server.url + "/api/v1",
                       "--output", str(output))
    assert code == 0 and len(out) < 2000
    assert ("  skipped: acme/float-trap: pricing.prompt is 1e30000000, out of the range "
            "costbook reads (1e-100 to 1e+100)") in out.splitlines()


def test_check_fails_when_a_model_the_tables_hold_has_an_unreadable_price(server, tmp_path,
                                                                           capsys, monkeypatch):
    monkeypatch.setenv("COSTBOOK_TABLES_DIR", str(tmp_path))
    server.serve(OPENROUTER_PATH, OPENROUTER)
    base = server.url + "/api/v1"
    assert run(capsys, "sync", "openrouter", "--base-url", base)[0] == 0
    server.serve(OPENROUTER_PATH, openrouter(**{"acme/float-trap": {"completion": "lots"}}))
    code, out, _ = run(capsys, "sync", "openrouter", "--base-url", base, "--check")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].endswith(" not listed live, 1 cannot be compared")
    assert lines[1] == "  cannot compare: acme/float-trap: pricing.completion is 'lots', " \
                       "not a number"
    assert not any(line.startswith("  skipped: acme/float-trap") for line in lines)
    code, out, _ = run(capsys, "sync", "openrouter", "--base-url", base, "--check", "--json")
    data = json.loads(out)
    assert code == 1 and data["ok"] is False
    assert data["uncompared"] == ["acme/float-trap: pricing.completion is 'lots', not a number"]
    # a sync that cannot read the price keeps the entry as it was, not deprecated
    code, out, _ = run(capsys, "sync", "openrouter", "--base-url", base, "--json")
    assert code == 0 and json.loads(out)["removed"] == []
    reset()
    code, out, _ = run(capsys, "estimate", "openrouter:acme/float-trap", "--input", "1",
                       "--output", "1", "--json")
    assert code == 0 and Decimal(json.loads(out)["total"]) == Decimal("0.0003003")


def test_a_key_sent_to_one_origin_is_not_sent_on_to_another(server, tmp_path, capsys,
                                                              monkeypatch):
    secret = "sk-or-v1-stays-home"
    monkeypatch.setenv("MY_OPENROUTER_KEY", secret)
    with ModelsAPIServer() as elsewhere:
        elsewhere.serve(OPENROUTER_PATH, OPENROUTER)
        target = elsewhere.other_origin_url + OPENROUTER_PATH
        server.serve(OPENROUTER_PATH, Reply("", 302, {"Location": target}))
        code, out, err = run(capsys, "sync", "openrouter", "--base-url",
                             server.url + "/api/v1", "--api-key-env", "MY_OPENROUTER_KEY",
                             "--output", str(tmp_path / "o.yaml"))
        received = elsewhere.requests
    assert code == 0, err
    assert [r.get("Authorization") for r in (q["headers"] for q in received)] == [None]
    assert out.splitlines()[0].startswith(f"openrouter: 3 models from {target} written to ")
    assert (f"  note: asked {server.url}/api/v1/models; the data came from {target} "
            "(redirected); the API key was not sent there, another origin") in out.splitlines()
