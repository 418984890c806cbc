import json
import subprocess
import sys

import costbook

PROBE = """
import json, sys
before = set(sys.modules)
import costbook
loaded = sorted(set(sys.modules) - before)
print(json.dumps(loaded))
"""


def test_import_loads_no_tables_tokenizer_database_or_sdk():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                            check=True)
    loaded = json.loads(result.stdout)
    for heavy in ("pydantic", "yaml", "tiktoken", "sqlite3", "openai", "typing"):
        assert heavy not in loaded, f"import costbook loads {heavy}"
    assert "costbook.pricing._catalog" in loaded


def test_every_public_name_resolves():
    for name in costbook.__all__:
        assert getattr(costbook, name) is not None, name
    assert set(costbook.__all__) <= set(dir(costbook))


def test_unknown_attribute():
    try:
        costbook.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
