"""A client of an SDK version costbook has not been tested with is tracked where its
surface is the same, and refused at track() with one line where it is not."""

import warnings

import anthropic
import openai
import pytest

from costbook import Ledger, track
from costbook.client import _sdk_support
from fake_anthropic_server import client as anthropic_client

BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite") as book:
        yield book


@pytest.fixture
def untested_openai(monkeypatch):
    monkeypatch.setattr(openai, "__version__", "9.1.0")
    monkeypatch.setattr(_sdk_support, "_warned", set())


def test_the_installed_sdks_are_within_the_tested_range():
    for sdk, module in (("openai", openai), ("anthropic", anthropic)):
        _, oldest, newest = _sdk_support.TESTED[sdk]
        assert oldest <= int(module.__version__.split(".")[0]) <= newest, module.__version__


def test_an_untested_major_version_with_the_same_surface_is_tracked_with_a_warning(
        llm_server, ledger, untested_openai):
    with pytest.warns(UserWarning, match=r"openai 9\.1\.0 is outside the versions costbook "
                                         r"is tested with \(2\.0 to 3\.x\)"):
        client = track(llm_server.client(), ledger=ledger, provider="openai")
    client.chat.completions.create(**BODY)
    [entry] = ledger.entries()
    assert (entry.status, entry.model) == ("ok", "gpt-4o-mini")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        track(llm_server.client(), ledger=ledger, provider="openai")  # warned once


def test_a_client_without_a_wrapped_method_fails_at_track_in_one_line(
        llm_server, ledger, untested_openai):
    client = llm_server.client()
    client.chat = object()  # a future SDK that moved chat completions elsewhere
    with pytest.raises(TypeError) as raised:
        track(client, ledger=ledger, provider="openai")
    assert str(raised.value) == (
        "track() cannot track this openai 9.1.0 client: it has no chat.completions.create; "
        "costbook supports openai 2.0 to 3.x")
    assert llm_server.requests == []


def test_an_anthropic_client_without_the_stream_helper_fails_at_track(llm_server, ledger,
                                                                       monkeypatch):
    client = anthropic_client(llm_server)
    monkeypatch.setattr(anthropic, "__version__", "7.0.0")
    client.messages = type("Messages", (), {"create": lambda self: None})()
    with pytest.raises(TypeError, match=r"^track\(\) cannot track this anthropic 7\.0\.0 "
                                        r"client: it has no messages\.stream; costbook "
                                        r"supports anthropic 1\.0 to 2\.x$"):
        track(client, ledger=ledger, provider="anthropic")
