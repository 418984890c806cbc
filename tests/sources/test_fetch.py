"""The bounded fetch under sync: deadline, size, redirects and credentials, bounded JSON, all
against a local models API on 127.0.0.1."""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

from costbook import SyncError
from costbook.sources._fetch import (
    MAX_DEPTH,
    bounded_decimal,
    fetch,
    parse_json,
)
from costbook.sources._sync import MAX_MODELS, sync
from models_api_server import ModelsAPIServer, Reply
from sync_payloads import OPENROUTER, OPENROUTER_PATH, openrouter

SECRET = "sk-or-v1-only-for-the-origin-asked"


@pytest.fixture
def server() -> Iterator[ModelsAPIServer]:
    with ModelsAPIServer() as running:
        yield running


@pytest.fixture
def other() -> Iterator[ModelsAPIServer]:
    with ModelsAPIServer() as running:
        yield running


# -- credentials and redirects ----------------------------------------------------------------


def test_a_redirect_to_another_origin_is_followed_without_the_key(server, other, tmp_path):
    target = other.other_origin_url + OPENROUTER_PATH  # localhost:Q, not 127.0.0.1:P
    server.serve(OPENROUTER_PATH, Reply("", 302, {"Location": target}))
    other.serve(OPENROUTER_PATH, OPENROUTER)
    report = sync("openrouter", base_url=server.url + "/api/v1", api_key=SECRET,
                  output=tmp_path / "openrouter.yaml")
    assert server.requests[0]["headers"]["Authorization"] == f"Bearer {SECRET}"
    [received] = other.requests
    assert "Authorization" not in received["headers"]
    assert SECRET not in str(received["headers"])
    assert report.source == target
    assert report.notes[0] == (f"asked {server.url}{OPENROUTER_PATH}; the data came from "
                               f"{target} (redirected); the API key was not sent there, "
                               "another origin")
    assert f"# {target}\n" in (tmp_path / "openrouter.yaml").read_text()


def test_a_refusal_after_a_redirect_says_the_key_stayed_home(server, other):
    target = other.other_origin_url + OPENROUTER_PATH
    server.serve(OPENROUTER_PATH, Reply("", 302, {"Location": target}))
    other.serve(OPENROUTER_PATH, Reply({"error": "no key"}, 401))
    with pytest.raises(SyncError) as caught:
        fetch(server.url + OPENROUTER_PATH, api_key=SECRET)
    assert str(caught.value) == (
        f"GET {target}: HTTP 401 Unauthorized (redirected from {server.url}{OPENROUTER_PATH}; "
        "the API key is sent only to the origin asked for)")
    assert "Authorization" not in other.requests[0]["headers"]


def test_a_redirect_within_the_origin_keeps_the_key(server):
    server.serve("/old/models", Reply("", 307, {"Location": "/api/v1/models?x=1"}))
    server.serve("/api/v1/models?x=1", OPENROUTER)
    fetched = fetch(server.url + "/old/models", api_key=SECRET)
    assert [r["headers"].get("Authorization") for r in server.requests] == [f"Bearer {SECRET}"] * 2
    assert fetched.url == server.url + "/api/v1/models"
    assert fetched.credentials_sent and fetched.note() == (
        f"asked {server.url}/old/models; the data came from {server.url}/api/v1/models "
        "(redirected)")


def test_redirect_loops_and_bad_targets_are_refused(server):
    server.serve("/loop", Reply("", 302, {"Location": "/loop"}))
    with pytest.raises(SyncError, match=r"more than 5 redirects; give the final URL"):
        fetch(server.url + "/loop")
    assert len(server.requests) == 6
    server.serve("/ftp", Reply("", 301, {"Location": "ftp://example.com/x"}))
    with pytest.raises(SyncError, match=r"redirected to 'ftp://example.com/x', not an http"):
        fetch(server.url + "/ftp")
    server.serve("/creds", Reply("", 302, {"Location": "http://u:pw-secret@localhost/x"}))
    with pytest.raises(SyncError, match=r"holding a user name or password; refused") as caught:
        fetch(server.url + "/creds")
    assert "pw-secret" not in str(caught.value)


