"""The report's tables as the template and the deck show them: values formatted, colours checked,
and the summary's tables and headline cards (cells, not HTML: escaping is the template's)."""

from __future__ import annotations

import datetime as _dt
import math
import numbers
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from custseg.profile.overview import share_text
from custseg.profile.wording import interval, number
from custseg.report._audiences import with_links
from custseg.result import PopulationResult

MAX_TABLE_ROWS = 500

# ---------------------------------------------------------------- values and colours


_NUMERIC_TEXT = re.compile(r"[-+−]?[$€£]?\d[\d,.]*%?")


def format_value(value: Any) -> tuple[str, bool]:
    """Readable text of a table cell and whether it is a number (right-aligned)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return "–", False
    if isinstance(value, bool):
        return ("yes" if value else "no"), False
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}", True
    if isinstance(value, numbers.Real):
        v = float(value)
        if math.isnan(v):
            return "–", False
        if math.isinf(v):
            return ("∞" if v > 0 else "−∞"), True
        if v.is_integer() and abs(v) < 1e15:
            return f"{v:,.0f}", True
        if abs(v) >= 1000:
            return f"{v:,.0f}", True
        if abs(v) >= 1:
            return f"{v:,.2f}", True
        return f"{v:.3g}", True
    if isinstance(value, (pd.Timestamp, _dt.datetime)):
        return (value.strftime("%Y-%m-%d") if (value.hour, value.minute, value.second) == (0, 0, 0) else value.strftime("%Y-%m-%d %H:%M")), False
    if isinstance(value, _dt.date):
        return value.isoformat(), False
    try:
        if pd.isna(value):
            return "–", False
    except (TypeError, ValueError):
        pass
    text = str(value)
    return text, bool(_NUMERIC_TEXT.fullmatch(text.strip()))


_HEX = re.compile(r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")
_FUNC = re.compile(r"(rgba?|hsla?)\(\s*[-0-9.%]+(?:\s*[,\s/]\s*[-0-9.%]+){2,3}\s*\)", re.IGNORECASE)
_NAME = re.compile(r"[a-zA-Z]{3,30}")


def safe_color(value: Any) -> str | None:
    """`value` if it is a plain CSS colour (hex, rgb[a](), hsl[a](), a name), else None."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _HEX.fullmatch(text) or _FUNC.fullmatch(text) or _NAME.fullmatch(text):
        return text
    return None


