from decimal import Decimal

import pytest

from costbook.tokens._prompts import estimate_completion, estimate_embeddings

EMBEDDER = "text-embedding-3-small"  # $0.02/M input
INSTRUCT = "gpt-3.5-turbo-instruct"  # $1.50/M input, $2/M output


def test_prompt_estimates_count_every_prompt_and_candidate():
    one = estimate_completion({"model": INSTRUCT, "prompt": "Say hello"}, provider="openai")
    assert (one.input_tokens, one.max_output_tokens, one.n) == (2, 16, 1)
    many = estimate_completion({"model": INSTRUCT, "prompt": ["Say hello", "Hi"],
                                "max_tokens": 5, "n": 2, "best_of": 3}, provider="openai")
    assert (many.input_tokens, many.max_output_tokens, many.n) == (3, 5, 6)
    assert many.high.total == Decimal("0.0000645")  # 3 x $1.50/M + 30 x $2/M
    # many inputs together may pass one input's window: never a gate
    big = estimate_embeddings({"model": EMBEDDER, "input": [[7] * 8000] * 3},
                              provider="openai")
    assert big.input_tokens == 24_000 and big.exact


@pytest.mark.parametrize(("body", "words"), [
    ({"model": EMBEDDER}, "no 'input'"),
    ({"input": "hi"}, "no 'model'"),
    ({"model": EMBEDDER, "input": {"text": "hi"}}, "must be a string"),
    ({"model": EMBEDDER, "input": ["hi", 3.5]}, r"input\[1\] must be"),
])
def test_a_wrong_embeddings_body_is_named(body, words):
    with pytest.raises(ValueError, match=words):
        estimate_embeddings(body, provider="openai")
