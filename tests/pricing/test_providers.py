"""Provider detection from a client's base URL, by the api_hosts of the pricing tables."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

import costbook
from costbook import CostbookError, UnknownProviderError
from costbook.pricing._catalog import reset
from costbook.pricing._providers import provider_for_base_url, provider_for_client


@pytest.mark.parametrize(
    ("url", "provider"),
    [
        ("https://api.openai.com/v1", "openai"),
        ("https://openrouter.ai/api/v1", "openrouter"),
        ("https://router.requesty.ai/v1", "requesty"),
        ("https://api.anthropic.com", "anthropic"),
        ("HTTPS://OpenRouter.AI/api/v1/", "openrouter"),
        ("https://api.openai.com:443/v1", "openai"),
        ("https://api.openai.com./v1", "openai"),
        ("openrouter.ai/api/v1", "openrouter"),
        ("https://eu.openrouter.ai/api/v1", "openrouter"),
        ("http://127.0.0.1:8000/v1", None),
        ("http://localhost:11434/v1", None),
        ("https://notopenrouter.ai/api/v1", None),
        ("https://openrouter.ai.example.com/v1", None),
        ("https://requesty.ai/v1", None),
        ("", None),
        ("http://[::1", None),
    ],
)
def test_provider_for_base_url(url: str, provider: str | None) -> None:
    assert provider_for_base_url(url) == provider


def test_the_base_url_of_an_openai_client() -> None:
    client = openai.OpenAI(base_url="https://openrouter.ai/api/v1", api_key="sk-test-x")
    assert provider_for_base_url(str(client.base_url)) == "openrouter"
    assert provider_for_base_url(str(openai.OpenAI(api_key="sk-test-x").base_url)) == "openai"


def test_provider_for_client_detects_the_host() -> None:
    assert provider_for_client("https://router.requesty.ai/v1") == "requesty"


def test_a_given_provider_wins_and_is_checked() -> None:
    assert provider_for_client("http://127.0.0.1:9/v1", "openrouter") == "openrouter"
    assert provider_for_client("https://api.openai.com/v1", "requesty") == "requesty"
    with pytest.raises(UnknownProviderError, match="unknown provider 'openrutor'"):
        provider_for_client("https://openrouter.ai/api/v1", "openrutor")


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/v1", None])
def test_an_unknown_host_asks_for_provider(url: str | None) -> None:
    with pytest.raises(CostbookError) as error:
        provider_for_client(url)
    message = str(error.value)
    assert "pass provider=" in message
    assert "openai" in message and "openrouter" in message and "requesty" in message
    if url is not None:
        assert repr(url) in message
        assert "'127.0.0.1'" in message


@pytest.fixture
def own_table(tmp_path: Path) -> Iterator[Path]:
    table = tmp_path / "internal.yaml"
    table.write_text(
        "provider: internal\n"
        "name: Internal gateway\n"
        "pricing_url: https://llm.internal.example/pricing\n"
        "api_hosts: [llm.internal.example, gw.openrouter.ai]\n"
        "models: []\n"
    )
    costbook.load(table)
    yield table
    reset()


def test_hosts_of_a_table_added_with_load(own_table: Path) -> None:
    assert provider_for_base_url("https://llm.internal.example/v1") == "internal"
    # the longest API host that matches wins over a shorter one of another provider
    assert provider_for_base_url("https://gw.openrouter.ai/api/v1") == "internal"
    assert provider_for_base_url("https://openrouter.ai/api/v1") == "openrouter"


def test_hosts_follow_the_catalog_when_it_changes(own_table: Path) -> None:
    assert provider_for_base_url("https://llm.internal.example/v1") == "internal"
    reset()
    assert provider_for_base_url("https://llm.internal.example/v1") is None
