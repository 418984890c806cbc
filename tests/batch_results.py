"""Batch results as the providers write them: OpenAI Batch output lines and Anthropic
Message Batches results, with the costs they come to at the batch service tier."""

from __future__ import annotations

import json
from decimal import Decimal

# gpt-4o-mini at the batch tier: $0.075/M input and cache reads, $0.30/M output
OPENAI_BATCH_COST = Decimal("0.000135")  # 600 x $0.075/M + 400 cached x $0.075/M + 200 x $0.30/M
# claude-sonnet-4-6 at the batch tier: $1.50/M input, $7.50/M output
ANTHROPIC_BATCH_COST = Decimal("0.003")  # 1,000 x $1.50/M + 200 x $7.50/M


def openai_line(custom_id, number, **body):
    answer = {
        "id": f"chatcmpl-{number}", "object": "chat.completion", "created": 1_700_000_000,
        "model": "gpt-4o-mini-2024-07-18", "service_tier": "default",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "Hi"}}],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 1200,
                  "prompt_tokens_details": {"cached_tokens": 400}},
        **body,
    }
    return json.dumps({"id": f"batch_req_{number}", "custom_id": custom_id,
                       "response": {"status_code": 200, "request_id": f"req_{number}",
                                    "body": answer}, "error": None})


def openai_error_line(custom_id, number):
    return json.dumps({"id": f"batch_req_{number}", "custom_id": custom_id,
                       "response": {"status_code": 400, "request_id": f"req_{number}",
                                    "body": {"error": {"message": "bad", "type": "x"}}},
                       "error": None})


def anthropic_result(custom_id, number, kind="succeeded"):
    if kind != "succeeded":
        error = {"type": "error", "error": {"type": "invalid_request_error",
                                            "message": "bad"}}
        return {"custom_id": custom_id, "result": {"type": kind, **(
            {"error": error} if kind == "errored" else {})}}
    message = {"id": f"msg_{number}", "type": "message", "role": "assistant",
               "model": "claude-sonnet-4-6", "content": [{"type": "text", "text": "Hi"}],
               "stop_reason": "end_turn", "stop_sequence": None,
               "usage": {"input_tokens": 1000, "output_tokens": 200,
                         "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                         "service_tier": "batch"}}
    return {"custom_id": custom_id, "result": {"type": "succeeded", "message": message}}
