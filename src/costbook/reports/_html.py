"""A ledger's spend as one self-contained HTML page: inline CSS and SVG, no script, no request.

Every figure on the page comes from a library call (:meth:`Ledger.report`,
:meth:`Ledger.costliest`, :meth:`Ledger.drift`, :meth:`Budget.burn_down`); this module only
lays them out. Amounts are formatted from their Decimals (exactly, except the headline,
which is to the cent with the exact amount beside it); every string from the ledger is
HTML-escaped. The rows of ``costbook report --json`` are embedded as JSON
(``<script type="application/json" id="costbook-report">``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from html import escape
from itertools import pairwise
from typing import Any

from .._errors import LedgerError
from ..budgets._budget import Budget
from ..budgets._burndown import BurnDown
from ..ledger._ledger import Ledger, ModelDrift
from ..pricing._money import money_text, usd
from ..records._entry import Entry, exact_sum
from ..records._store import GROUP_COLUMNS, TAG_PREFIX, ReportRow
from ..records._text import stored_form

MAX_SERIES = 8
"""Series a stacked chart draws; the cheaper rest are drawn together as ``other``."""
MAX_DAYS = 400
"""Past this many days, spend is charted per month."""
MAX_ROWS = 25
"""Rows shown in each "top" table."""
MAX_TAG_KEYS = 8

_TOKENS = (("input", "input_tokens"), ("output", "output_tokens"),
           ("cache read", "cache_read_tokens"), ("cache write", "cache_write_tokens"),
           ("reasoning", "reasoning_tokens"))


@dataclass(frozen=True, slots=True)
class _Page:
    """What the page shows, as the library gives it."""

    location: str
    names: list[str]
    rows: list[ReportRow]
    total: ReportRow | None
    bucket: str
    series_key: str
    stacked: list[ReportRow]
    tops: list[tuple[str, list[ReportRow]]]
    costliest: list[Entry]
    drift: list[ModelDrift]
    burn: BurnDown | None
    named: list[tuple[str, BurnDown]]
    imported: ReportRow | None
    reconciliations: dict[str, dict[str, Any]]
    waiting: int
    scope: str
    filtered: bool
    made: datetime


def html_report(
    ledger: Ledger,
    by: str | Sequence[str] = "model",
    *,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    model: str | None = None,
    provider: str | None = None,
    tags: Mapping[str, str] | None = None,
    status: str | None = None,
    limit: Decimal | int | str | None = None,
    window: str = "total",
    top: int = 10,
    now: datetime | None = None,
) -> str:
    """The spend of ``ledger`` as a self-contained HTML page: the total and calls, spend per
    day stacked by the first ``by`` key (or by model), the top models, providers and tag
    values, the ``top`` costliest calls, drift from reported costs, and with ``limit`` a
    budget burn-down over ``window`` (``total``, ``day``, ``month``; with the ``tags``).
    Each budget kept in the ledger under a name gets its burn-down; spend imported from a
    provider's reports (status ``imported``) is shown apart from tracked spend; and the
    latest reconciliation kept per provider is shown, recorded against reported per day.
    The filters are those of :meth:`Ledger.report`; ``until`` is exclusive as there."""
    made = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    keys = [by] if isinstance(by, str) else list(by)
    filters: dict[str, Any] = dict(since=since, until=until, model=model, provider=provider,
                                   tags=tags, status=status)
    rows = ledger.report(keys, **filters)
    totals = ledger.report((), **filters)
    names = list(rows[0].group) if rows else list(dict.fromkeys(k.strip() for k in keys))
    series_key = next((n for n in names if n not in ("day", "month")), "model")
    stacked = ledger.report(["day", series_key], **filters)
    bucket = "day"
    days = sorted({r.group["day"] or "" for r in stacked})
    if days and _span(days[0], days[-1]) > MAX_DAYS:
        bucket = "month"
        stacked = ledger.report(["month", series_key], **filters)
    tops = [("model", ledger.report("model", **filters)),
            ("provider", ledger.report("provider", **filters))]
    for key in ledger.tag_keys()[:MAX_TAG_KEYS]:
        tops.append((key, ledger.report(TAG_PREFIX + key, **filters)))
    burn = None
    if limit is not None:
        burn = Budget(limit, ledger=ledger, window=window, tags=tags).burn_down(made)
    try:
        kept = ledger.budgets()
    except LedgerError:  # a budget that cannot be read: costbook budget list names it
        kept = {}
    named = [(name, Budget(budget.limit, ledger=ledger, window=budget.window,
                           tags=budget.tags).burn_down(made))
             for name, budget in kept.items()]
    statuses = {row.group["status"]: row for row in ledger.report("status", **filters)}
    page = _Page(
        location=ledger.location, names=names, rows=rows,
        total=totals[0] if totals else None, bucket=bucket, series_key=series_key,
        stacked=stacked, tops=tops,
        costliest=ledger.costliest(top, **filters),
        drift=[d for d in ledger.drift(0, since=since, until=until, model=model,
                                       provider=provider, tags=tags) if d.compared],
        burn=burn, named=named, imported=statuses.get("imported"),
        reconciliations=ledger.reconciliations(),
        waiting=ledger.spooled(), scope=_scope(filters, keys),
        filtered=any(bool(v) for v in filters.values()), made=made,
    )
    return _render(page)


def _span(first: str, last: str) -> int:
    try:
        return (date.fromisoformat(last) - date.fromisoformat(first)).days
    except ValueError:
        return 0


def _scope(filters: Mapping[str, Any], keys: Sequence[str]) -> str:
    since, until = filters["since"], filters["until"]
    if since is None and until is None:
        when = "all time"
    else:
        when = (f"from {_when(since)}" if since is not None else "up to") + (
            f" to {_when(until, end=True)}" if until is not None else " on")
    parts = [when]
    for name in ("model", "provider", "status"):
        if filters[name]:
            parts.append(f"{name} {filters[name]}")
    for key, value in sorted((filters["tags"] or {}).items()):
        parts.append(f"tag {key}={value}")
    parts.append("by " + ", ".join(keys) if keys else "in one group")
    return "; ".join(parts)


def _when(value: date | datetime, *, end: bool = False) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return f"{value.isoformat()}{' (included)' if end else ''}"


# -- formatting --------------------------------------------------------------------------


def _e(value: object) -> str:
    return escape(stored_form(str(value)), quote=True)


def _money(amount: Decimal) -> str:
    """An exact amount in a table cell."""
    return f'<td class="num" title="{_e(money_text(amount))} USD">{_e(usd(amount))}</td>'


def _cents(amount: Decimal) -> str:
    """An amount to the cent (rounded half up), for the headline."""
    if amount.copy_abs() >= Decimal("1E+15") or not amount.is_finite():
        return usd(amount)
    rounded = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    whole, _, cents = f"{rounded.copy_abs():,.2f}".partition(".")
    return f"{'-' if rounded < 0 else ''}${whole}.{cents}"


def _count(value: int) -> str:
    return f'<td class="num">{value:,}</td>'


def _label(value: str | None) -> str:
    return "(none)" if value is None else value


def _json(value: object) -> str:
    def cut(item: object) -> object:
        if isinstance(item, str):
            return stored_form(item)
        if isinstance(item, dict):
            return {stored_form(str(k)): cut(v) for k, v in item.items()}
        if isinstance(item, list):
            return [cut(v) for v in item]
        return item

    text = json.dumps(cut(value), ensure_ascii=False, indent=1)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


# -- charts ------------------------------------------------------------------------------

_W, _H = 960, 320
_LEFT, _RIGHT, _TOP, _BOTTOM = 84, 16, 16, 56


def _ticks(high: Decimal, low: Decimal = Decimal(0)) -> list[Decimal]:
    """Round axis values from ``low`` (0 or less) to at least ``high``, about five steps."""
    spread = high - low
    if spread <= 0:
        return [low, low + 1] if low < 0 else [Decimal(0), Decimal(1)]
    rough = spread / 5
    power = Decimal(1).scaleb(rough.adjusted())
    step = next(power * m for m in (1, 2, 5, 10) if power * m >= rough)
    start = (low / step).to_integral_value(rounding=ROUND_FLOOR) * step
    values = [start]
    while values[-1] < high:
        values.append(values[-1] + step)
    return values


def _axis_money(amount: Decimal) -> str:
    return "$" + money_text(amount) if amount >= 0 else "-$" + money_text(-amount)


def _px(value: Decimal) -> str:
    return f"{value:.1f}"


def _y_axis(ticks: list[Decimal], y: Callable[[Decimal], Decimal], label: str) -> list[str]:
    out = []
    for tick in ticks:
        at = _px(y(tick))
        out.append(f'<line class="grid" x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{at}" y2="{at}"/>')
        out.append(f'<text class="tick" x="{_LEFT - 6}" y="{at}" text-anchor="end" '
                   f'dominant-baseline="middle">{_e(_axis_money(tick))}</text>')
    mid = (_TOP + _H - _BOTTOM) // 2
    out.append(f'<text class="axis-title" transform="translate(14 {mid}) rotate(-90)" '
               f'text-anchor="middle">{_e(label)}</text>')
    return out


def _buckets(page: _Page) -> list[str]:
    """Every day (or month) from the first with spend to the last, none left out."""
    found = sorted({r.group[page.bucket] or "" for r in page.stacked} - {""})
    if not found:
        return []
    if page.bucket == "month":
        year, month = map(int, found[0].split("-"))
        last, out = found[-1], []
        while f"{year:04d}-{month:02d}" <= last:
            out.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out
    try:
        first, last_day = date.fromisoformat(found[0]), date.fromisoformat(found[-1])
    except ValueError:
        return found
    return [(first + timedelta(days=i)).isoformat() for i in range((last_day - first).days + 1)]


def _stacked_chart(page: _Page) -> str:
    key, bucket = page.series_key, page.bucket
    buckets = _buckets(page)
    if not buckets:
        return ""
    by_series: dict[str | None, Decimal] = {}
    for row in page.stacked:
        by_series[row.group[key]] = by_series.get(row.group[key], Decimal(0)) + row.cost
    ranked = sorted(by_series, key=lambda s: (-by_series[s], _label(s)))
    shown = ranked if len(ranked) <= MAX_SERIES else ranked[:MAX_SERIES - 1]
    rest = len(ranked) - len(shown)
    legend = [(_label(s), f"s{i}") for i, s in enumerate(shown)]
    if rest:
        legend.append((f"{rest} other{'s' if rest > 1 else ''}", "s-other"))
    cells: dict[tuple[str, str], list[Decimal]] = {}
    calls: dict[tuple[str, str], int] = {}
    index = {s: f"s{i}" for i, s in enumerate(shown)}
    for row in page.stacked:
        cell = (row.group[bucket] or "", index.get(row.group[key], "s-other"))
        cells.setdefault(cell, []).append(row.cost)
        calls[cell] = calls.get(cell, 0) + row.calls
    sums = {cell: exact_sum(costs) for cell, costs in cells.items()}
    heights = {b: exact_sum(v for (day, _), v in sums.items() if day == b) for b in buckets}
    ticks = _ticks(max(heights.values()))
    top = ticks[-1]
    plot_h = Decimal(_H - _TOP - _BOTTOM)

    def y(amount: Decimal) -> Decimal:
        return _H - _BOTTOM - amount / top * plot_h

    band = Decimal(_W - _LEFT - _RIGHT) / len(buckets)
    width = min(max(band * Decimal("0.8"), Decimal("0.5")), Decimal(56))
    out = [f'<svg class="chart" id="daily-chart" viewBox="0 0 {_W} {_H}" role="img" '
           f'aria-labelledby="daily-title"><title id="daily-title">Spend per {bucket} by '
           f'{_e(key)}</title>']
    out += _y_axis(ticks, y, "cost (USD)")
    order = [cls for _, cls in legend]
    names = dict((cls, name) for name, cls in legend)
    every = max(1, -(-len(buckets) // 12))
    for i, b in enumerate(buckets):
        x = _LEFT + band * i + (band - width) / 2
        base = Decimal(0)
        for cls in order:
            amount = sums.get((b, cls))
            if amount is None or amount <= 0:
                continue
            height = max(amount / top * plot_h, Decimal("0.75"))
            out.append(
                f'<rect class="{cls}" x="{_px(x)}" y="{_px(y(base) - height)}" '
                f'width="{_px(width)}" height="{_px(height)}"><title>{_e(b)} · '
                f'{_e(names[cls])}: {_e(usd(amount))} ({calls[(b, cls)]:,} calls)</title></rect>'
            )
            base += height / plot_h * top
        if i % every == 0:
            text = b[5:] if bucket == "day" else b
            out.append(f'<text class="tick" x="{_px(x + width / 2)}" y="{_H - _BOTTOM + 16}" '
                       f'text-anchor="middle">{_e(text)}</text>')
    out.append(f'<line class="axis" x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{_H - _BOTTOM}" '
               f'y2="{_H - _BOTTOM}"/>')
    years = sorted({b[:4] for b in buckets})
    span = years[0] if len(years) == 1 else f"{years[0]}–{years[-1]}"
    out.append(f'<text class="axis-title" x="{(_W + _LEFT) // 2}" y="{_H - 12}" '
               f'text-anchor="middle">{"day" if bucket == "day" else "month"} (UTC), '
               f'{_e(span)}</text></svg>')
    return (f'<section><h2>Spend per {bucket} by {_e(key)}</h2>{_legend(legend)}'
            + "".join(out) + "</section>")


def _legend(items: list[tuple[str, str]]) -> str:
    entries = "".join(
        f'<li><svg width="12" height="12" aria-hidden="true"><rect class="{cls}" width="12" '
        f'height="12" rx="2"/></svg>{_e(name)}</li>'
        for name, cls in items
    )
    return f'<ul class="legend">{entries}</ul>'


def _burn_chart(burn: BurnDown, name: str | None = None) -> str:
    """A budget's burn-down; a named one's chart is ``burn-chart-NAME``."""
    ident = "burn" if name is None else f"burn-{name}"
    start, end = burn.start, burn.end or burn.now
    if burn.points[-1].at > end:
        end = burn.points[-1].at
    if end <= start:
        end = start + timedelta(hours=1)
    remaining = [(p.at, burn.limit - p.spent) for p in burn.points]
    low = min([Decimal(0), *(r for _, r in remaining)])
    ticks = _ticks(max(burn.limit, Decimal(0)), low)
    bottom, top = ticks[0], ticks[-1]
    plot_h = Decimal(_H - _TOP - _BOTTOM)
    seconds = Decimal((end - start) // timedelta(microseconds=1))

    def y(amount: Decimal) -> Decimal:
        return _H - _BOTTOM - (amount - bottom) / (top - bottom) * plot_h

    def x(moment: datetime) -> Decimal:
        part = Decimal((moment - start) // timedelta(microseconds=1)) / seconds
        return _LEFT + part * (_W - _LEFT - _RIGHT)

    heading = "Budget burn-down" if name is None else f"Budget {name}: burn-down"
    out = [f'<svg class="chart" id="{_e(ident)}-chart" viewBox="0 0 {_W} {_H}" role="img" '
           f'aria-labelledby="{_e(ident)}-title"><title id="{_e(ident)}-title">'
           f'{_e(heading)}</title>']
    out += _y_axis(ticks, y, "remaining (USD)")
    steps = [f"M{_px(x(remaining[0][0]))},{_px(y(remaining[0][1]))}"]
    for (_, before), (at, after) in pairwise(remaining):
        steps.append(f"H{_px(x(at))}V{_px(y(after))}" if after != before else f"H{_px(x(at))}")
    if burn.end is not None:
        out.append(f'<line class="pace" x1="{_px(x(start))}" y1="{_px(y(burn.limit))}" '
                   f'x2="{_px(x(burn.end))}" y2="{_px(y(Decimal(0)))}"/>')
    out.append(f'<line class="zero" x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{_px(y(Decimal(0)))}" '
               f'y2="{_px(y(Decimal(0)))}"/>')
    out.append(f'<path class="remaining" d="{"".join(steps)}"><title>remaining '
               f'{_e(usd(burn.limit - burn.points[-1].spent))} of {_e(usd(burn.limit))}'
               '</title></path>')
    for at, left in remaining[1:]:
        out.append(f'<circle class="remaining-dot" cx="{_px(x(at))}" cy="{_px(y(left))}" '
                   f'r="2.5"><title>{_e(at.strftime("%Y-%m-%d %H:%M"))} UTC: '
                   f'{_e(usd(left))} remaining</title></circle>')
    now = _px(x(burn.now))
    out.append(f'<line class="now" x1="{now}" x2="{now}" y1="{_TOP}" y2="{_H - _BOTTOM}"/>')
    fmt = "%H:%M" if burn.step == "hour" else "%m-%d"
    for i in range(7):
        moment = start + (end - start) * i / 6
        out.append(f'<text class="tick" x="{_px(x(moment))}" y="{_H - _BOTTOM + 16}" '
                   f'text-anchor="middle">{_e(moment.strftime(fmt))}</text>')
    out.append(f'<line class="axis" x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{_H - _BOTTOM}" '
               f'y2="{_H - _BOTTOM}"/>')
    out.append(f'<text class="axis-title" x="{(_W + _LEFT) // 2}" y="{_H - 12}" '
               f'text-anchor="middle">time (UTC), {_e(start.strftime("%Y-%m-%d %H:%M"))} to '
               f'{_e(end.strftime("%Y-%m-%d %H:%M"))}</text></svg>')
    scope = {"total": "all time", "day": "today (UTC)", "month": "this month (UTC)"}
    tags = "".join(f", tag {_e(k)}={_e(v)}" for k, v in sorted(burn.tags.items()))
    legend = [("remaining", "remaining-key"), ("even pace", "pace-key"), ("now", "now-key")]
    if burn.end is None:
        legend.pop(1)
    facts = (f'<p class="facts">Limit {_e(usd(burn.limit))} over {scope[burn.window]}{tags}: '
             f'spent <b>{_e(usd(burn.spent))}</b>, reserved {_e(usd(burn.reserved))}, '
             f'remaining <b>{_e(usd(burn.remaining))}</b>'
             f'{" — exhausted" if burn.remaining <= 0 else ""}.</p>')
    section = "<section>" if name is None else f'<section class="budget" id="{_e(ident)}">'
    return (f'{section}<h2>{_e(heading)}</h2>{facts}{_legend(legend)}' + "".join(out)
            + "</section>")


# -- tables ------------------------------------------------------------------------------


def _usage_cells(row: ReportRow) -> str:
    return "".join(_count(getattr(row.usage, name)) for _, name in _TOKENS)


def _usage_heads() -> str:
    return "".join(f'<th class="num">{label}</th>' for label, _ in _TOKENS)


def _report_table(page: _Page) -> str:
    heads = "".join(f"<th>{_e(n)}</th>" for n in page.names)
    body = [
        "<tr>" + "".join(f"<td>{_e(_label(v))}</td>" for v in row.group.values())
        + _count(row.calls) + _usage_cells(row) + _money(row.cost) + "</tr>"
        for row in page.rows
    ]
    if page.total is not None and len(page.rows) > 1:
        blank = "<td></td>" * (len(page.names) - 1)
        body.append(f'<tr class="total"><td>total</td>{blank}{_count(page.total.calls)}'
                     f"{_usage_cells(page.total)}{_money(page.total.cost)}</tr>")
    return (f'<section><h2>Report by {_e(", ".join(page.names) or "nothing")}</h2>'
            f'<table id="report-table"><thead><tr>{heads}<th class="num">calls</th>'
            f'{_usage_heads()}<th class="num">cost</th></tr></thead><tbody>{"".join(body)}'
            "</tbody></table></section>")


def _top_table(key: str, rows: list[ReportRow]) -> str:
    ranked = sorted(rows, key=lambda r: (-r.cost, -r.calls, _label(r.group[_group(key)])))
    shown = ranked[:MAX_ROWS]
    body = "".join(
        f"<tr><td>{_e(_label(r.group[_group(key)]))}</td>{_count(r.calls)}{_usage_cells(r)}"
        f"{_money(r.cost)}</tr>"
        for r in shown
    )
    more = (f'<p class="note">The {len(shown)} costliest of {len(ranked)}.</p>'
            if len(ranked) > len(shown) else "")
    title = f"{key}s" if key in GROUP_COLUMNS else f"values of tag {key}"
    return (f'<section class="top"><h3>Top {_e(title)}</h3>'
            f'<table><thead><tr><th>{_e(key)}</th><th class="num">calls</th>'
            f'{_usage_heads()}<th class="num">cost</th></tr></thead><tbody>{body}</tbody>'
            f"</table>{more}</section>")


def _group(key: str) -> str:
    return key if key in GROUP_COLUMNS else TAG_PREFIX + key


def _costliest_table(entries: list[Entry]) -> str:
    body = "".join(
        f'<tr><td class="nw">{e.id}</td>'
        f"<td class=\"nw\">{_e(e.as_dict()['time'][:19].replace('T', ' '))}</td>"
        f'<td class="nw">{_e(e.provider)}</td><td>{_e(e.model)}</td>'
        f'<td class="nw">{_e(e.status)}</td>'
        f"<td>{_e(e.request_id or '')}</td>{_count(e.usage.input_tokens)}"
        f"{_count(e.usage.output_tokens)}{_money(e.total)}"
        f"<td>{_e(' '.join(f'{k}={v}' for k, v in sorted(e.tags.items())))}</td></tr>"
        for e in entries
    )
    return ('<section><h2>Costliest calls</h2><table id="costliest-table"><thead><tr>'
            '<th>id</th><th>time (UTC)</th><th>provider</th><th>model</th><th>status</th>'
            '<th>request id</th><th class="num">input</th><th class="num">output</th>'
            f'<th class="num">cost</th><th>tags</th></tr></thead><tbody>{body}</tbody>'
            "</table></section>")


def _drift_table(models: list[ModelDrift]) -> str:
    body = "".join(
        f"<tr><td>{_e(m.provider)}</td><td>{_e(m.model)}</td>{_count(m.compared)}"
        f"{_count(len(m.drifted))}{_money(m.table_cost)}{_money(m.reported_cost)}"
        f"{_money(m.difference)}</tr>"
        for m in models
    )
    return ('<section><h2>Drift: table cost against reported cost</h2>'
            '<p class="note">Calls whose provider reported what it charged; a difference '
            'means a stale table or a markup.</p><table id="drift-table"><thead><tr>'
            '<th>provider</th><th>model</th><th class="num">calls</th>'
            '<th class="num">differing</th><th class="num">table cost</th>'
            '<th class="num">reported</th><th class="num">difference</th></tr></thead>'
            f"<tbody>{body}</tbody></table></section>")


# -- reconciliations ---------------------------------------------------------------------

_KINDS = {"untracked": "usage the ledger lacks (calls made outside costbook)",
          "price": "the provider's cost differs from costbook's price of its usage (a wrong "
                   "or stale price)",
          "extraction": "the ledger's tokens differ from the provider's for the same calls"}


@dataclass
class _Day:
    """A reconciliation's groups summed over one day (or the whole window)."""

    label: str
    calls: int = 0
    requests: int | None = None
    recorded: Decimal = Decimal(0)
    imported: Decimal = Decimal(0)
    priced: Decimal | None = Decimal(0)
    reported: Decimal | None = None
    kinds: tuple[str, ...] = ()


