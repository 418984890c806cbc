"""Checking tables: each one valid, and every documented example reproduced exactly."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from .._errors import CostbookError, PricingError
from ._calculator import price_with
from ._catalog import Catalog
from ._money import money_text
from ._usage import Usage


@dataclass
class CheckReport:
    """What ``check`` found: counts of what was checked and one message per problem."""

    files: int = 0
    models: int = 0
    examples: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "files": self.files,
            "models": self.models,
            "examples": self.examples,
            "problems": list(self.problems),
        }


def check_tables(paths: Sequence[str | os.PathLike[str]] | None = None) -> CheckReport:
    """Validate the tables in ``paths`` (files or folders; default: the bundled tables and
    the user's) and verify every documented example. Problems are collected, not raised."""
    from ._catalog import catalog
    from ._tables import read_table, table_files

    report = CheckReport()
    if paths is None:
        try:
            tables = catalog()
        except PricingError as exc:
            report.problems.append(str(exc))
            return report
        report.files = len({m.source for m in tables.models})
        _verify_examples(tables, report)
        return report
    loaded = []
    for given in paths:
        try:
            files = list(table_files([given]))
        except PricingError as exc:
            report.problems.append(str(exc))
            continue
        for path in files:
            report.files += 1
            try:
                loaded.append((read_table(path), str(path)))
            except PricingError as exc:
                report.problems.append(str(exc))
    if report.files == 0 and not report.problems:
        raise PricingError(
            f"no pricing tables (*.yaml, *.yml, *.json) in {', '.join(map(str, paths))}; "
            "give table files, or folders that hold them"
        )
    _verify_examples(Catalog(loaded, upstream=catalog), report)
    return report


def _verify_examples(tables: Catalog, report: CheckReport) -> None:
    models, problems = tables.checked_models()
    report.models += len(problems)
    report.problems += problems
    for model in models:
        report.models += 1
        for example in model.examples:
            report.examples += 1
            at = example.at or model.checked
            try:
                usage = example.usage
                got = price_with(usage, model, model.rates_at(at, example.service_tier)).total
            except (CostbookError, ValueError) as exc:
                report.problems.append(f"{model.source}: model {model.id}: example: {exc}")
                continue
            if got != example.total:
                report.problems.append(
                    f"{model.source}: model {model.id}: example {_usage_text(usage)} "
                    f"costs {money_text(got)}, but the table documents {money_text(example.total)}"
                )


def _usage_text(usage: Usage) -> str:
    parts = [f"{k}={v}" for k, v in usage.as_dict().items() if v and k != "requests"]
    return "(" + ", ".join(parts) + ")"
