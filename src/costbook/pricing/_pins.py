"""Price pins: the rates a team planned with, written to a lock file and checked in CI."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from pathlib import Path
from typing import Any

from .._errors import PricingError, UnknownModelError
from ._catalog import Catalog, catalog
from ._model import Model, Rates
from ._money import money_text

_PERCENT = Context(prec=40, Emax=MAX_EMAX, Emin=MIN_EMIN,
                   traps=[InvalidOperation, DivisionByZero, Overflow])
_LARGE_PERCENT = Decimal(1_000_000)

PIN_HEADER = (
    "# costbook price pins: the rates these models were planned with.\n"
    "# `costbook check --pins FILE` fails when the pricing tables in use disagree.\n"
)


def rate_map(rates: Rates) -> dict[str, Decimal]:
    """Every rate a price set states by name: token rates per million (its own and those
    ``billed_as`` names, not the defaults), then the per-unit fees."""
    result = dict(sorted(rates.stated_per_million.items()))
    result.update(rates.per_unit)
    return result


@dataclass(frozen=True)
class Pin:
    """The rates of one model at one provider, as pinned."""

    ref: str
    effective: date | None
    rates: dict[str, Decimal]


def pin(
    models: Sequence[str],
    *,
    provider: str | None = None,
    at: date | datetime | None = None,
    tables: Catalog | None = None,
) -> list[Pin]:
    """The rates in force (on ``at``, default today) of each model, sorted by ref."""
    tables = tables or catalog()
    pins = {}
    for ref in models:
        model = tables.resolve(ref, provider)
        rates = model.rates_at(at)
        pins[model.ref] = Pin(model.ref, rates.effective, rate_map(rates))
    return [pins[ref] for ref in sorted(pins)]


def pins_text(pins: Sequence[Pin]) -> str:
    """The lock file text: readable YAML, sorted, rates as exact decimals."""
    lines = [PIN_HEADER.rstrip("\n"), "pins:"]
    for item in sorted(pins, key=lambda p: p.ref):
        lines.append(f"  {_quote(item.ref)}:")
        effective = item.effective.isoformat() if item.effective else "null  # not stated"
        lines.append(f"    effective: {effective}")
        lines.append("    rates:")
        for name in sorted(item.rates):
            lines.append(f"      {name}: {money_text(item.rates[name])}")
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_pins(path: str | os.PathLike[str], pins: Sequence[Pin]) -> None:
    """Write ``pins`` to a lock file."""
    Path(path).write_text(pins_text(pins), encoding="utf-8")


def read_pins(path: str | os.PathLike[str]) -> list[Pin]:
    """Read a lock file written by :func:`write_pins`; rates come back as exact Decimals."""
    from ._tables import load_yaml

    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise PricingError(f"{path}: cannot read the pin file: {exc.strerror or exc}") from None
    data: Any = load_yaml(raw, source=str(path))
    if not isinstance(data, dict) or not isinstance(data.get("pins"), dict):
        raise PricingError(f"{path}: a pin file has a 'pins' mapping of model refs; write one "
                           "with `costbook pin MODEL --output FILE`")
    pins = []
    for ref, body in data["pins"].items():
        try:
            effective = body["effective"]
            rates = {str(k): Decimal(v) for k, v in body["rates"].items()}
            if not all(rate.is_finite() for rate in rates.values()):
                raise ValueError("a rate is not a finite number")
            if effective is not None and not isinstance(effective, date):
                raise TypeError("effective is not a date")
        except (KeyError, TypeError, AttributeError, ArithmeticError, ValueError) as exc:
            raise PricingError(
                f"{path}: pin {ref}: expected 'effective: YYYY-MM-DD' and a 'rates' mapping "
                f"of decimal numbers ({exc})"
            ) from None
        pins.append(Pin(str(ref), effective, rates))
    return pins


def check_pins(
    path: str | os.PathLike[str],
    *,
    at: date | datetime | None = None,
    tables: Catalog | None = None,
) -> list[str]:
    """One message per rate where the tables in use (on ``at``) disagree with the pins."""
    tables = tables or catalog()
    problems = []
    for item in read_pins(path):
        try:
            model: Model = tables.resolve(item.ref)
        except UnknownModelError as exc:
            problems.append(f"{item.ref}: pinned, but {exc}")
            continue
        current = rate_map(model.rates_at(at))
        for name in sorted(set(item.rates) | set(current)):
            old, new = item.rates.get(name), current.get(name)
            if old == new:
                continue
            if old is None:
                problems.append(f"{item.ref} {name}: not pinned, the tables now charge "
                                f"{money_text(new)}")  # type: ignore[arg-type]
            elif new is None:
                problems.append(f"{item.ref} {name}: pinned at {money_text(old)}, the tables "
                                "have no such rate")
            else:
                problems.append(f"{item.ref} {name}: pinned at {money_text(old)}, the tables "
                                f"say {money_text(new)} ({percent_change(old, new)})")
    return problems


def percent_change(old: Decimal, new: Decimal) -> str:
    """The change from ``old`` to ``new`` as signed percent text, e.g. ``+33.33%``."""
    if old == 0:
        return "new charge" if new else "+0%"
    try:
        change = _PERCENT.multiply(_PERCENT.divide(_PERCENT.subtract(new, old), old), 100)
        if change.copy_abs() < _LARGE_PERCENT:
            text = money_text(change.quantize(Decimal("0.01"), context=_PERCENT))
        else:  # a rate off by many orders of magnitude: four significant digits
            text = format(Context(prec=4, Emax=MAX_EMAX, Emin=MIN_EMIN).normalize(change), "E")
    except ArithmeticError:  # past even the widest exponent
        return "+inf%" if new > old else "-inf%"
    return f"{'+' if change > 0 else ''}{text}%"
