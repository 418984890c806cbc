import json
import subprocess
import sys

import pytest

from costbook.cli._main import main
from samples import CORPORATE_JARGON


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- costbook count -------------------------------------------------------------------------


def test_count_a_file(tmp_path, capsys):
    path = tmp_path / "note.txt"
    path.write_text("tiktoken is great!", encoding="utf-8")
    code, out, _ = run(capsys, "count", str(path), "--model", "gpt-4o-mini")
    assert code == 0
    assert out == "6 tokens  (openai:gpt-4o-mini, exact (o200k_base))\n"


def test_count_json(tmp_path, capsys):
    path = tmp_path / "note.txt"
    path.write_text("お誕生日おめでとう", encoding="utf-8")
    code, out, _ = run(capsys, "count", str(path), "--model", "gpt-4o-mini", "--json")
    assert code == 0
    data = json.loads(out)
    assert data == {"model": "gpt-4o-mini", "provider": "openai", "tokenizer": "o200k_base",
                    "exact": True, "characters": 9, "tokens": data["tokens"]}
    from costbook import count_tokens
    assert data["tokens"] == count_tokens("お誕生日おめでとう", "gpt-4o-mini")


def test_count_standard_input_in_a_real_process():
    done = subprocess.run(
        [sys.executable, "-m", "costbook", "count", "-", "--model", "claude-3-5-haiku-20241022",
         "--json"],
        input="tiktoken is great!", capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["exact"] is False
    assert data["tokens"] == 8  # 6 o200k_base tokens x 1.2, rounded up


def test_count_reads_standard_input_by_default():
    done = subprocess.run(
        [sys.executable, "-m", "costbook", "count", "--model", "gpt-4o-mini"],
        input="hello world", capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("2 tokens  (openai:gpt-4o-mini")


@pytest.mark.parametrize(
    ("setup", "argv", "message"),
    [
        (lambda p: p.write_bytes(b"\xff\xfe bad"), ["--model", "gpt-4o-mini"], "is not UTF-8 text"),
        (lambda p: p.write_text("x"), ["--model", "gpt-4o-mnii"], "unknown model 'gpt-4o-mnii'"),
        (lambda p: None, ["--model", "gpt-4o-mini"], "in.txt: no such file"),
        (lambda p: p.mkdir(), ["--model", "gpt-4o-mini"], "in.txt is a folder; give a file"),
    ],
)
def test_count_errors(tmp_path, capsys, setup, argv, message):
    path = tmp_path / "in.txt"
    setup(path)
    code, _, err = run(capsys, "count", str(path), *argv)
    assert code == 2
    assert err.startswith("costbook: error: ")
    assert message in err
    assert "Errno" not in err


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: p.mkdir(), "request.json is a folder; give a file"),
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff"), "request.json is not UTF-8 JSON"),
        (lambda p: None, "request.json: no such file"),
    ],
)
def test_request_file_errors_name_the_file_in_plain_words(tmp_path, capsys, setup, message):
    path = tmp_path / "request.json"
    setup(path)
    code, out, err = run(capsys, "estimate", "--request", str(path))
    assert (code, out) == (2, "")
    assert err.startswith(f"costbook: error: {tmp_path}")
    assert message in err
    assert "Errno" not in err and "codec" not in err


# --- costbook estimate --request ------------------------------------------------------------


@pytest.fixture
def request_file(tmp_path):
    path = tmp_path / "request.json"
    body = {"model": "gpt-4o-mini", "messages": CORPORATE_JARGON, "max_tokens": 100}
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


def test_estimate_a_request(request_file, capsys):
    code, out, _ = run(capsys, "estimate", "--request", str(request_file))
    assert code == 0
    assert out.splitlines() == [
        "openai:gpt-4o-mini  (exact)",
        "  input tokens                  124",
        "  images                          0",
        "  max output tokens             100",
        "  context window            128,000",
        "  low (no output)         $0.000019",
        "  high (max output)         $0.0001",
    ]


def test_estimate_a_request_as_json_at_a_provider(request_file, capsys):
    code, out, _ = run(capsys, "estimate", "--request", str(request_file),
                       "--provider", "requesty", "--json")
    assert code == 0
    data = json.loads(out)
    assert (data["provider"], data["model"]) == ("requesty", "openai/gpt-4o-mini")
    assert data["input_tokens"] == 124
    assert data["low"]["total"] == "0.0000186"
    assert data["high"]["total"] == "0.0000786"


