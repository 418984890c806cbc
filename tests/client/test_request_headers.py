"""The Anthropic beta flags a request sends, from the client and from the call."""

from costbook.client._request_headers import client_betas, request_betas
from fake_anthropic_server import client


def test_the_clients_default_header_and_the_calls_own(llm_server):
    plain = client(llm_server)
    assert client_betas(plain) == ()
    beta = client(llm_server, default_headers={"Anthropic-Beta": "context-1m-2025-08-07, x-1"})
    flags = client_betas(beta)
    assert flags == ("context-1m-2025-08-07", "x-1")
    # the call's header replaces the client's, as the SDK merges headers; betas= adds
    assert request_betas(flags, {"extra_headers": {"anthropic-beta": "y-2"}}) == ("y-2",)
    assert request_betas(flags, {"betas": ["z-3"]}) == ("context-1m-2025-08-07", "x-1", "z-3")
    assert request_betas((), {"extra_headers": {"X-Other": "1"}}) == ()


def test_no_other_header_is_read(llm_server):
    keyed = client(llm_server, default_headers={"Authorization": "Bearer sk-secret-123456"})
    assert client_betas(keyed) == ()