def _luminance(color: str) -> float | None:
    text = color.strip().lower()
    rgb: list[float] | None = None
    if text.startswith("#"):
        h = text[1:]
        if len(h) in (3, 4):
            h = "".join(c * 2 for c in h[:3])
        rgb = [int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    elif text.startswith("rgb"):
        parts = re.findall(r"[-0-9.]+%?", text)[:3]
        rgb = [float(p[:-1]) / 100 if p.endswith("%") else float(p) / 255 for p in parts]
    if rgb is None or len(rgb) != 3:
        return None
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def cell_style(color: Any) -> str | None:
    color = safe_color(color)
    if color is None:
        return None
    lum = _luminance(color)
    text = "#ffffff" if lum is not None and lum < 0.22 else "#1f2933"
    return f"background-color: {color}; color: {text}"


@dataclass
class CellModel:
    text: str
    numeric: bool = False
    style: str | None = None
    links: list[tuple[str, str, str]] = field(default_factory=list)  # (text, relative href, title): shown under the text


@dataclass
class TableModel:
    index_headers: list[str]
    headers: list[str]
    rows: list[tuple[list[CellModel], list[CellModel]]]  # (index cells, value cells)
    hidden_rows: int = 0


def table_model(table: pd.DataFrame, colors: pd.DataFrame | None = None, max_rows: int = MAX_TABLE_ROWS) -> TableModel:
    names = [n for n in table.index.names]
    show_index = any(n is not None for n in names)
    index_headers = ["" if n is None else str(n) for n in names] if show_index else []
    headers = [" / ".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in table.columns]
    use_colors = colors is not None and tuple(colors.shape) == tuple(table.shape)
    rows = []
    for i in range(min(len(table), max_rows)):
        index_cells = []
        if show_index:
            key = table.index[i]
            parts = key if isinstance(key, tuple) else (key,)
            index_cells = [CellModel(format_value(p)[0]) for p in parts]
        cells = []
        for j in range(table.shape[1]):
            text, numeric = format_value(table.iat[i, j])
            style = cell_style(colors.iat[i, j]) if use_colors else None
            cells.append(CellModel(text, numeric, style))
        rows.append((index_cells, cells))
    return TableModel(index_headers, headers, rows, hidden_rows=max(0, len(table) - max_rows))


@dataclass
class SummaryModel:
    """One population in the report's summary: its clusters in a table, and its headline findings."""

    anchor: str  # the population's section
    title: str
    intro: str
    table: TableModel
    findings: list[str]
    clusters: list[tuple[str, str, str]]  # name, what defines it, suggested action
    value: TableModel | None = None  # custseg.value per cluster, when modelled
    value_caption: str = ""


#: The overview's columns as the summary table shows them (profile.overview.cluster_overview).
SUMMARY_COLUMNS = {
    "name": "Cluster", "customers": "Customers", "customers_share": "% of customers", "revenue": "Revenue",
    "revenue_share": "% of revenue", "median_recency": "Days since last order", "median_frequency": "Orders",
    "median_monetary": "Spend", "median_avg_unique_products_cnt": "Products per order",
}  # the last four are medians: the section's intro says so


def summary_table(overview: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """The overview's numbers as people read them: shares in %, money with its currency, whole
    numbers whole."""
    table = overview[[c for c in SUMMARY_COLUMNS if c in overview.columns]].copy()
    for column in table.columns:
        if column.endswith("_share"):
            table[column] = [share_text(v) for v in table[column]]
        elif column.startswith("median_"):
            table[column] = pd.array([number(v) for v in table[column]], dtype=object)
    if "revenue" in table:
        table["revenue"] = table["revenue"].round(0).astype("int64")
    money = {c: f"{c} ({currency})" for c in ("Revenue", "Spend")} if currency else {}
    return table.rename(columns=SUMMARY_COLUMNS).rename(columns=money)


def value_summary_table(overview: pd.DataFrame, currency: str = "") -> pd.DataFrame | None:
    """Per cluster what its customers are expected to bring (custseg.value; None without it):
    expected purchases, expected revenue with its 90 % interval, and the share of it."""
    if "expected_revenue" not in overview or not overview["expected_revenue"].notna().any():
        return None
    sign = f" ({currency})" if currency else ""
    return pd.DataFrame({
        "Cluster": overview["name"].to_numpy(),
        "Expected purchases": [number(v) for v in overview["expected_purchases"]],
        f"Expected revenue{sign} (90 % interval)": [interval(*v) for v in overview[["expected_revenue", "expected_revenue_low", "expected_revenue_high"]].to_numpy()],
        "% of expected revenue": [share_text(v) if pd.notna(v) else "–" for v in overview["expected_revenue_share"]],
    })


def summary_model(population: PopulationResult, anchor: str, converted: int | None, currency: str = "",
                  links: dict | None = None, horizon_days: int | None = None) -> SummaryModel | None:
    if population.overview is None or population.overview.empty:
        return None
    share = f" ({population.n_customers / converted:.1%} of the {converted:,} converted customers)" if converted else ""
    intro = f"{population.n_customers:,} customers{share}: {population.description}" if population.description else ""
    clusters = [(str(r["name"]), str(r["traits"]), str(r["action"])) for _, r in population.overview.iterrows()]
    table = table_model(summary_table(population.overview, currency))
    keys = [(str(population.name), str(int(c))) for c in population.overview["cluster"]]
    value = value_summary_table(population.overview, currency)
    return SummaryModel(anchor, str(population.title), intro, with_links(table, keys, links or {}),
                        list(population.findings), clusters, table_model(value) if value is not None else None,
                        f"The next {horizon_days} days, expected (new customers not included)" if horizon_days else "")


def rfm_summary_table(segments: dict, links: dict | None = None) -> TableModel | None:
    """RFM segments: customers, revenue and the suggested action, largest first (and their
    audience files, with ``links``)."""
    if not segments:
        return None
    rows = [{"RFM segment": name, "Customers": row["customers"], "% of customers": share_text(row["share"]),
             **({"% of revenue": share_text(row["revenue_share"])} if "revenue_share" in row else {}),
             **({"% of expected revenue": share_text(row["expected_revenue_share"])}
                if row.get("expected_revenue_share") is not None and pd.notna(row["expected_revenue_share"]) else {}),
             "Suggested action": row.get("suggested_action", "")} for name, row in segments.items()]
    return with_links(table_model(pd.DataFrame(rows)), [("rfm", str(name)) for name in segments], links or {})


@dataclass
class Headline:
    label: str
    value: str
    detail: str = ""
    items: list[tuple[str, str]] = field(default_factory=list)


def compact(value: float) -> str:
    """A large amount short enough for a card: 15.4 M, 812 k."""
    for unit, suffix in ((1e9, " bn"), (1e6, " M"), (1e3, " k")):
        if abs(value) >= 10 * unit or (unit > 1e3 and abs(value) >= unit):
            return f"{value / unit:,.1f}{suffix}" if abs(value) < 100 * unit else f"{value / unit:,.0f}{suffix}"
    return f"{value:,.0f}"


def _pct(part: Any, whole: Any) -> str:
    try:
        return f"{float(part) / float(whole):.1%}" if whole else ""
    except (TypeError, ValueError):
        return ""


_KNOWN_SUMMARY = ("as_of", "customers", "converted_customers", "repeat_customers", "never_converted_customers", "excluded_input_rows", "revenue", "currency")


def sample_sentence(summary: dict) -> str:
    """What a report made from a sample describes, and the whole table's headline numbers
    ("" when the report is of every customer)."""
    sample = (summary or {}).get("sample")
    if not sample:
        return ""
    whole = sample["all_customers"]
    sign = f"{summary['currency']} " if summary.get("currency") else ""
    revenue = f"; revenue {sign}{whole['revenue']:,.0f}" if "revenue" in whole else ""
    return (f"This report describes a uniform sample of {sample['customers']:,} of the {sample['of']:,} customers, "
            f"{sample['how']}. All customers: {whole['customers']:,}, of whom {whole['converted_customers']:,} "
            f"bought{revenue}. Every customer's cluster is in the labelled customer table.")


def headlines(summary: dict) -> list[Headline]:
    out = []
    s = summary or {}
    if "as_of" in s:
        out.append(Headline("As of", str(s["as_of"]), "orders after this day left out; recency counted from its end"))
    if "customers" in s:
        sample = s.get("sample") or {}
        out.append(Headline("Customers", format_value(s["customers"])[0],
                            f"a uniform sample of the {sample['of']:,} in the input" if sample else "in the input"))
    if "converted_customers" in s:
        share = _pct(s["converted_customers"], s.get("customers"))
        out.append(Headline("Converted", format_value(s["converted_customers"])[0], f"{share} of customers bought" if share else "bought at least once"))
    if "repeat_customers" in s:
        share = _pct(s["repeat_customers"], s.get("converted_customers"))
        out.append(Headline("Repeat", format_value(s["repeat_customers"])[0], f"{share} of converted bought twice or more" if share else "bought twice or more"))
    if "never_converted_customers" in s:
        out.append(Headline("Never converted", format_value(s["never_converted_customers"])[0], "no successful purchase"))
    if "revenue" in s:
        sign = f"{s['currency']} " if s.get("currency") else ""
        card = (sign + compact(s["revenue"])).replace(" ", "\u00a0")  # one line on the card
        out.append(Headline("Revenue", card, f"{sign}{s['revenue']:,.0f} spent on purchases by the converted customers"))
    value = s.get("value") if isinstance(s.get("value"), dict) else {}
    if value.get("expected_revenue") is not None:
        sign = f"{s['currency']} " if s.get("currency") else ""
        card = (sign + compact(value["expected_revenue"])).replace(" ", "\u00a0")
        out.append(Headline(f"Expected revenue, next {value['horizon_days']} days", card,
                            "from these customers (90 % interval " + f"{sign}{compact(max(value['expected_revenue_low'], 0))}–"
                            f"{compact(value['expected_revenue_high'])}".replace(" ", "\u00a0") + "); new customers not included"))
    if "excluded_input_rows" in s:
        excluded = s["excluded_input_rows"]
        if isinstance(excluded, dict):
            total = sum(int(v) for v in excluded.values() if isinstance(v, numbers.Real))
            items = [(str(k), format_value(v)[0]) for k, v in excluded.items()]
            out.append(Headline("Excluded input rows", format_value(total)[0], "left out before the analysis" if items else "none", items))
        else:
            out.append(Headline("Excluded input rows", format_value(excluded)[0], "left out before the analysis"))
    for key, value in s.items():
        if key in _KNOWN_SUMMARY or isinstance(value, (dict, list, tuple)):
            continue
        out.append(Headline(str(key).replace("_", " ").capitalize(), format_value(value)[0]))
    return out
