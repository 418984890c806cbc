import json
from decimal import Decimal

import pytest

import costbook
from batch_results import (
    ANTHROPIC_BATCH_COST,
    OPENAI_BATCH_COST,
    anthropic_result,
    openai_error_line,
    openai_line,
)
from costbook import Ledger, Usage, record_batch


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite") as book:
        yield book


def test_openai_batch_output_is_recorded_per_request_at_the_batch_tier(tmp_path, ledger):
    path = tmp_path / "output.jsonl"
    path.write_text("\n".join([openai_line("req-1", 1), openai_line("req-2", 2),
                               openai_error_line("req-3", 3)]) + "\n")
    done = record_batch(path, provider="openai", ledger=ledger, tags={"job": "nightly"})
    assert (len(done.entries), done.already, done.failed, done.unpriced) == (3, 0, 1, 0)
    assert done.total == 2 * OPENAI_BATCH_COST
    first, second, failed = ledger.entries()
    assert (first.request_id, second.request_id, failed.request_id) == ("req-1", "req-2",
                                                                        "req-3")
    assert (first.status, first.model, first.provider) == ("ok", "gpt-4o-mini", "openai")
    assert first.usage == Usage(input_tokens=1000, output_tokens=200, cache_read_tokens=400)
    assert first.items == {"input": Decimal("0.000045"), "cache_read": Decimal("0.00003"),
                           "output": Decimal("0.00006")}
    assert first.total == OPENAI_BATCH_COST  # the standard rates would make it 0.00024
    assert first.tags == {"job": "nightly", "batch_result": "batch_req_1"}
    assert (failed.status, failed.total) == ("error", 0)
    assert done.as_dict() == {"recorded": 3, "already": 0, "failed": 1, "unpriced": 0,
                              "total": "0.00027"}


def test_recording_the_same_results_again_records_nothing_twice(tmp_path, ledger):
    lines = [openai_line("req-1", 1), openai_error_line("req-2", 2)]
    record_batch("\n".join(lines), provider="openai", ledger=ledger)
    again = record_batch("\n".join([*lines, openai_line("req-3", 3)]), provider="openai",
                         ledger=ledger)
    assert (len(again.entries), again.already) == (1, 2)
    assert [e.request_id for e in ledger.entries()] == ["req-1", "req-2", "req-3"]
    # another batch reusing the same custom_id is another request
    other = record_batch([openai_line("req-1", 99)], provider="openai", ledger=ledger)
    assert len(other.entries) == 1 and ledger.total() == 3 * OPENAI_BATCH_COST


def test_anthropic_message_batch_results_as_dicts_text_and_sdk_objects(ledger):
    from anthropic.types.messages import MessageBatchIndividualResponse

    results = [anthropic_result("a", 1), anthropic_result("b", 2, "errored"),
               anthropic_result("c", 3, "expired")]
    sdk = [MessageBatchIndividualResponse.model_validate(anthropic_result("d", 4))]
    done = record_batch(results, provider="anthropic", ledger=ledger)
    assert (len(done.entries), done.failed, done.total) == (3, 2, ANTHROPIC_BATCH_COST)
    done = record_batch(sdk, provider="anthropic", ledger=ledger)
    assert done.total == ANTHROPIC_BATCH_COST
    text = "\n".join(json.dumps(r) for r in results).encode()
    assert record_batch(text, provider="anthropic", ledger=ledger).already == 3
    succeeded = ledger.entries(status="ok")
    assert [(e.request_id, e.model, e.total) for e in succeeded] == [
        ("a", "claude-sonnet-4-6", ANTHROPIC_BATCH_COST),
        ("d", "claude-sonnet-4-6", ANTHROPIC_BATCH_COST)]
    assert [e.tags["batch_result"] for e in succeeded] == ["msg_1", "msg_4"]


def test_a_model_without_batch_rates_is_unpriced_never_at_standard_rates(ledger):
    line = openai_line("e-1", 1, model="text-embedding-3-small", object="list",
                       usage={"prompt_tokens": 1000, "total_tokens": 1000})
    with pytest.warns(RuntimeWarning, match="1 batch request"):
        done = record_batch([line], provider="openai", ledger=ledger)
    [entry] = ledger.entries()
    assert (done.unpriced, entry.status, entry.total) == (1, "unpriced", 0)
    assert entry.usage == Usage(input_tokens=1000)


@pytest.mark.parametrize(("lines", "words"), [
    (['{"custom_id": "a", "response": {"status_code": 200, "body": {"model": "gpt-4o"}}}'],
     r"batch result 1 \('a'\) reports no usage"),
    ([openai_line("a", 1), "not json"], "batch result 2 is not JSON"),
    (['{"response": {}}'], "batch result 1 has no custom_id"),
    (['{"custom_id": "x", "other": 1}'], "neither an OpenAI Batch output line"),
    (['[1, 2]'], "must be a JSON object"),
])
def test_a_wrong_result_is_named_and_nothing_is_recorded(ledger, lines, words):
    with pytest.raises(ValueError, match=words):
        record_batch(lines, provider="openai", ledger=ledger)
    assert ledger.entries() == []


def test_wrong_arguments_are_named(ledger):
    with pytest.raises(ValueError, match="provider must name"):
        record_batch([], provider="", ledger=ledger)
    with pytest.raises(TypeError, match="results must be"):
        record_batch({"custom_id": "a"}, provider="openai", ledger=ledger)
    with pytest.raises(ValueError, match="set by record_batch"):
        record_batch([], provider="openai", ledger=ledger, tags={"batch_result": "x"})


def test_record_batch_is_public():
    assert costbook.record_batch is record_batch and "record_batch" in costbook.__all__


@pytest.mark.parametrize("text", [
    "[" * 100_000 + "]" * 100_000,
    '{"custom_id": "a", "response": {"status_code": 200, "body": {"model": "gpt-4o", '
    '"usage": {"prompt_tokens": NaN, "completion_tokens": 1}}}}',
    '{"custom_id": "a", "response": {"status_code": 200, "body": {"model": "gpt-4o", '
    '"usage": {"prompt_tokens": -5, "completion_tokens": 1}}}}',
    '{"custom_id": "a", "response": {"status_code": 200, "body": {"model": "gpt-4o", '
    '"usage": {"prompt_tokens": ' + "9" * 5000 + ', "completion_tokens": 1}}}}',
    '{"custom_id": "a", "result": {"type": 7}}',
    b"\xff\xfe not text",
])
def test_hostile_results_are_refused_with_a_clear_error_and_nothing_recorded(ledger, text):
    with pytest.raises(ValueError, match=r"batch result|UTF-8"):
        record_batch(text, provider="openai", ledger=ledger)
    assert ledger.entries() == []


def test_a_file_that_is_not_text_is_named(tmp_path, ledger):
    path = tmp_path / "output.jsonl"
    path.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(ValueError, match=r"output\.jsonl is not UTF-8 text"):
        record_batch(path, provider="openai", ledger=ledger)
