"""Request headers that steer the local fake servers (fake_llm_server.py and
fake_anthropic_server.py): the scenario to play and the counts to report."""

from __future__ import annotations


def scenario(*words: str, **counts: object) -> dict[str, str]:
    """Headers naming the scenario ``words`` (``X-Fake-Scenario``) and the counts to
    report (``input_tokens=5`` sends ``X-Fake-Input-Tokens: 5``)."""
    headers = {"X-Fake-Scenario": ",".join(words)} if words else {}
    for name, value in counts.items():
        headers[f"X-Fake-{name.replace('_', '-').title()}"] = str(value)
    return headers
