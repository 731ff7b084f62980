"""A log's own date and amount formats, and .xlsx workbooks (docs/your_log.md).

Each readable format: a small log written here in that format; custseg's customer table equals
the pandas reference (tests/reference_pandas.py) fed with values this test parsed itself
(pandas with an explicit format). Each unreadable one: one line on stderr, exit 2, nothing written.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from custseg.engines.duckdb.features import build_customer_table
from custseg.engines.duckdb import load

from tests.reference_pandas import reference_customers
from tests.test_bad_input import assert_rejected
from tests.test_features_vs_pandas import FLAT_COLUMNS, assert_same_table

HEADER = ["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]


def base_lines() -> list[dict]:
    """24 order lines of 6 customers over 14 months, days up to 28, one cancellation."""
    lines, start = [], dt.datetime(2016, 11, 3, 9, 5, 0)
    for i in range(24):
        ts = start + dt.timedelta(days=17 * i + (i % 5), hours=3 * (i % 4), minutes=7 * i, seconds=(11 * i) % 60)
        invoice = f"{540000 + i // 2}"
        lines.append({"InvoiceNo": invoice, "StockCode": f"P{i % 7}", "Quantity": 1 + i % 4, "ts": ts,
                      "price": Decimal(f"{(i * 137) % 2000}.{(i * 7) % 100:02d}"), "CustomerID": f"{17000 + i // 4}",
                      "Country": ["United Kingdom", "France"][i % 2]})
    lines[5]["InvoiceNo"] = "C549999"
    lines[5]["Quantity"] = -2
    return lines


def write_log(tmp_path: Path, lines, date_text, price_text=str, qty_text=str) -> Path:
    rows = [{"InvoiceNo": r["InvoiceNo"], "StockCode": r["StockCode"], "Quantity": qty_text(r["Quantity"]),
             "InvoiceDate": date_text(r["ts"]), "UnitPrice": price_text(r["price"]), "CustomerID": r["CustomerID"],
             "Country": r["Country"]} for r in lines]
    path = tmp_path / "log.csv"
    pd.DataFrame(rows, columns=HEADER).to_csv(path, index=False)
    return path


def reference_from(path: Path, parse_dates, parse_amount=lambda s: s, parse_qty=lambda s: s) -> pd.DataFrame:
    """The reference's input: the written file read as text, dates and amounts parsed here."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    frame["InvoiceDate"] = parse_dates(frame["InvoiceDate"]).dt.strftime("%Y-%m-%d %H:%M:%S")
    frame["UnitPrice"] = frame["UnitPrice"].map(parse_amount)
    frame["Quantity"] = frame["Quantity"].map(parse_qty)
    return reference_customers("flat", frame)


def assert_matches(path: Path, ref: pd.DataFrame, **options) -> None:
    ours = build_customer_table(load(path, preset="online_retail", **options))
    assert_same_table(ours, ref, FLAT_COLUMNS)


def fmt(pattern):
    return lambda ts: ts.strftime(pattern)


def us_short(ts: dt.datetime) -> str:  # 11/8/2016 2:05 PM
    hour = ts.hour % 12 or 12
    return f"{ts.month}/{ts.day}/{ts.year} {hour}:{ts.minute:02d} {'AM' if ts.hour < 12 else 'PM'}"


