"""No silent gaps: every method of the installed openai and anthropic SDKs that creates,
streams or parses is either tracked by ``track()`` or listed as left alone with its reason
(docs/tracked-calls.md), and docs/tracked-client.md names every tracked one."""

from __future__ import annotations

import functools
import inspect
import re
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from anthropic._resource import SyncAPIResource as AnthropicResource
from openai._resource import SyncAPIResource as OpenAIResource

from costbook import track

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "tracked-calls.md"
ROW = re.compile(r"^\| (openai|anthropic) \| `([^`]+)` \| (.+?) \|$", re.MULTILINE)
SENDS = ("create", "stream", "parse")


def _tables() -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    text = PAGE.read_text(encoding="utf-8")
    tracked_part, _, left_part = text.partition("## Left alone")
    tracked: dict[str, dict[str, str]] = {"openai": {}, "anthropic": {}}
    left: dict[str, dict[str, str]] = {"openai": {}, "anthropic": {}}
    for part, into in ((tracked_part, tracked), (left_part.partition("## Batches")[0], left)):
        for sdk, path, how in ROW.findall(part):
            assert path not in into[sdk], f"{sdk} {path} is listed twice"
            into[sdk][path] = how
    return tracked, left


TRACKED, LEFT_ALONE = _tables()


def _sending_methods(client: Any, base: type) -> list[str]:
    """The dotted paths of every create, stream and parse method under ``client``."""
    found: list[str] = []

    def walk(resource: Any, prefix: list[str], seen: frozenset[type]) -> None:
        kind = type(resource)
        for name in dir(kind):
            if name.startswith("_") or name in ("with_raw_response",
                                                "with_streaming_response"):
                continue
            attribute = inspect.getattr_static(kind, name)
            if isinstance(attribute, functools.cached_property):
                child = getattr(resource, name)
                if isinstance(child, base) and type(child) not in seen:
                    walk(child, [*prefix, name], seen | {type(child)})
            elif name in SENDS and callable(attribute):
                found.append(".".join([*prefix, name]))

    walk(client, [], frozenset())
    return found


def _clients() -> dict[str, tuple[Any, type]]:
    return {
        "openai": (openai.OpenAI(api_key="sk-test-walk"), OpenAIResource),
        "anthropic": (anthropic.Anthropic(api_key="sk-ant-test-walk"),
                      AnthropicResource),
    }


@pytest.mark.parametrize("sdk", ["openai", "anthropic"])
def test_every_sending_method_is_tracked_or_left_alone_with_a_reason(sdk):
    client, base = _clients()[sdk]
    methods = _sending_methods(client, base)
    assert len(methods) > 10  # the walk reached the SDK's resources
    silent = [path for path in methods if path not in TRACKED[sdk]
              and not any(fnmatchcase(path, pattern) for pattern in LEFT_ALONE[sdk])]
    assert silent == [], (
        f"the installed {sdk} SDK has methods that send a request which costbook neither "
        f"tracks nor lists as left alone (with why) in {PAGE.name}: {silent}")
    if not _newest_major(sdk):
        return  # an older release (CI's oldest run) may lack methods the page lists
    # what is listed exists, so the tables follow the SDK
    gone = [path for path in TRACKED[sdk] if path not in methods]
    assert gone == [], f"{PAGE.name} lists {sdk} methods the SDK no longer has: {gone}"
    unused = [pattern for pattern in LEFT_ALONE[sdk]
              if not any(fnmatchcase(path, pattern) for path in methods)]
    assert unused == [], f"{PAGE.name} leaves alone {sdk} methods that match nothing: {unused}"
    assert all(len(why) > 10 for why in LEFT_ALONE[sdk].values())


def _newest_major(sdk: str) -> bool:
    """Whether the installed SDK is of the newest major version costbook is tested with
    (the page lists that version's methods)."""
    from costbook.client._sdk_support import TESTED, sdk_version

    return sdk_version(sdk).split(".")[0] == str(TESTED[sdk][2])


def _resource(client: Any, path: str) -> tuple[Any, str]:
    *parents, method = path.split(".")
    resource = client
    for name in parents:
        resource = getattr(resource, name)
    return resource, method


@pytest.mark.parametrize("make", [
    lambda: openai.OpenAI(api_key="sk-test-walk"),
    lambda: openai.AsyncOpenAI(api_key="sk-test-walk"),
    lambda: anthropic.Anthropic(api_key="sk-ant-test-walk"),
    lambda: anthropic.AsyncAnthropic(api_key="sk-ant-test-walk"),
], ids=["openai", "async-openai", "anthropic", "async-anthropic"])
def test_what_the_page_calls_tracked_is_wrapped_on_a_tracked_client(make, tmp_path):
    from costbook import Ledger

    plain = make()
    sdk = "anthropic" if isinstance(plain, (anthropic.Anthropic,
                                            anthropic.AsyncAnthropic)) else "openai"
    with Ledger(tmp_path / "l.sqlite") as ledger:
        tracked = track(plain, ledger=ledger, provider=sdk)
    for path, how in TRACKED[sdk].items():
        try:
            resource, method = _resource(tracked, path)
        except AttributeError:
            assert not _newest_major(sdk), f"{sdk} has no {path}"
            continue  # not in this older release of the SDK
        wrapped = "create" if how.startswith("through `create`") else method
        assert wrapped in vars(resource), f"{sdk} {path} is listed as tracked but is not"
        # the untracked client is left as it was
        original, _ = _resource(plain, path)
        assert wrapped not in vars(original)


def test_the_tracked_client_guide_names_every_tracked_method():
    section = (ROOT / "docs" / "tracked-client.md").read_text(encoding="utf-8")
    missing = [f"{sdk} {path}" for sdk, paths in TRACKED.items() for path in paths
               if f"`{path}`" not in section]
    assert missing == []
