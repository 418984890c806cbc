"""``costbook record-batch``."""

from __future__ import annotations

import io
import json

import pytest

from batch_results import OPENAI_BATCH_COST, openai_error_line, openai_line
from costbook import Ledger
from costbook.cli._main import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def output(tmp_path):
    path = tmp_path / "output.jsonl"
    path.write_text("\n".join([openai_line("req-1", 1), openai_line("req-2", 2),
                               openai_error_line("req-3", 3)]) + "\n")
    return path


def test_record_batch_records_and_then_leaves_the_recorded_alone(capsys, tmp_path, output):
    book = str(tmp_path / "ledger.sqlite")
    code, out, err = run(capsys, "record-batch", str(output), "--provider", "openai",
                         "--ledger", book, "--tag", "job=nightly")
    assert (code, err) == (0, "")
    assert out == ("recorded 3 request(s), $0.00027 at batch rates\n"
                   "failed, not billed: 1 (recorded as errors at $0)\n")
    code, out, _ = run(capsys, "record-batch", str(output), "--provider", "openai",
                       "--ledger", book, "--json")
    assert code == 0 and json.loads(out) == {"recorded": 0, "already": 3, "failed": 0,
                                             "unpriced": 0, "total": "0"}
    with Ledger(book) as ledger:
        entries = ledger.entries()
    assert [e.request_id for e in entries] == ["req-1", "req-2", "req-3"]
    assert sum(e.total for e in entries) == 2 * OPENAI_BATCH_COST
    assert all(e.tags["job"] == "nightly" for e in entries)


def test_record_batch_reads_standard_input(capsys, tmp_path, monkeypatch, output):
    monkeypatch.setattr("sys.stdin", io.StringIO(output.read_text()))
    code, out, _ = run(capsys, "record-batch", "-", "--provider", "openai",
                       "--ledger", str(tmp_path / "l.sqlite"), "--json")
    assert code == 0 and json.loads(out)["total"] == "0.00027"


@pytest.mark.parametrize(("text", "words"), [
    ("not json\n", "batch result 1 is not JSON"),
    ('{"custom_id": "x"}\n', "neither an OpenAI Batch output line"),
])
def test_a_wrong_file_is_one_line_and_exit_2(capsys, tmp_path, text, words):
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    code, out, err = run(capsys, "record-batch", str(path), "--provider", "openai",
                         "--ledger", str(tmp_path / "l.sqlite"))
    assert code == 2 and out == "" and words in err and err.count("\n") == 1
    code, _, err = run(capsys, "record-batch", str(tmp_path / "missing.jsonl"),
                       "--provider", "openai", "--ledger", str(tmp_path / "l.sqlite"))
    assert code == 2 and "no such file" in err


def test_unpriced_requests_are_said_on_stderr(capsys, tmp_path):
    path = tmp_path / "embeddings.jsonl"
    path.write_text(openai_line("e-1", 1, model="text-embedding-3-small",
                                usage={"prompt_tokens": 10, "total_tokens": 10}) + "\n")
    code, out, err = run(capsys, "record-batch", str(path), "--provider", "openai",
                         "--ledger", str(tmp_path / "l.sqlite"))
    assert code == 0 and "unpriced: 1" in out
    assert err.startswith("costbook: warning: ") and "batch rates" in err
