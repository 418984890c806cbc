import hashlib
import inspect
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading

import pytest

from costbook.tokens import _encodings
from costbook.tokens._encodings import (
    ENCODINGS,
    EXPECTED_SHA256,
    EncodingError,
    build_encoding,
    encoding,
    parse_ranks,
    read_vocabulary,
)


@pytest.mark.parametrize("name", ENCODINGS)
def test_packaged_vocabulary_has_the_hash_tiktoken_expects(name):
    from tiktoken_ext import openai_public

    digest = hashlib.sha256(read_vocabulary(name)).hexdigest()
    assert digest == EXPECTED_SHA256[name]
    # the same hash is written in tiktoken's own definition of the encoding
    assert f'expected_hash="{digest}"' in inspect.getsource(openai_public.ENCODING_CONSTRUCTORS[name])


@pytest.mark.parametrize(
    ("name", "n_vocab", "specials"),
    [
        ("o200k_base", 200_019, {"<|endoftext|>": 199_999, "<|endofprompt|>": 200_018}),
        ("cl100k_base", 100_277, {"<|endoftext|>": 100_257, "<|endofprompt|>": 100_276}),
    ],
)
def test_encodings_are_built_with_tiktokens_definition(name, n_vocab, specials):
    built = encoding(name)
    assert built.name == name
    assert built.n_vocab == n_vocab
    for token, value in specials.items():
        assert built.encode(token, allowed_special="all") == [value]


def test_an_encoding_is_built_once_and_kept():
    assert encoding("o200k_base") is encoding("o200k_base")


def test_concurrent_first_use_builds_one_encoding():
    _encodings._loaded.pop("cl100k_base", None)
    start = threading.Barrier(6)
    found = []

    def use():
        start.wait()
        found.append(encoding("cl100k_base"))

    threads = [threading.Thread(target=use) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 6
    assert len({id(e) for e in found}) == 1
    assert encoding("cl100k_base") is found[0]


def test_a_damaged_vocabulary_is_refused():
    vocabulary = read_vocabulary("cl100k_base")
    damaged = vocabulary.replace(b" 1000\n", b" 1001\n", 1)
    with pytest.raises(EncodingError, match=r"cl100k_base vocabulary has sha256 [0-9a-f]{64}, "
                       r"but tiktoken expects 2239.*reinstall"):
        build_encoding("cl100k_base", damaged)


def test_an_unknown_encoding_names_the_known_ones():
    with pytest.raises(EncodingError, match="no offline tokenizer 'p50k_base'; costbook has "
                       "o200k_base, cl100k_base"):
        encoding("p50k_base")


def test_a_malformed_line_is_named():
    with pytest.raises(EncodingError, match=r"line 2 is not '<base64> <rank>': b'YWJj'"):
        parse_ranks(b"YQ== 0\nYWJj\n")


def test_ranks_are_parsed_from_base64():
    assert parse_ranks(b"YQ== 0\n\nYWJj 1\n") == {b"a": 0, b"abc": 1}


# --- offline: no network, no cache, a read-only home ------------------------------------

_OFFLINE_SCRIPT = textwrap.dedent(
    """
    import json, os, socket, sys
    checks = {}
    try:
        socket.create_connection(("1.1.1.1", 443), timeout=3).close()
        checks["network"] = True
    except OSError:
        checks["network"] = False
    probe = os.path.join(os.environ["HOME"], "probe")
    try:
        open(probe, "w").close()
        os.remove(probe)
        checks["home_writable"] = True
    except OSError:
        checks["home_writable"] = False
    checks["tiktoken_cache_dir"] = os.environ.get("TIKTOKEN_CACHE_DIR")

    import costbook
    from costbook.tokens._encodings import encoding

    checks["o200k"] = costbook.count_tokens("tiktoken is great!", "gpt-4o-mini")
    checks["cl100k"] = len(encoding("cl100k_base").encode_ordinary("tiktoken is great!"))
    body = {"model": "gpt-4o-mini", "max_tokens": 10,
            "messages": [{"role": "user", "content": "Hello"}]}
    checks["estimate"] = costbook.estimate_request(body).input_tokens
    print(json.dumps(checks))
    """
)


def _isolation() -> tuple[list[str], str]:
    """A command prefix that runs without network: a new network namespace (``unshare``)
    as an unprivileged user, else a ``sitecustomize`` that refuses socket connections."""
    prefix = ["unshare", "-n", "--map-user=65534", "--map-group=65534"]
    if shutil.which("unshare") and subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
        return prefix, "network namespace"
    return [], "sitecustomize"


_BLOCK_SOCKETS = textwrap.dedent(
    """
    import socket

    def _refuse(self, *args, **kwargs):
        raise OSError("network access is refused in this test")

    socket.socket.connect = _refuse
    socket.socket.connect_ex = _refuse
    """
)


def test_counting_works_offline_with_a_read_only_home(tmp_path):
    home = tmp_path / "home"
    cache = tmp_path / "cache"
    home.mkdir()
    cache.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR", "COSTBOOK_PRICING_PATH")}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(cache), TMPDIR=str(cache),
               PYTHONDONTWRITEBYTECODE="1")
    prefix, how = _isolation()
    if not prefix:
        site = tmp_path / "site"
        site.mkdir()
        (site / "sitecustomize.py").write_text(_BLOCK_SOCKETS)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    # Root ignores file modes; in the namespace the process is an unprivileged user.
    read_only = bool(prefix) or os.geteuid() != 0
    home.chmod(0o555)
    cache.chmod(0o555)
    try:
        done = subprocess.run(
            [*prefix, sys.executable, "-c", _OFFLINE_SCRIPT],
            env=env, capture_output=True, text=True, timeout=120,
        )
    finally:
        home.chmod(0o755)
        cache.chmod(0o755)
    assert done.returncode == 0, f"({how}) {done.stderr}"
    checks = json.loads(done.stdout)
    assert checks["network"] is False, how
    if read_only:
        assert checks["home_writable"] is False, how
    assert checks["tiktoken_cache_dir"] is None
    assert checks["o200k"] == 6
    assert checks["cl100k"] == 6
    assert checks["estimate"] == 8  # 3 + "user" + "Hello" + 3
    assert list(home.iterdir()) == [] and list(cache.iterdir()) == []  # nothing written