def _amount(value: object) -> Decimal | None:
    if value is None:
        return None
    amount = Decimal(str(value))
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    return amount


def _reconciled_days(data: Mapping[str, Any]) -> list[_Day]:
    """A kept reconciliation's groups summed per day (one row for the window when it was
    not grouped by day)."""
    days: dict[str, _Day] = {}
    window = f"{data['since']} to {data['until']}"
    for group in data["groups"]:
        label = str(group.get("day") or window)
        day = days.setdefault(label, _Day(label))
        ledger, reported = group["ledger"], group["reported"]
        day.calls += int(ledger["calls"])
        day.recorded += _amount(ledger["cost"]) or Decimal(0)
        day.imported += _amount(ledger.get("imported_cost")) or Decimal(0)
        if reported.get("requests") is not None:
            day.requests = (day.requests or 0) + int(reported["requests"])
        priced = _amount(reported.get("priced"))
        day.priced = None if priced is None or day.priced is None else day.priced + priced
        cost = _amount(reported.get("cost"))
        if cost is not None:
            day.reported = (day.reported or Decimal(0)) + cost
        found = [str(k) for k in group.get("differences") or ()]
        day.kinds = tuple(k for k in _KINDS if k in {*day.kinds, *found})
    return [days[label] for label in sorted(days)]