def in_plus_two(ts: dt.datetime) -> str:  # the same instant written at +02:00
    return (ts + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S") + "+02:00"


def pandas_format(pattern):
    return lambda s: pd.to_datetime(s, format=pattern)


DATE_CASES = {
    "iso": (fmt("%Y-%m-%d %H:%M:%S"), pandas_format("%Y-%m-%d %H:%M:%S")),
    "iso date only": (fmt("%Y-%m-%d"), pandas_format("%Y-%m-%d")),
    "iso T with offset": (in_plus_two, lambda s: pd.to_datetime(s, format="%Y-%m-%dT%H:%M:%S%z", utc=True).dt.tz_localize(None)),
    "iso T with Z": (fmt("%Y-%m-%dT%H:%M:%SZ"), pandas_format("%Y-%m-%dT%H:%M:%SZ")),
    "month first, 1-digit, 24h": (lambda ts: f"{ts.month}/{ts.day}/{ts.year} {ts.hour}:{ts.minute:02d}", pandas_format("%m/%d/%Y %H:%M")),
    "month first, AM/PM": (us_short, pandas_format("%m/%d/%Y %I:%M %p")),
    "month first, dashes, seconds": (fmt("%m-%d-%Y %H:%M:%S"), pandas_format("%m-%d-%Y %H:%M:%S")),
    "day first, slashes": (fmt("%d/%m/%Y %H:%M"), pandas_format("%d/%m/%Y %H:%M")),
    "day first, dots": (fmt("%d.%m.%Y %H:%M:%S"), pandas_format("%d.%m.%Y %H:%M:%S")),
    "day first, dashes, date only": (fmt("%d-%m-%Y"), pandas_format("%d-%m-%Y")),
    "day first, 2-digit year": (fmt("%d/%m/%y"), pandas_format("%d/%m/%y")),
    "year first with slashes": (fmt("%Y/%m/%d %H:%M"), pandas_format("%Y/%m/%d %H:%M")),
    "YYYYMMDD": (fmt("%Y%m%d"), pandas_format("%Y%m%d")),
    "unix seconds": (lambda ts: str(int(ts.replace(tzinfo=dt.timezone.utc).timestamp())), lambda s: pd.to_datetime(s.astype("int64"), unit="s")),
    "unix milliseconds": (lambda ts: str(int(ts.replace(tzinfo=dt.timezone.utc).timestamp()) * 1000), lambda s: pd.to_datetime(s.astype("int64"), unit="ms")),
}


@pytest.mark.parametrize("case", list(DATE_CASES))
def test_date_format_is_detected(tmp_path, case):
    write_date, parse = DATE_CASES[case]
    path = write_log(tmp_path, base_lines(), write_date)
    assert_matches(path, reference_from(path, parse))


def test_date_format_given_reads_an_ambiguous_column(tmp_path):
    lines = [dict(r, ts=r["ts"].replace(day=1 + r["ts"].day % 12)) for r in base_lines()]  # every day <= 12
    path = write_log(tmp_path, lines, fmt("%d/%m/%Y %H:%M"))
    ref = reference_from(path, pandas_format("%d/%m/%Y %H:%M"))
    assert_matches(path, ref, date_format="%d/%m/%Y %H:%M")
    assert_matches(path, reference_from(path, pandas_format("%m/%d/%Y %H:%M")), date_format="%m/%d/%Y %H:%M")


# ----------------------------------------------------------------------------- amounts


def plain_amount(text: str, decimal: str = ".") -> str:
    """This test's own reading: currency signs, codes and spaces out, thousands out, '.' decimal."""
    t = text.strip()
    negative = t.startswith("(") and t.endswith(")")
    t = "".join(ch for ch in t if ch.isdigit() or ch in ".,-")
    t = t.replace(",", "") if decimal == "." else t.replace(".", "").replace(",", ".")
    return ("-" if negative else "") + t


def thousands(d: Decimal) -> str:
    return f"${d:,.2f}"


def comma_real(d: Decimal) -> str:  # R$ 1.234,56
    return "R$ " + f"{d:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")


def comma_euro(d: Decimal) -> str:  # 1 234,56 €  (a space as thousands separator)
    return f"{d:,.2f}".replace(",", " ").replace(".", ",") + " €"


AMOUNT_CASES = {
    "thousands and $": (thousands, {}, "."),
    "EUR code": (lambda d: f"EUR {d}", {}, "."),
    "decimal comma, R$, dot thousands": (comma_real, {"decimal": ","}, ","),
    "decimal comma, € after, space thousands": (comma_euro, {"decimal": ","}, ","),
}


