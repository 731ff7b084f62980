"""How a finding says its numbers: rounded for people, with units and plural agreement.

Pure string functions, no statistics: the rules (:mod:`.observations`) decide *what* to say,
these decide *how* it reads ("1 customer", "clusters 6 and 7 have", "217 days", "R$ 108").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from custseg.profile.labels import format_cluster

#: Metrics counted in days / orders; money metrics get the currency when one is known.
DAY_METRICS = frozenset({"recency", "from_first_to_last_days", "from_first_to_second_days", "avg_buys_diff_days"})
ORDER_METRICS = frozenset({"frequency", "buys_cnt"})
MONEY_METRICS = frozenset({"monetary", "total_customer_payment", "avg_order_payment"})


def _finite(x: Any) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def number(x: Any) -> str:
    """Three significant figures, never fewer than the integer part, thousands separated:
    43.394999999999996 -> "43.4", 966.53 -> "967", 93235 -> "93,235", 0.0123 -> "0.0123"."""
    if not _finite(x):
        return "–"
    v = float(x)
    if v == 0:
        return "0"
    digits = max(0, 2 - int(math.floor(math.log10(abs(v)))))
    text = f"{round(v, digits):,.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def count(n: Any) -> str:
    """A whole count with thousands separators: 93235 -> "93,235"."""
    return f"{int(n):,}"


def plural(n: Any, singular: str, plural_form: str | None = None) -> str:
    """ "1 customer", "2 customers", "1,311 customers" (``plural_form`` for irregular words)."""
    word = singular if int(n) == 1 else (plural_form or singular + "s")
    return f"{count(n)} {word}"


def verb(n: int, singular: str, plural_form: str) -> str:
    """The verb agreeing with ``n`` subjects: verb(1, "has", "have") -> "has"."""
    return singular if n == 1 else plural_form


def pct(share: Any) -> str:
    """A share (0..1) as people read it: 0.5266 -> "53%", 0.0242 -> "2.4%", 0.00964 -> "0.96%"."""
    if not _finite(share):
        return "–"
    p = float(share) * 100
    if p == 0 or abs(p) >= 10 or p == round(p):
        return f"{p:.0f}%"
    return f"{p:.2g}%" if abs(p) < 1 else f"{p:.1f}%"


def money(x: Any, currency: str | None = None) -> str:
    """Money rounded like :func:`number` (whole units from 100 up), with the currency when known."""
    text = number(x)
    return f"{currency} {text}" if currency and text != "–" else text


def days(x: Any) -> str:
    """ "217 days", "1 day" (rounded to whole days: nobody plans by the fraction)."""
    if not _finite(x):
        return "–"
    d = round(float(x))
    return plural(d, "day")


def metric_value(metric: str, x: Any, currency: str | None = None) -> str:
    """A metric's value with its unit: days for recency, orders for frequency, money for spend."""
    if metric in DAY_METRICS:
        return days(x)
    if metric in ORDER_METRICS and _finite(x):
        return f"{number(x)} {'order' if float(x) == 1 else 'orders'}"
    if metric in MONEY_METRICS:
        return money(x, currency)
    return number(x)


def join(items: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def clusters(cs: Sequence[Any], names: Mapping[Any, str] | None = None) -> str:
    """ "cluster 6 (Lapsed buyers)" for one; "clusters 6 and 7" for several (names only for one)."""
    cs = list(cs)
    if len(cs) == 1:
        text = f"cluster {format_cluster(cs[0])}"
        if names and names.get(cs[0]):
            text += f" ({names[cs[0]]})"
        return text
    return "clusters " + join([format_cluster(c) for c in cs])


def cap(text: str) -> str:
    """First letter upper-case, the rest untouched (names keep their capitals)."""
    return text[:1].upper() + text[1:]


def times(ratio: float) -> str:
    """A ratio as people say it: 3.99 -> "4 times", 2.28 -> "2.3 times", 34.2 -> "34 times"."""
    if not _finite(ratio):
        return "–"
    if ratio >= 1:
        text = f"{ratio:.0f}" if ratio >= 10 else f"{ratio:.1f}".removesuffix(".0")
        return f"{text} times"
    return f"{(1 - ratio) * 100:.0f}% lower"


def amount(x: Any) -> str:
    """Three significant figures, thousands as k and millions as M: 128,440 -> "128 k", 950 -> "950"."""
    if not _finite(x):
        return "–"
    v = float(x)
    v = float(f"{v:.3g}")  # rounded first: 999,600 is "1.00 M", not "1000 k"
    for unit, suffix in ((1e9, " bn"), (1e6, " M"), (1e3, " k")):
        if abs(v) >= unit:
            scaled = v / unit  # 1 <= |scaled| < 1000: three figures, trailing zeros kept ("10.0 k")
            return f"{scaled:.{max(0, 2 - int(math.floor(math.log10(abs(scaled)))))}f}{suffix}"
    return number(v)


def interval(total: Any, low: Any, high: Any, currency: str | None = None) -> str:
    """ "R$ 128 k (127–129 k)": an amount and its interval (a negative low end shown as 0) in three
    figures, the unit written once when both ends have it, on one line (no-break spaces, word
    joiners around the dash)."""
    if not _finite(total):
        return "–"
    lo, hi = amount(max(float(low), 0.0)), amount(high)
    unit = hi.rpartition(" ")[2] if " " in hi else ""
    if unit and lo.endswith(" " + unit):
        lo = lo.removesuffix(" " + unit)
    text = f"{amount(total)} ({lo}\u2060–\u2060{hi})"
    return (f"{currency} {text}" if currency else text).replace(" ", "\u00a0")
