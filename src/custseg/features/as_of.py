"""The date an analysis is "as of": the data as it stood at the end of that day.

An as-of date D cuts the orders at the end of D (purchase time <= D 23:59:59.999999) and is the
analysis' reference instant ("now"): recency is counted from it, and the Olist purchase rule's
grace period is measured to it. With the reference at the day's last microsecond, recency in
whole days rounded down is exactly the number of calendar days from the last purchase's day to
D (a purchase on D: 0; on the day before, at any time: 1), also for a log of dates without times.

Without an as-of date the reference is the data's latest order (as every run before), so the
outputs are unchanged. One value flows from here: :func:`reference_instant` renders the as-of
date for the SQL (``as_of_end`` in the templates); the feature SQL stores the instant recency was
counted from in the table ``analysis_reference`` (one row, ``now_ts``; :func:`custseg.engines.duckdb.features.reference_time`
reads it), and :func:`reference_of` gives the same instant from a customer table and its as-of date.
"""

from __future__ import annotations

import datetime as _dt

from custseg.errors import InputError

_LAST_MICROSECOND = _dt.time(23, 59, 59, 999999)


def parse_as_of(value, where: str = "as-of date") -> str:
    """``value`` (a ``date`` or text ``YYYY-MM-DD``) as ISO date text, or a one-line InputError
    naming ``where`` (the option or config key it came from)."""
    if isinstance(value, _dt.datetime):
        raise InputError(f"{where} {value.isoformat(sep=' ')}: give a day without a time, e.g. 2017-09-01 (the data is cut at its end)")
    if isinstance(value, _dt.date):
        return value.isoformat()
    text = str(value).strip() if isinstance(value, str) else None
    try:
        if text is None or len(text) != 10:
            raise ValueError
        return _dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise InputError(f"{where} {value!r}: not a date; give a day as YYYY-MM-DD, e.g. 2017-09-01") from None


def reference_instant(as_of: str | None) -> str | None:
    """The last microsecond of the as-of day as SQL timestamp text (None: no as-of date)."""
    if as_of is None:
        return None
    return _dt.datetime.combine(_dt.date.fromisoformat(as_of), _LAST_MICROSECOND).isoformat(sep=" ")


def reference_of(customers, as_of: str | None):
    """The instant recency was counted from, for a customer table made with ``as_of``: the end of
    the as-of day, or else the latest purchase (the largest ``last_purchase_ts``; the SQL's
    ``analysis_reference`` holds the same instant). What models of customer age and recency
    (the lifetime-value models' T) count to."""
    import pandas as pd

    if as_of is not None:
        return pd.Timestamp(reference_instant(as_of))
    return pd.Timestamp(customers["last_purchase_ts"].max())


def window_bounds(window_start: str | None, window_end: str | None, column: str = "purchase_ts") -> list[str]:
    """The analysis window as SQL conditions on ``column`` (start inclusive, end exclusive)."""
    bounds = []
    if window_start:
        bounds.append(f"{column} >= TIMESTAMP '{window_start}'")
    if window_end:
        bounds.append(f"{column} < TIMESTAMP '{window_end}'")
    return bounds


def order_span_sql(window_start: str | None, window_end: str | None) -> str:
    """The days of the first and last purchase of the orders inside the window (either engine)."""
    bounds = window_bounds(window_start, window_end)
    return f"SELECT CAST(min(purchase_ts) AS DATE), CAST(max(purchase_ts) AS DATE) FROM orders WHERE {' AND '.join(bounds) or 'true'}"


def check_as_of(as_of: str | None, first, last, source: str, windowed: bool = False) -> None:
    """A one-line InputError when the as-of day lies before the first or after the last order
    (of the analysis window when ``windowed``; ``first``, ``last``: their purchase times, None
    when there is no order)."""
    if as_of is None or first is None or last is None:
        return
    day = _dt.date.fromisoformat(as_of)
    first_day, last_day = _day(first), _day(last)
    if first_day <= day <= last_day:
        return
    where = "before the first" if day < first_day else "after the last"
    raise InputError(f"as-of date {as_of} is {where} order{' in the analysis window' if windowed else ''} of {source} ({(first_day if day < first_day else last_day).isoformat()}); "
                     f"give a date from {first_day.isoformat()} to {last_day.isoformat()}")


def _day(value) -> _dt.date:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    return _dt.datetime.fromisoformat(str(value)).date()