def _pair_chart(ident: str, days: list[_Day]) -> str:
    """Recorded against reported cost per day, as pairs of bars."""
    heights = [max(d.recorded, d.reported or Decimal(0)) for d in days]
    ticks = _ticks(max(heights))
    top = ticks[-1]
    plot_h = Decimal(_H - _TOP - _BOTTOM)

    def y(amount: Decimal) -> Decimal:
        return _H - _BOTTOM - amount / top * plot_h

    band = Decimal(_W - _LEFT - _RIGHT) / len(days)
    width = min(max(band * Decimal("0.4"), Decimal("0.5")), Decimal(28))
    out = [f'<svg class="chart" id="{ident}-chart" viewBox="0 0 {_W} {_H}" role="img" '
           f'aria-labelledby="{ident}-title"><title id="{ident}-title">Recorded against '
           "reported cost per day</title>"]
    out += _y_axis(ticks, y, "cost (USD)")
    every = max(1, -(-len(days) // 12))
    for i, day in enumerate(days):
        left = _LEFT + band * i + band / 2 - width
        for n, (cls, what, amount) in enumerate((("s0", "recorded", day.recorded),
                                                 ("s1", "reported", day.reported))):
            if amount is None or amount <= 0:
                continue
            height = max(amount / top * plot_h, Decimal("0.75"))
            out.append(f'<rect class="{cls}" x="{_px(left + width * n)}" '
                       f'y="{_px(y(Decimal(0)) - height)}" width="{_px(width)}" '
                       f'height="{_px(height)}"><title>{_e(day.label)}: {what} '
                       f"{_e(usd(amount))}</title></rect>")
        if i % every == 0:
            text = day.label[5:] if len(day.label) == 10 else day.label
            out.append(f'<text class="tick" x="{_px(left + width)}" y="{_H - _BOTTOM + 16}" '
                       f'text-anchor="middle">{_e(text)}</text>')
    out.append(f'<line class="axis" x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{_H - _BOTTOM}" '
               f'y2="{_H - _BOTTOM}"/>')
    out.append(f'<text class="axis-title" x="{(_W + _LEFT) // 2}" y="{_H - 12}" '
               'text-anchor="middle">day (UTC)</text></svg>')
    return "".join(out)


def _reconciliation(provider: str, data: Mapping[str, Any]) -> str:
    """The latest reconciliation kept with ``provider``: its totals, the kinds of
    difference found, and recorded against reported cost per day."""
    ident = "reconciliation-" + "".join(c if c.isalnum() else "-" for c in provider)
    head = f'<section class="reconciliation" id="{_e(ident)}"><h2>Reconciliation with ' \
           f"{_e(provider)}</h2>"
    try:
        days = _reconciled_days(data)
        totals = {k: _amount(v) for k, v in data["totals"].items()}
        counts = {k: int(v) for k, v in data["differences"].items()}
    except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError):
        return head + ('<p class="note">The reconciliation kept in the ledger cannot be '
                       "read; run costbook reconcile --with again.</p></section>")

    def money(amount: Decimal | None) -> str:
        return "-" if amount is None else usd(amount)

    made = f", run {str(data['made'])[:16].replace('T', ' ')} UTC" if data.get("made") else ""
    facts = (f'<p class="meta">{_e(data["since"])} to {_e(data["until"])} (UTC days), '
             f'reports from <code>{_e(data.get("source", ""))}</code>{_e(made)}; tolerance '
             f'{_e(data.get("tolerance_percent", ""))}%.</p>'
             f'<p class="facts">Recorded <b class="recorded">{_e(money(totals.get("ledger")))}'
             f"</b>; the provider's usage priced by costbook "
             f'{_e(money(totals.get("priced")))}; reported cost <b class="reported">'
             f'{_e(money(totals.get("reported")))}</b>.</p>')
    found = [f"<li>{n} group{'' if n == 1 else 's'} <b>{_e(kind)}</b>: {_e(_KINDS[kind])}"
             "</li>" for kind, n in counts.items() if n and kind in _KINDS]
    verdict = (f'<ul class="differences">{"".join(found)}</ul>' if found else
               '<p class="facts">The ledger and the reports agree within the tolerance.</p>')
    chart = ""
    if days and any(d.recorded > 0 or (d.reported or 0) > 0 for d in days):
        chart = (_legend([("recorded (ledger)", "s0"), ("reported (provider)", "s1")])
                 + _pair_chart(_e(ident), days))
    body = "".join(
        f'<tr><td class="nw">{_e(d.label)}</td>{_count(d.calls)}'
        f'<td class="num">{"-" if d.requests is None else f"{d.requests:,}"}</td>'
        f"{_money(d.recorded)}{_money(d.imported)}"
        + ("<td class=\"num\">-</td>" if d.priced is None else _money(d.priced))
        + ("<td class=\"num\">-</td>" if d.reported is None else _money(d.reported))
        + ("<td class=\"num\">-</td>" if d.reported is None
           else _money(d.reported - d.recorded))
        + f'<td class="nw">{_e(", ".join(d.kinds) or "ok")}</td></tr>'
        for d in days
    )
    table = ('<table class="reconciled"><thead><tr><th>day</th><th class="num">calls</th>'
             '<th class="num">reported requests</th><th class="num">recorded</th>'
             '<th class="num">of it imported</th><th class="num">priced by costbook</th>'
             '<th class="num">reported</th><th class="num">reported − recorded</th>'
             f'<th class="nw">difference</th></tr></thead><tbody>{body}</tbody></table>')
    return head + facts + verdict + chart + table + "</section>"


# -- the page ----------------------------------------------------------------------------

_CSS = """
:root{color-scheme:light dark;--bg:#fff;--fg:#1d2430;--muted:#5b6575;--line:#d8dde5;
--card:#f5f7fa;--s0:#3366cc;--s1:#e8730c;--s2:#2a9d5c;--s3:#c23b4b;--s4:#7a52c7;
--s5:#b08a00;--s6:#1b9aaa;--s7:#d957a6;--other:#9aa3ae;--accent:#3366cc;--warn:#c23b4b}
@media (prefers-color-scheme:dark){:root{--bg:#12161c;--fg:#e4e8ee;--muted:#9aa4b2;
--line:#2e3642;--card:#1b212a;--s0:#6d9bf1;--s1:#f5a04c;--s2:#52c785;--s3:#f06d7c;
--s4:#a88af0;--s5:#e0bd3a;--s6:#4cc7d6;--s7:#f08cc8;--other:#6b7480;--accent:#6d9bf1;
--warn:#f06d7c}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1040px;padding:24px;background:var(--bg);color:var(--fg);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
h3{font-size:15px;margin:18px 0 6px}
.meta,.note,.facts{color:var(--muted);margin:2px 0}.facts{color:var(--fg)}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:18px 0}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 16px;
min-width:150px}
.card .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:24px;font-weight:600;font-variant-numeric:tabular-nums}
.card .x{color:var(--muted);font-size:12px;font-variant-numeric:tabular-nums}
table{border-collapse:collapse;width:100%;margin:4px 0 8px;font-variant-numeric:tabular-nums}
th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top;
overflow-wrap:anywhere}
th{font-weight:600;color:var(--muted);font-size:12px}.num{text-align:right;white-space:nowrap}
.nw{white-space:nowrap;overflow-wrap:normal}
tr.total td{font-weight:600;border-top:2px solid var(--line)}
.chart{width:100%;height:auto;display:block}
.chart text{fill:var(--fg);font-size:11px}.chart .axis-title{fill:var(--muted);font-size:12px}
.chart .grid{stroke:var(--line);stroke-width:1}.chart .axis{stroke:var(--muted);stroke-width:1}
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:4px 16px;padding:0;margin:4px 0}
.legend li{display:flex;align-items:center;gap:6px;overflow-wrap:anywhere}
.s0{fill:var(--s0)}.s1{fill:var(--s1)}.s2{fill:var(--s2)}.s3{fill:var(--s3)}.s4{fill:var(--s4)}
.s5{fill:var(--s5)}.s6{fill:var(--s6)}.s7{fill:var(--s7)}.s-other{fill:var(--other)}
.remaining{fill:none;stroke:var(--accent);stroke-width:2.5}.remaining-dot{fill:var(--accent)}
.pace{stroke:var(--muted);stroke-width:1.5;stroke-dasharray:6 4}
.zero{stroke:var(--warn);stroke-width:1}
.now{stroke:var(--warn);stroke-width:1.5;stroke-dasharray:2 3}
.remaining-key{fill:var(--accent)}.pace-key{fill:var(--muted)}.now-key{fill:var(--warn)}
.card.imported{border-style:dashed}
.differences{margin:4px 0;padding-left:20px}
.tops{display:grid;grid-template-columns:1fr;gap:4px}
.empty{background:var(--card);border:1px dashed var(--line);border-radius:8px;padding:24px;
font-size:16px;text-align:center}
footer{margin-top:32px;color:var(--muted);font-size:12px}code{white-space:nowrap}
@media print{:root{color-scheme:light;--bg:#fff;--fg:#000;--muted:#444;--line:#bbb;--card:#fff}
body{max-width:none;padding:0;font-size:11px}section{break-inside:avoid}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""


def _refused_card(total: ReportRow) -> str:
    """The calls a limit refused before sending, and what they would have risked (none
    of it spent); nothing when none was refused."""
    if not total.refused:
        return ""
    return (
        '<div class="card"><div class="k">Refused calls</div><div class="v" id="refused">'
        f'{total.refused:,}</div><div class="x">would have risked <span id="risked">'
        f"{_e(usd(total.risked))}</span>; not spent</div></div>"
    )


def _imported_card(total: ReportRow, imported: ReportRow | None) -> str:
    """Spend imported from a provider's reports, apart from the tracked calls' spend;
    nothing when none was imported."""
    if imported is None or not imported.calls:
        return ""
    tracked = total.cost - imported.cost
    return (
        '<div class="card"><div class="k">Tracked</div><div class="v" id="tracked">'
        f'{_e(usd(tracked))}</div><div class="x">{total.calls - imported.calls:,} calls '
        'recorded as they were made</div></div>'
        '<div class="card imported"><div class="k">Imported</div><div class="v" '
        f'id="imported">{_e(usd(imported.cost))}</div><div class="x">{imported.calls:,} '
        "entries from the provider's reports</div></div>"
    )


def _extras(page: _Page) -> str:
    """The named budgets' burn-downs and the kept reconciliations."""
    return "".join([
        *(_burn_chart(burn, name) for name, burn in page.named),
        *(_reconciliation(provider, data) for provider, data in page.reconciliations.items()
          if isinstance(data, Mapping)),
    ])


def _render(page: _Page) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("costbook")
    except PackageNotFoundError:
        release = "(not installed)"
    made = page.made.strftime("%Y-%m-%d %H:%M:%S UTC")
    parts = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:\">",
        f"<title>costbook spend — {_e(page.location)}</title><style>{_CSS}</style></head>",
        "<body><header><h1>LLM spend</h1>",
        f'<p class="meta">Ledger <code id="ledger">{_e(page.location)}</code></p>',
        f'<p class="meta" id="scope">Window: {_e(page.scope)}</p>',
        f'<p class="meta">Made <time datetime="{_e(page.made.isoformat())}">{made}</time> '
        f"by costbook {_e(release)}</p>",
    ]
    if page.waiting:
        parts.append(f'<p class="meta">{page.waiting:,} entries wait in the spool beside the '
                     "ledger and are not counted here.</p>")
    parts.append("</header><main>")
    total = page.total
    if total is None or not (total.calls or total.refused):
        parts.append(f'<p class="empty" id="empty">No entries in {_e(page.location)}'
                     f'{" match" if page.filtered else ""}'
                     " — nothing was spent in this window.</p>")
        if page.burn is not None:
            parts.append(_burn_chart(page.burn))
        parts.append(_extras(page))
    else:
        exact = usd(total.cost)
        parts.append(
            '<div class="cards">'
            f'<div class="card"><div class="k">Total cost</div><div class="v" id="total" '
            f'title="exactly {_e(exact)}">{_e(_cents(total.cost))}</div>'
            f'<div class="x">exactly <span id="total-exact">{_e(exact)}</span></div></div>'
            f'<div class="card"><div class="k">Calls</div><div class="v" id="calls">'
            f"{total.calls:,}</div></div>"
            f'<div class="card"><div class="k">Input tokens</div><div class="v">'
            f"{total.usage.input_tokens:,}</div></div>"
            f'<div class="card"><div class="k">Output tokens</div><div class="v">'
            f"{total.usage.output_tokens:,}</div></div>{_refused_card(total)}"
            f"{_imported_card(total, page.imported)}</div>"
        )
        parts.append(_stacked_chart(page))
        if page.burn is not None:
            parts.append(_burn_chart(page.burn))
        parts.append(_extras(page))
        parts.append(_report_table(page))
        parts.append('<section><h2>Top spenders</h2><div class="tops">'
                     + "".join(_top_table(k, rows) for k, rows in page.tops if rows)
                     + "</div></section>")
        if page.costliest:
            parts.append(_costliest_table(page.costliest))
        if page.drift:
            parts.append(_drift_table(page.drift))
    parts.append(
        "</main><footer>Amounts are in USD, exact as recorded (hover a figure for its exact "
        "value; the headline total is rounded to the cent). Days are UTC. The rows of "
        "<code>costbook report --json</code> for this window are embedded in this file as "
        "JSON.</footer>"
        f'<script type="application/json" id="costbook-report">'
        f"{_json([row.as_dict() for row in page.rows])}</script></body></html>\n"
    )
    return "".join(parts)