@pytest.mark.parametrize("case", list(AMOUNT_CASES))
def test_amount_format_is_read(tmp_path, case):
    write_amount, options, decimal = AMOUNT_CASES[case]
    path = write_log(tmp_path, base_lines(), fmt("%Y-%m-%d %H:%M:%S"), price_text=write_amount)
    ref = reference_from(path, pandas_format("%Y-%m-%d %H:%M:%S"), parse_amount=lambda s: plain_amount(s, decimal))
    assert_matches(path, ref, **options)


def test_negative_quantity_in_parentheses(tmp_path):
    path = write_log(tmp_path, base_lines(), fmt("%d/%m/%Y %H:%M:%S"), price_text=thousands,
                     qty_text=lambda q: f"({-q})" if q < 0 else str(q))
    ref = reference_from(path, pandas_format("%d/%m/%Y %H:%M:%S"), parse_amount=plain_amount, parse_qty=plain_amount)
    assert_matches(path, ref)


def test_decimal_in_a_preset(tmp_path, monkeypatch):
    """date_format and decimal are keys of a preset too (here: a ColumnMapping made like one)."""
    from custseg.sources import ColumnMapping

    path = write_log(tmp_path, base_lines(), fmt("%d.%m.%Y %H:%M:%S"), price_text=comma_real)
    base = ColumnMapping.preset("online_retail")
    mapping = ColumnMapping(columns=base.columns, cancel_prefix="C", date_format="%d.%m.%Y %H:%M:%S", decimal=",")
    ours = build_customer_table(load(path, mapping=mapping))
    ref = reference_from(path, pandas_format("%d.%m.%Y %H:%M:%S"), parse_amount=lambda s: plain_amount(s, ","))
    assert_same_table(ours, ref, FLAT_COLUMNS)


# ----------------------------------------------------------------------------- xlsx


def write_xlsx(path: Path, lines, sheet="Orders", extra_sheet=True) -> Path:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    if extra_sheet:
        book.add_worksheet("Notes").write(0, 0, "not the data")
    ws = book.add_worksheet(sheet)
    when = book.add_format({"num_format": "dd/mm/yyyy hh:mm:ss"})
    ws.write_row(0, 0, HEADER)
    for i, r in enumerate(lines, start=1):
        ws.write_string(i, 0, r["InvoiceNo"])
        ws.write_string(i, 1, r["StockCode"])
        ws.write_number(i, 2, r["Quantity"])
        ws.write_datetime(i, 3, r["ts"], when)
        ws.write_number(i, 4, float(r["price"]))
        ws.write_number(i, 5, int(r["CustomerID"]))  # ids typed as numbers, as Excel users do
        ws.write_string(i, 6, r["Country"])
    book.close()
    return path


def test_xlsx_sheet_is_read(tmp_path):
    lines = base_lines()
    path = write_xlsx(tmp_path / "log.xlsx", lines)
    frame = pd.DataFrame([{"InvoiceNo": r["InvoiceNo"], "StockCode": r["StockCode"], "Quantity": str(r["Quantity"]),
                           "InvoiceDate": r["ts"].strftime("%Y-%m-%d %H:%M:%S"), "UnitPrice": str(r["price"]),
                           "CustomerID": r["CustomerID"], "Country": r["Country"]} for r in lines])
    ours = build_customer_table(load(path, preset="online_retail", sheet="Orders"))
    assert_same_table(ours, reference_customers("flat", frame), FLAT_COLUMNS)


# ----------------------------------------------------------------------------- refused


def features(run_cli, data: Path, out: Path, *extra: str):
    return run_cli("features", "--data", data, "--out", out, "--preset", "online_retail", *extra)


def test_ambiguous_dates_stop_with_both_readings(run_cli, tmp_path):
    lines = [dict(r, ts=r["ts"].replace(day=1 + r["ts"].day % 12)) for r in base_lines()]
    path = write_log(tmp_path, lines, lambda ts: f"{ts.month}/{ts.day}/{ts.year}")
    out = tmp_path / "out"
    first = f"{lines[0]['ts'].month}/{lines[0]['ts'].day}/{lines[0]['ts'].year}"
    assert_rejected(features(run_cli, path, out), out, "log.csv, column 'InvoiceDate'", "read two ways",
                    f"month first ({first!r} =", "day first (=", "--date-format %m/%d/%Y or --date-format %d/%m/%Y")