def test_a_redirect_from_https_to_plain_http_is_refused():
    from costbook.sources._fetch import _redirect

    with pytest.raises(SyncError, match=r"redirected to http://evil.test/m, from https to "
                                        r"plain http; refused"):
        _redirect("https://openrouter.ai/api/v1/models", "http://evil.test/m?k=1",
                  "https://openrouter.ai/api/v1/models", 1)


# -- time and size ----------------------------------------------------------------------------


def test_a_server_sending_a_byte_at_a_time_meets_the_deadline(server):
    server.serve(OPENROUTER_PATH, Reply(OPENROUTER, drip=0.05))
    started = time.monotonic()
    with pytest.raises(SyncError) as caught:
        fetch(server.url + OPENROUTER_PATH, timeout=5, deadline=1.5)
    took = time.monotonic() - started
    assert str(caught.value) == (f"GET {server.url}{OPENROUTER_PATH}: no complete answer "
                                 "within 1.5s, the deadline for the whole request")
    assert took < 5  # each byte came well within the 5 s read timeout


def test_retries_stop_at_the_deadline(server):
    server.serve(OPENROUTER_PATH, Reply("busy", 503, {"Retry-After": "30"}))
    waits: list[float] = []
    with pytest.raises(SyncError, match=r"HTTP 503 Service Unavailable \(gave up: a retry in "
                                        r"30s would pass the deadline of 10s\)$"):
        fetch(server.url + OPENROUTER_PATH, deadline=10, sleep=waits.append)
    assert waits == [] and len(server.requests) == 1


def test_a_body_larger_than_the_limit_is_refused(server):
    server.serve(OPENROUTER_PATH, OPENROUTER)
    with pytest.raises(SyncError, match=r"the response is \d[\d,]* bytes, more than the 1,000 "
                                        r"costbook reads$"):
        fetch(server.url + OPENROUTER_PATH, max_bytes=1000)


def test_a_payload_of_too_many_models_is_refused_before_it_is_read(server, tmp_path):
    server.serve(OPENROUTER_PATH, {"data": [{}] * (MAX_MODELS + 1)})
    with pytest.raises(SyncError, match=r"the payload lists 10,001 models, more than the "
                                        r"10,000 costbook reads$"):
        sync("openrouter", base_url=server.url + "/api/v1", output=tmp_path / "o.yaml")
    assert not (tmp_path / "o.yaml").exists()


# -- numbers and nesting ----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["1e30000000", "1e999999999", "-1e-999999999", "1e101"])
def test_numbers_out_of_range_are_refused_before_they_expand(text):
    with pytest.raises(ValueError, match=r"out of the range costbook reads \(1e-100 to 1e\+100\)"):
        bounded_decimal(text, "pricing.prompt")


def test_numbers_in_range_are_exact():
    assert bounded_decimal(" 0.00000015 ") == Decimal("0.00000015")
    assert bounded_decimal("0") == Decimal(0)
    with pytest.raises(ValueError, match=r"a number of 65 characters; costbook reads numbers "
                                         r"of at most 64"):
        bounded_decimal("1" * 65)


def test_a_price_string_that_would_expand_skips_its_model(server, tmp_path):
    server.serve(OPENROUTER_PATH, openrouter(**{"acme/float-trap": {"completion": "1e30000000"}}))
    report = sync("openrouter", base_url=server.url + "/api/v1", output=tmp_path / "o.yaml")
    assert "acme/float-trap: pricing.completion is 1e30000000, out of the range costbook " \
           "reads (1e-100 to 1e+100)" in report.skipped
    assert "float-trap" not in (tmp_path / "o.yaml").read_text()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"data": [{"id": "a", "context_length": 1e999999999}]}',
         r"not valid JSON: a number in the response is 1e999999999, out of the range"),
        ('{"data": [{"id": "a", "created": 1' + "0" * 5000 + "}]}",
         r"not valid JSON: a number in the response is a number of 5,001 characters"),
        ("[" * 200_000, rf"nests arrays or objects more than {MAX_DEPTH} deep"),
        ('{"a":' * 100_000 + "1" + "}" * 100_000, r"more than 64 deep"),
    ],
)
def test_hostile_json_is_one_line(server, tmp_path, body, message):
    server.serve(OPENROUTER_PATH, Reply(body))
    with pytest.raises(SyncError, match=message) as caught:
        sync("openrouter", base_url=server.url + "/api/v1", output=tmp_path / "o.yaml")
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 400