def test_estimate_a_request_from_standard_input(request_file):
    done = subprocess.run(
        [sys.executable, "-m", "costbook", "estimate", "--request", "-", "--json"],
        input=request_file.read_text(), capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["high"]["total"] == "0.0000786"


def test_estimate_shows_what_was_approximated(tmp_path, capsys):
    path = tmp_path / "request.json"
    path.write_text(json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}]}))
    code, out, _ = run(capsys, "estimate", "--request", str(path))
    assert code == 0
    assert "(approximate)" in out.splitlines()[0]
    assert out.splitlines()[-1] == (
        "  ~ messages[0].content[0]: image of unknown size counted at the most one image "
        "costs (48169 tokens); give its size in image_sizes")


@pytest.mark.parametrize(
    ("argv", "body", "message"),
    [
        (["gpt-4o-mini"], None, "--request takes the model from the request body; leave out MODEL"),
        (["--input", "10"], None, "leave out --input"),
        ([], "{not json", "is not JSON"),
        ([], json.dumps({"model": "gpt-4o-mini", "max_tokens": 128_000,
                         "messages": [{"role": "user", "content": "hi"}]}),
         "asks for up to 128000 output tokens"),
        ([], json.dumps({"messages": []}), "the request body has no 'model'"),
        ([], "[" * 100_000 + "]" * 100_000, "is nested too deeply"),
        ([], '{"model": "gpt-4o-mini", "messages": ' + "[" * 5000 + "]" * 5000 + "}",
         "is nested too deeply"),
    ],
)
def test_estimate_request_errors(request_file, capsys, argv, body, message):
    if body is not None:
        request_file.write_text(body)
    code, _, err = run(capsys, "estimate", "--request", str(request_file), *argv)
    assert code == 2
    assert message in err and err.count("\n") == 1


def test_context_window_exceeded_names_the_three_numbers(tmp_path, capsys):
    path = tmp_path / "request.json"
    path.write_text(json.dumps({"model": "gpt-4o-mini", "max_tokens": 16_000,
                                "messages": [{"role": "user", "content": " hello" * 120_000}]}))
    code, _, err = run(capsys, "estimate", "--request", str(path))
    assert code == 2
    assert err == ("costbook: error: openai:gpt-4o-mini: 120007 input tokens + 16000 output "
                   "tokens = 136007, more than its context window of 128000 tokens\n")


def test_estimate_without_model_or_request(capsys):
    code, _, err = run(capsys, "estimate")
    assert code == 2
    assert "estimate needs a MODEL (or --request FILE" in err


# --- bounded input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["count", "/dev/zero", "--model", "gpt-4o-mini"],
        ["estimate", "--request", "/dev/zero"],
    ],
)
def test_an_endless_file_is_refused_at_the_size_limit(argv):
    done = subprocess.run([sys.executable, "-m", "costbook", *argv], capture_output=True,
                          text=True, timeout=120)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == ("costbook: error: /dev/zero holds more than 32,000,000 characters, "
                           f"the most costbook reads; give a smaller "
                           f"{'text' if argv[0] == 'count' else 'JSON'}\n")


def test_an_endless_standard_input_is_refused_at_the_size_limit():
    with open("/dev/zero", "rb") as zeros:
        done = subprocess.run(
            [sys.executable, "-m", "costbook", "count", "--model", "gpt-4o-mini"],
            stdin=zeros, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == ("costbook: error: standard input holds more than 32,000,000 "
                           "characters, the most costbook reads; give a smaller text\n")


def test_the_limit_is_on_characters_read(tmp_path):
    from costbook.cli import _common

    path = tmp_path / "in.txt"
    path.write_text("hello worl", encoding="utf-8")  # exactly the limit is read
    assert _common.read_text(str(path), limit=10) == "hello worl"
    path.write_text("hello world", encoding="utf-8")
    with pytest.raises(ValueError, match=r"in.txt holds more than 10 characters, the most "
                                         r"costbook reads; give a smaller text$"):
        _common.read_text(str(path), limit=10)