def test_a_few_bad_dates_among_good_ones(run_cli, tmp_path):
    path = write_log(tmp_path, base_lines(), us_short)
    text = path.read_text().splitlines()
    text[4] = text[4].replace(text[4].split(",")[3], "13/45/2017 1:00 PM")
    text[9] = text[9].replace(text[9].split(",")[3], "soon")
    path.write_text("\n".join(text) + "\n")
    out = tmp_path / "out"
    assert_rejected(features(run_cli, path, out), out, "log.csv, column 'InvoiceDate'", "2 rows of 24 are not timestamps",
                    "month first", "row 4 '13/45/2017 1:00 PM', row 9 'soon'", "--date-format")


def test_wrong_date_format(run_cli, tmp_path):
    path = write_log(tmp_path, base_lines(), fmt("%m/%d/%Y %H:%M"))
    out = tmp_path / "out"
    result = run_cli("run", "--data", path, "--out", out, "--preset", "online_retail", "--date-format", "%d/%m/%Y %H:%M", "--quiet", "--no-slides")
    assert_rejected(result, out, "log.csv, column 'InvoiceDate'", "of 24 do not match --date-format %d/%m/%Y %H:%M", "row ",
                    "every value reads as month first: --date-format %m/%d/%Y %H:%M")


def test_decimal_comma_without_the_option(run_cli, tmp_path):
    path = write_log(tmp_path, base_lines(), fmt("%Y-%m-%d %H:%M:%S"), price_text=lambda d: f"{d}".replace(".", ","))
    out = tmp_path / "out"
    assert_rejected(features(run_cli, path, out), out, "log.csv, column 'UnitPrice'", "look like a decimal comma", "row 1 '0,00'",
                    "give --decimal ,")


def test_amount_that_is_no_number(run_cli, tmp_path):
    path = write_log(tmp_path, base_lines(), fmt("%Y-%m-%d %H:%M:%S"), price_text=lambda d: "about 3" if d == Decimal("411.21") else str(d))
    out = tmp_path / "out"
    assert_rejected(features(run_cli, path, out), out, "log.csv, column 'UnitPrice'", "1 row of 24 is not a number", "row 4 'about 3'")


@pytest.mark.parametrize("options, fragments", [
    (("--decimal", ";"), ("--decimal ';'", "use . (1,234.56) or ,")),
    (("--date-format", "%d/%q/%Y"), ("--date-format '%d/%q/%Y'", "%q")),
    (("--date-format", "day/month"), ("not a strptime format",)),
    (("--sheet", "Orders"), ("--sheet Orders", "not an Excel workbook")),
])
def test_bad_options(run_cli, tmp_path, options, fragments):
    path = write_log(tmp_path, base_lines(), fmt("%Y-%m-%d %H:%M:%S"))
    out = tmp_path / "out"
    assert_rejected(features(run_cli, path, out, *options), out, *fragments)


def test_xlsx_missing_sheet_names_the_sheets(run_cli, tmp_path):
    path = write_xlsx(tmp_path / "log.xlsx", base_lines())
    out = tmp_path / "out"
    assert_rejected(features(run_cli, path, out, "--sheet", "Sales"), out, "log.xlsx", "no sheet 'Sales'", "Notes, Orders", "--sheet")


def test_xlsx_first_sheet_is_the_default(run_cli, tmp_path):
    path = write_xlsx(tmp_path / "log.xlsx", base_lines())  # the first sheet is "Notes"
    out = tmp_path / "out"
    assert_rejected(features(run_cli, path, out), out, "log.xlsx", "'CustomerID'", "not found", "not the data")


def test_not_a_workbook(run_cli, tmp_path):
    path = tmp_path / "log.xlsx"
    path.write_text("InvoiceNo,CustomerID\n1,2\n")
    out = tmp_path / "out"
    assert_rejected(features(run_cli, path, out), out, "log.xlsx", "cannot be read as an Excel workbook")
