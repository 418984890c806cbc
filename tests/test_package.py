import json
import subprocess
import sys

import pytest

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


def test_no_folder_of_the_package_hides_a_public_name():
    """Importing a subpackage sets it as an attribute of ``costbook``: none may share the
    name of a public function or class (``costbook.sync`` stays the function)."""
    import importlib
    import pkgutil

    for found in pkgutil.iter_modules(costbook.__path__, "costbook."):
        # the package's own children (not their modules, which may need an extra)
        if not found.name.endswith("__main__"):  # that one runs the command line
            importlib.import_module(found.name)
    for name in costbook.__all__:
        assert not isinstance(getattr(costbook, name), type(costbook)), name


def test_unknown_attribute():
    try:
        costbook.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_the_oldest_constraints_pin_every_declared_lower_bound():
    """CI's oldest run installs exactly the lower bounds pyproject.toml declares for the
    runtime dependencies and the SDK extras."""
    import re
    from pathlib import Path

    tomllib = pytest.importorskip("tomllib")  # Python 3.11 and later

    root = Path(__file__).resolve().parent.parent
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    declared = {}
    for requirement in [*project["dependencies"],
                        *[r for name in ("openai", "anthropic", "postgres", "otel", "langchain",
                                                     "google", "bedrock")
                          for r in extras[name]]]:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[a-z]+\])?>=([0-9.]+)(?:,<\d+)?", requirement)
        assert match, requirement
        declared[match[1].lower()] = match[2]
    pins = {}
    for line in (root / ".ci" / "oldest-constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower()] = version
    for name, version in declared.items():
        assert pins.get(name, "").startswith(version), (name, version, pins.get(name))
