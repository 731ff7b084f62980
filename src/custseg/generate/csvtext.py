"""Vectorised CSV text in the style of the Kaggle Olist files.

The real files quote every header name and every text value that starts with a digit (ids like
"25e8...", zip prefixes like "01409"), leave numbers, timestamps and other text bare, quote free text
only when it needs it (commas, quotes, line breaks), write money with two decimals and missing
values as empty fields, and end lines with LF. Everything here works on whole columns at once with
pyarrow, so a chunk of a million rows formats in well under a second.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)


def header_line(names: list[str]) -> bytes:
    """All header names quoted, as in the Kaggle files."""
    return (",".join(f'"{n}"' for n in names) + "\n").encode("utf-8")


def hex_ids(rng: np.random.Generator, n: int) -> pa.StringArray:
    """`n` ids of 32 lowercase hex characters from the generator's bytes."""
    text = rng.bytes(16 * n).hex().encode("ascii")
    return _fixed_width(np.frombuffer(text, dtype=np.uint8).reshape(n, 32) if n else np.zeros((0, 32), np.uint8))


def _fixed_width(chars: np.ndarray, valid: np.ndarray | None = None) -> pa.StringArray:
    """A string array from an (n, width) uint8 matrix of ASCII characters; invalid rows become null."""
    n, width = chars.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    data = pa.py_buffer(np.ascontiguousarray(chars).tobytes())
    bitmap = None
    null_count = 0
    if valid is not None and not valid.all():
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little").tobytes())
        null_count = int(n - valid.sum())
    return pa.Array.from_buffers(pa.string(), n, [bitmap, pa.py_buffer(offsets.tobytes()), data], null_count)


def _put_digits(out: np.ndarray, col: int, value: np.ndarray, width: int) -> None:
    for i in range(width - 1, -1, -1):
        out[:, col + i] = _DIGITS[value % 10]
        value = value // 10


def _civil_from_days(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day of days since 1970-01-01 (H. Hinnant's algorithm, proleptic Gregorian)."""
    z = days + 719_468
    era = np.floor_divide(z, 146_097)
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    return year, month, day


def timestamps(seconds: np.ndarray, valid: np.ndarray | None = None) -> pa.StringArray:
    """'YYYY-MM-DD HH:MM:SS' for int64 seconds since the epoch; rows where valid is False are null."""
    seconds = np.asarray(seconds, dtype=np.int64)
    n = seconds.size
    days = np.floor_divide(seconds, 86_400)
    sod = seconds - days * 86_400
    year, month, day = _civil_from_days(days)
    out = np.empty((n, 19), dtype=np.uint8)
    out[:, [4, 7]] = ord("-")
    out[:, 10] = ord(" ")
    out[:, [13, 16]] = ord(":")
    _put_digits(out, 0, year, 4)
    _put_digits(out, 5, month, 2)
    _put_digits(out, 8, day, 2)
    _put_digits(out, 11, sod // 3600, 2)
    _put_digits(out, 14, (sod // 60) % 60, 2)
    _put_digits(out, 17, sod % 60, 2)
    return _fixed_width(out, valid)


def zip_prefixes(zips: np.ndarray) -> pa.StringArray:
    """Zip prefixes as quoted 5-digit strings with leading zeros ("01409")."""
    zips = np.asarray(zips, dtype=np.int64)
    out = np.empty((zips.size, 7), dtype=np.uint8)
    out[:, 0] = out[:, 6] = ord('"')
    _put_digits(out, 1, zips, 5)
    return _fixed_width(out)


def integers(values: np.ndarray) -> pa.StringArray:
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())


def money(cents: np.ndarray) -> pa.StringArray:
    """Cents as 'reais.cc' (two decimals always, like 541.00)."""
    cents = np.asarray(cents, dtype=np.int64)
    whole = pc.cast(pa.array(cents // 100), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(cents % 100), pa.string()), 2, "0")
    return pc.binary_join_element_wise(whole, frac, ".")


def floats(values: np.ndarray) -> pa.StringArray:
    """Shortest round-trip decimal text of floats (like -23.54562128115268)."""
    return pc.cast(pa.array(np.asarray(values, dtype=np.float64)), pa.string())


def quote_leading_digit(values: pa.Array) -> pa.Array:
    """Quote text values that start with a digit, as the Kaggle files do with ids."""
    needs = pc.match_substring_regex(values, "^[0-9]")
    return pc.if_else(needs, pc.binary_join_element_wise('"', values, '"', ""), values)


def text_fields(values: pa.Array) -> pa.Array:
    """CSV fields for a text column: quoted (quotes doubled) when needed or when starting with a digit."""
    needs = pc.match_substring_regex(values, '[",\r\n]|^[0-9]')
    escaped = pc.replace_substring(values, '"', '""')
    return pc.if_else(needs, pc.binary_join_element_wise('"', escaped, '"', ""), values)


def quote_text(value: str) -> str:
    """CSV field for one free-text value: quoted (quotes doubled) when it needs it or starts with a digit."""
    if any(ch in value for ch in ',"\r\n') or value[:1].isdigit():
        return '"' + value.replace('"', '""') + '"'
    return value


def take_text(pool: list[str], index: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Column of already-quoted text fields picked from `pool`; invalid rows null (written empty)."""
    quoted = pa.array([quote_text(v) for v in pool], type=pa.string())
    column = quoted.take(pa.array(np.asarray(index, dtype=np.int64)))
    if valid is not None:
        column = pc.if_else(pa.array(valid), column, pa.scalar(None, pa.string()))
    return column


ROWS_PER_SLICE = 500_000  # keeps every joined text buffer far below pyarrow's 2 GiB string limit


def rows(columns: list[pa.Array]) -> bytes:
    """CSV body: fields joined by commas, nulls as empty fields, each row ending in LF."""
    n = len(columns[0])
    parts = []
    for start in range(0, n, ROWS_PER_SLICE):
        part = [c.slice(start, ROWS_PER_SLICE) for c in columns]
        joined = pc.binary_join_element_wise(*part, ",", null_handling="replace", null_replacement="")
        lines = pc.binary_join_element_wise(joined, pa.scalar(""), "\n")
        if lines.offset or lines.null_count:
            lines = pa.concat_arrays([lines])
        offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32, count=len(lines) + 1)
        parts.append(lines.buffers()[2].to_pybytes()[offsets[0]: offsets[-1]])
    return b"".join(parts)
