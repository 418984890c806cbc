"""``track()`` for AWS's ``boto3`` ``bedrock-runtime`` client."""

from __future__ import annotations

import sys
from typing import Any

from ._tracking import _Settings


def is_bedrock_client(client: object) -> bool:
    """Whether ``client`` is a ``boto3`` / ``botocore`` ``bedrock-runtime`` client."""
    module = sys.modules.get("botocore.client")
    kind = getattr(module, "BaseClient", None)
    if not isinstance(kind, type) or not isinstance(client, kind):
        return False
    meta = getattr(client, "meta", None)
    model = getattr(meta, "service_model", None)
    return getattr(model, "service_name", None) == "bedrock-runtime"


def client_facts(client: Any) -> tuple[str, str | None, dict[str, str]]:
    raise NotImplementedError


def install_bedrock(client: Any, settings: _Settings) -> Any:
    raise NotImplementedError
