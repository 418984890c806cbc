"""Money as text: exact for machines, rounded only for display.

Formatting never raises and never changes an amount: however many digits it has, and
whatever its exponent, an amount is written exactly (in plain notation while that is
short, in scientific notation beyond).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal

MILLION = Decimal(1_000_000)
MAX_AMOUNT = Decimal("1E+15")
"""The largest amount a person may type (a quadrillion dollars); beyond it is a typo."""

MIN_EXPONENT = -100
"""No amount has digits past the 100th decimal place (exact sums stay short)."""

_PLAIN_DIGITS = 100  # past this many digits, plain notation gives way to scientific
_SHORT = 40  # digits and exponents this small are always written in plain notation
_MAX_TEXT = 200  # characters of typed amount
_MAX_DIGITS = 100  # an amount given in code is under 1E+100


def _tidy(amount: Decimal) -> Decimal:
    """``amount`` without trailing zeros in its coefficient, exactly (``normalize`` would
    round to the context's precision)."""
    sign, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)
    end = len(digits)
    while end > 1 and digits[end - 1] == 0:
        end -= 1
    if digits[:end] == (0,):
        return Decimal(0)
    return Decimal((sign, digits[:end], exponent + len(digits) - end))


def _plain(amount: Decimal) -> str | None:
    """``amount`` in plain notation, or None when that would be too long."""
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int)
    width = len(amount.as_tuple().digits) + abs(exponent)
    if width > _PLAIN_DIGITS:
        return None
    return format(amount, "f")


def money_text(amount: Decimal) -> str:
    """The exact amount in plain notation, without trailing zeros: ``Decimal('0.021000')``
    gives ``'0.021'``, never ``'2.1E-2'`` (an amount too large or too small for plain
    notation, such as ``1E+999999999``, keeps its exact scientific form)."""
    if not amount.is_finite():
        return str(amount)
    _, digits, exponent = amount.as_tuple()
    if len(digits) <= _SHORT and -_SHORT <= exponent <= _SHORT:  # type: ignore[operator]
        # the common case, quickly: plain notation of a short amount is exact
        if not amount:
            return "0"
        text = format(amount, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    tidy = _tidy(amount)
    return _plain(tidy) or str(tidy)


def _signed(text: str, negative: bool) -> str:
    return f"-${text}" if negative else f"${text}"


def display_money(amount: Decimal, *, places: int = 4) -> str:
    """A dollar amount for people: rounded to ``places`` decimals, but never showing a
    non-zero amount as zero (small amounts keep their first significant digits)."""
    if not amount.is_finite():
        return str(amount)
    if amount == 0:
        return "$0"
    negative = amount < 0
    magnitude = _tidy(amount.copy_abs())
    if _plain(magnitude) is None:  # far too large or too small to round for display
        return _signed(str(magnitude), negative)
    adjusted = magnitude.adjusted()
    precise = Context(prec=max(adjusted, 0) + places + 3, rounding=ROUND_HALF_UP)
    rounded = magnitude.quantize(Decimal(1).scaleb(-places), context=precise)
    if rounded == 0:
        # e.g. 0.0000015: show two significant digits instead of $0.0000
        rounded = _tidy(magnitude.quantize(Decimal(1).scaleb(adjusted - 1), context=precise))
    return _signed(format(rounded, "f"), negative)


def parse_amount(text: str) -> Decimal:
    """A money amount typed by a person: ``1``, ``0.25``, ``$0.25``. Raises ValueError."""
    cleaned = text.strip().removeprefix("$").replace("_", "")
    if len(cleaned) > _MAX_TEXT:
        raise ValueError(f"{text[:40]!r}... is too long to be an amount of money")
    try:
        value = Decimal(cleaned)
    except ArithmeticError:
        raise ValueError(f"{text!r} is not an amount of money; write it like 0.25 or $1") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not a finite amount of money")
    if not value:
        return Decimal(0)  # 0E-2000 is 0: its exponent would make exact sums needlessly long
    if _tidy(value).as_tuple().exponent < MIN_EXPONENT:  # type: ignore[operator]
        raise ValueError(
            f"{text!r} has more than {-MIN_EXPONENT} decimal places; no price is that fine"
        )
    if value.copy_abs() > MAX_AMOUNT:
        raise ValueError(
            f"{text!r} is more than {money_text(MAX_AMOUNT)} dollars; write an amount like "
            "0.25 or $1000"
        )
    return value


def usd(amount: Decimal) -> str:
    """An exact amount for people: ``$0.90``, ``$1.00``, ``$0.00027`` (cents always shown,
    further digits only where the amount has them; never rounded)."""
    text = money_text(amount.copy_abs())
    if "E" not in text:
        whole, _, cents = text.partition(".")
        text = f"{whole}.{cents.ljust(2, '0')}"
    return _signed(text, amount < 0)


def amount_of(value: object, name: str) -> Decimal:
    """An exact amount of money from a Decimal, an int or a decimal string; never a float."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an amount of money, got {value!r}")
    if isinstance(value, float):
        raise TypeError(
            f"{name} must be an exact amount (a Decimal, an int or a decimal string), not "
            f"{type(value).__name__} {value!r}: write Decimal({str(value)!r})"
        )
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, str):
        try:
            amount = parse_amount(value)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    else:
        raise TypeError(
            f"{name} must be an amount (a Decimal, an int or a decimal string), "
            f"got {type(value).__name__}"
        )
    if not amount.is_finite():
        raise ValueError(f"{name} must be a finite amount, got {amount}")
    if not amount:
        return Decimal(0)  # 0E-2000 is 0: its exponent would make exact sums needlessly long
    if not (amount.adjusted() <= _MAX_DIGITS and amount.as_tuple().exponent
            >= MIN_EXPONENT):  # type: ignore[operator]
        raise ValueError(
            f"{name} must be an amount under 1E+{_MAX_DIGITS} with at most {-MIN_EXPONENT} "
            f"decimal places, got {amount}"
        )
    return amount
