"""How a flat log's timestamps and amounts are read, and what to say when they cannot be.

A log's dates come in many writings (``11/8/2016``, ``2016-11-08T14:05:00+02:00``, ``20161108``,
Unix seconds) and its amounts in many more (``1,234.56``, ``12,50``, ``R$ 12,50``). One column
holds one writing, so a column is read with one *reading* (formats.toml lists the timestamp
readings): the one given (``--date-format``, ``--decimal``), else the one that parses every
value. A column is first read with the cheapest reading (ISO, a plain number) in the loader's
single strict pass; only when a value does not parse does :meth:`resolve` run one SQL pass that
counts, for every reading, the rows it fails on — over all rows, not a sample — and either
returns the reading that parses all of them or raises a one-line InputError naming the file,
the column, the rows and the option that reads them.

Every ``sql`` method takes ``v``, a DuckDB text expression that is NULL for an empty value.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources

import duckdb

from custseg.engines.duckdb.connection import fetch_one
from custseg.errors import InputError
from custseg.sources.flat import check_decimal

# A time followed by a zone: Z, +02, +0200, +02:00 (DuckDB's ISO cast would drop the zone).
ZONE_RE = r"\d\d:\d\d(:\d\d)?(\.\d+)?\s*([Zz]|[+-]\d\d(:?\d\d)?)$"
DATE_FORMAT_HINT = "--date-format (strptime, e.g. %d/%m/%Y %H:%M)"


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _rows(n: int) -> str:
    return f"{n:,} row" + ("" if n == 1 else "s")


# ----------------------------------------------------------------------------- timestamps


@dataclass(frozen=True)
class TimestampReading:
    """One way of writing a timestamp (a row of formats.toml, or a user's --date-format)."""

    name: str
    kind: str  # iso | strptime | unix_s | unix_ms
    formats: tuple[str, ...] = ()
    pattern: str | None = None  # a value must match it in full (keeps 20161108 from being seconds)
    option: str | None = None  # the --date-format that reads the example
    example: str = ""
    separators: tuple[str, ...] = ()  # formats are listed once per separator, the first's first

    def sql(self, v: str, strict: bool) -> str:
        """A TIMESTAMP (UTC when the text carries a zone); strict raises on a value it cannot read,
        else gives NULL."""
        cast = "CAST" if strict else "TRY_CAST"
        if self.kind == "iso":
            # DuckDB's cast also takes 03/11/16 (as the year 3): an ISO value has its '-' 5th
            otherwise = "error('not a timestamp')" if strict else "NULL"
            return (f"CASE WHEN {v} IS NULL THEN NULL WHEN substr({v}, 5, 1) <> '-' THEN {otherwise} "
                    f"WHEN regexp_matches({v}, {_lit(ZONE_RE)}) THEN make_timestamp(epoch_us({cast}({v} AS TIMESTAMPTZ))) "
                    f"ELSE {cast}({v} AS TIMESTAMP) END")
        if self.kind == "strptime":
            fn = "strptime" if strict else "try_strptime"
            text, formats = v, self.formats
            if self.separators:  # 11-28-2016 and 11.28.2016 as 11/28/2016: a third of the formats to try
                text = f"translate({v}, {_lit(''.join(self.separators[1:]))}, {_lit(self.separators[0] * (len(self.separators) - 1))})"
                formats = self.formats[: len(self.formats) // len(self.separators)]
            value = f"{fn}({text}, [{', '.join(_lit(f) for f in formats)}])"
            if any("%z" in f for f in self.formats):  # a TIMESTAMPTZ: its instant, as UTC
                value = f"make_timestamp(epoch_us({value}))"
        elif self.kind == "unix_s":
            value = f"make_timestamp(CAST(round(CAST({v} AS DOUBLE) * 1000000) AS BIGINT))"
        elif self.kind == "unix_ms":
            value = f"make_timestamp(CAST({v} AS BIGINT) * 1000)"
        else:
            raise ValueError(self.kind)
        if self.pattern is None:
            return value
        otherwise = "ELSE error('not a timestamp')" if strict else ""
        return f"CASE WHEN {v} IS NULL THEN NULL WHEN regexp_full_match({v}, {_lit(self.pattern)}) THEN {value} {otherwise} END"

    def option_for(self, value: str) -> str | None:
        """The --date-format that reads `value` (Python's strptime, the same syntax)."""
        for fmt in self.formats:
            try:
                datetime.strptime(value.strip(), fmt)
                return fmt
            except ValueError:
                continue
        return self.option


def _load_readings() -> tuple[TimestampReading, ...]:
    """formats.toml's readings; a row with separators gets its formats once per separator."""
    spec = tomllib.loads(resources.files("custseg.sources").joinpath("formats.toml").read_text())
    readings = []
    for row in spec["timestamp"]:
        formats = list(row.get("formats", ()))
        for sep in row.get("separators", ())[1:]:
            formats += [f.replace("/", sep, 2) for f in row["formats"]]
        readings.append(TimestampReading(name=row["name"], kind=row["kind"], formats=tuple(formats),
                                         pattern=row.get("pattern"), option=row.get("option"), example=row["example"],
                                         separators=tuple(row.get("separators", ()))))
    return tuple(readings)


READINGS = _load_readings()
ISO = READINGS[0]


def given_reading(date_format: str) -> TimestampReading:
    """The reading of a user's --date-format (strptime syntax, as in Python and DuckDB)."""
    if "%" not in date_format:
        raise InputError(f"--date-format {date_format!r}: not a strptime format; example: --date-format '%d/%m/%Y %H:%M'")
    try:
        duckdb.sql(f"SELECT try_strptime('2017-01-01', {_lit(date_format)})").fetchall()
    except duckdb.Error as exc:
        detail = str(exc).strip().splitlines()[0].split(": ", 1)[-1]
        raise InputError(f"--date-format {date_format!r}: {detail}; see strptime's codes (%Y %m %d %H %M %S %p %z)") from None
    return TimestampReading(name=f"--date-format {date_format}", kind="strptime", formats=(date_format,), option=date_format)


def _shown(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%d") if ts.time() == datetime.min.time() else ts.strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class TimestampColumn:
    """How one timestamp column is read: the given --date-format, or the detected reading."""

    date_format: str | None = None
    reading: TimestampReading = field(default=ISO)

    @classmethod
    def of(cls, date_format: str | None) -> "TimestampColumn":
        return cls(date_format, given_reading(date_format)) if date_format else cls()

    def sql(self, v: str, strict: bool) -> str:
        return self.reading.sql(v, strict)

    def resolve(self, con, scan: str, v: str, row_expr: str, file: str, column: str) -> "TimestampColumn":
        """The reading that parses every value of the column, or a one-line InputError."""
        candidates = [self.reading, *[r for r in READINGS if r != self.reading]]
        counts = ", ".join(f"count(*) FILTER (WHERE {v} IS NOT NULL AND {r.sql(v, False)} IS NULL)" for r in candidates)
        total, *fails = fetch_one(con, f"SELECT count({v}), {counts} FROM {scan}")
        where = f"{file}, column {column!r}"
        if fails[0] == 0:
            return self
        complete = [r for r, f in zip(candidates, fails) if f == 0]
        if self.date_format:
            bad = _examples(con, scan, v, row_expr, self.reading.sql(v, False))
            hint = ""
            if complete:
                option = complete[0].option_for(_first_value(con, scan, v, row_expr))
                hint = f" (every value reads as {complete[0].name}" + (f": --date-format {option}" if option else "") + ")"
            raise InputError(f"{where}: {_rows(fails[0])} of {total:,} do not match --date-format {self.date_format}: {bad}; "
                             f"fix those rows or give the format that reads them{hint}")
        if complete:
            if len(complete) > 1:
                _raise_if_ambiguous(con, scan, v, row_expr, where, complete[0], complete[1])
            return TimestampColumn(None, complete[0])
        best_fails, best = min(zip(fails, candidates), key=lambda p: p[0])
        bad = _examples(con, scan, v, row_expr, best.sql(v, False) if best_fails < total else "NULL")
        known = ", ".join(r.name for r in READINGS)
        read_as = f" (most rows read as {best.name})" if best_fails < total else ""
        verb = "is not a timestamp" if best_fails == 1 else "are not timestamps"
        raise InputError(f"{where}: {_rows(best_fails)} of {total:,} {verb} in any format custseg reads{read_as}: {bad}; "
                         f"fix or remove those rows, or give {DATE_FORMAT_HINT} (custseg reads {known})")


def _raise_if_ambiguous(con, scan, v, row_expr, where, a: TimestampReading, b: TimestampReading) -> None:
    """Two readings parse every value: stop if they disagree on one (no day above 12)."""
    row = fetch_one(con, f"SELECT {v}, {a.sql(v, False)}, {b.sql(v, False)} FROM {scan} "
                         f"WHERE {a.sql(v, False)} <> {b.sql(v, False)} ORDER BY {row_expr} LIMIT 1")
    if row is None:
        return
    value, as_a, as_b = row
    raise InputError(
        f"{where}: the dates read two ways, {a.name} ({value!r} = {_shown(as_a)}) or {b.name} (= {_shown(as_b)}), "
        f"as no day is above 12; give --date-format {a.option_for(value)} or --date-format {b.option_for(value)}"
    )


def _first_value(con, scan, v, row_expr) -> str:
    return fetch_one(con, f"SELECT {v} FROM {scan} WHERE {v} IS NOT NULL ORDER BY {row_expr} LIMIT 1")[0]


def _examples(con, scan: str, v: str, row_expr: str, parsed: str, n: int = 2) -> str:
    """The first `n` rows whose value does not parse, as "row 4 'x', row 9 'y'"."""
    bad = con.sql(f"SELECT {row_expr}, {v} FROM {scan} WHERE {v} IS NOT NULL AND ({parsed}) IS NULL ORDER BY 1 LIMIT {n}").fetchall()
    return ", ".join(f"row {row} {value[:60]!r}" for row, value in bad)


# ----------------------------------------------------------------------------- amounts


@dataclass(frozen=True)
class AmountReading:
    """A way of writing amounts: a plain number, or with a decimal point / comma, thousands
    separators, a currency sign or code, spaces, and (12.50) or 12.50- for a negative."""

    name: str
    decimal: str | None  # None: the plain cast; "." or ","

    def sql(self, v: str, strict: bool) -> str:
        if self.decimal is None:
            return f"{'CAST' if strict else 'TRY_CAST'}({v} AS DECIMAL(18,4))"
        thousands = "," if self.decimal == "." else r"\."
        dec = re.escape(self.decimal)
        # currency signs and spaces anywhere, then a currency code (EUR, R of R$) at either end
        s = rf"regexp_replace(regexp_replace({v}, '[\p{{Sc}}\p{{Z}}\s]+', '', 'g'), '^[A-Z]{{1,3}}|[A-Z]{{1,3}}$', '', 'g')"
        body = rf"regexp_replace({s}, '^\(|\)$|-$', '', 'g')"
        ok = (rf"regexp_full_match({body}, '[+-]?(\d{{1,3}}({thousands}\d{{3}})+|\d*)({dec}\d+)?') "
              rf"AND regexp_matches({body}, '\d')")
        number = f"replace({body}, ',', '')" if self.decimal == "." else f"replace(replace({body}, '.', ''), ',', '.')"
        negative = rf"regexp_full_match({s}, '\(.*\)|.*\d-')"
        value = f"CAST(CASE WHEN {negative} THEN '-' || {number} ELSE {number} END AS DECIMAL(18,4))"
        if strict:
            return f"CASE WHEN {v} IS NULL THEN NULL WHEN {ok} THEN {value} ELSE error('not an amount') END"
        return f"CASE WHEN {ok} THEN TRY_{value} END"


PLAIN = AmountReading("a plain number", None)
POINT = AmountReading("a decimal point", ".")
COMMA = AmountReading("a decimal comma", ",")


@dataclass(frozen=True)
class AmountColumn:
    """How one amount column is read: a plain number first, else with the --decimal mark."""

    decimal: str = "."
    reading: AmountReading = PLAIN

    @classmethod
    def of(cls, decimal: str = ".") -> "AmountColumn":
        return cls(check_decimal(decimal), PLAIN if decimal == "." else COMMA)

    def sql(self, v: str, strict: bool) -> str:
        return self.reading.sql(v, strict)

    def resolve(self, con, scan: str, v: str, row_expr: str, file: str, column: str) -> "AmountColumn":
        """The reading with the column's decimal mark that parses every value, or a one-line InputError."""
        candidates = (PLAIN, POINT, COMMA)
        counts = ", ".join(f"count(*) FILTER (WHERE {v} IS NOT NULL AND {r.sql(v, False)} IS NULL)" for r in candidates)
        total, plain, point, comma = fetch_one(con, f"SELECT count({v}), {counts} FROM {scan}")
        where = f"{file}, column {column!r}"
        mine = {".": point, ",": comma}[self.decimal]
        if self.decimal == "." and plain == 0:
            return AmountColumn(".", PLAIN)
        if mine == 0:
            return AmountColumn(self.decimal, POINT if self.decimal == "." else COMMA)
        reading = POINT if self.decimal == "." else COMMA
        bad = _examples(con, scan, v, row_expr, reading.sql(v, False))
        look = "looks" if mine == 1 else "look"
        if self.decimal == "." and comma == 0:
            raise InputError(f"{where}: {_rows(point)} of {total:,} {look} like a decimal comma ({bad}); give --decimal ,")
        if self.decimal == "," and point == 0:
            raise InputError(f"{where}: {_rows(comma)} of {total:,} {look} like a decimal point ({bad}); leave --decimal , out")
        verb = "is not a number" if mine == 1 else "are not numbers"
        other = "--decimal , reads 1.234,56" if self.decimal == "." else "without --decimal , 1,234.56 is read"
        raise InputError(f"{where}: {_rows(mine)} of {total:,} {verb} (amounts): {bad}; fix or remove those rows "
                         f"(read: 1234.56, 1,234.56, $12.50, EUR 12.50, (12.50); {other})")