def test_depth_counts_brackets_in_structure_not_in_strings():
    deep = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert parse_json(deep, "x") == eval(deep)  # exactly the limit is read
    assert parse_json('{"s": "' + "[" * 1000 + '"}', "x") == {"s": "[" * 1000}
    with pytest.raises(SyncError, match="more than 64 deep"):
        parse_json("[" + deep + "]", "x")


@pytest.mark.parametrize(
    ("text", "deep"),
    [
        ("[" * 64 + "]" * 64, False),
        ("[" * 65 + "]" * 65, True),
        ("[" * 200_000, True),
        ('{"a": "[[[[", "b": [' + "[" * 70 + "]" * 70 + "]}", True),
        ('{"a": "' + "[" * 70 + '"}', False),
        ("[}" * 100, False),  # not JSON: left for the parser to say so
        ("[]" * 100_000, False),
    ],
)
def test_too_deep_measures_nesting(text, deep):
    from costbook.sources._fetch import too_deep

    assert too_deep(text) is deep


# -- https ------------------------------------------------------------------------------------


@pytest.fixture
def tls(monkeypatch, tmp_path) -> ssl.SSLContext:
    """A server context with a certificate for 127.0.0.1 from a local CA that the client
    trusts through SSL_CERT_FILE (read by the default context, as in production)."""
    import trustme

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    monkeypatch.setenv("SSL_CERT_FILE", str(pem))
    return context


def test_https_sends_the_key_and_verifies_the_certificate(tls, monkeypatch):
    with ModelsAPIServer(tls) as secure:
        secure.serve(OPENROUTER_PATH, OPENROUTER)
        fetched = fetch(secure.url + OPENROUTER_PATH, api_key=SECRET)
        assert fetched.url.startswith("https://127.0.0.1:") and fetched.credentials_sent
        assert len(fetched.data["data"]) == len(OPENROUTER["data"])
        assert secure.requests[0]["headers"]["Authorization"] == f"Bearer {SECRET}"
        monkeypatch.delenv("SSL_CERT_FILE")  # a certificate no trusted CA signed
        with pytest.raises(SyncError) as caught:
            fetch(secure.url + OPENROUTER_PATH, api_key=SECRET, attempts=1)
        assert str(caught.value).startswith(f"GET {secure.url}{OPENROUTER_PATH}: ")
        assert "\n" not in str(caught.value) and len(secure.requests) == 1


def test_a_redirect_from_https_to_http_is_refused_before_any_request(tls, server):
    server.serve(OPENROUTER_PATH, OPENROUTER)
    with ModelsAPIServer(tls) as secure:
        secure.serve(OPENROUTER_PATH, Reply("", 301, {"Location": server.url + OPENROUTER_PATH}))
        with pytest.raises(SyncError, match=r"from https to plain http; refused$"):
            fetch(secure.url + OPENROUTER_PATH, api_key=SECRET)
    assert server.requests == []


def test_a_dripping_https_server_meets_the_deadline(tls):
    with ModelsAPIServer(tls) as secure:
        secure.serve(OPENROUTER_PATH, Reply(OPENROUTER, drip=0.05))
        started = time.monotonic()
        with pytest.raises(SyncError, match=r"no complete answer within 1s, the deadline"):
            fetch(secure.url + OPENROUTER_PATH, timeout=5, deadline=1)
        assert time.monotonic() - started < 4
