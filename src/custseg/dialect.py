"""The SQL dialects of the feature stage: DuckDB (single machine) and Spark SQL.

The feature SQL files are written once. Where the two engines spell a function differently,
the file calls a macro from here (``{{ epoch_us("purchase_ts") }}``) and the macro renders the
engine's spelling. Everything else — joins, windows, FILTER clauses, CASE, ``median`` (exact
in both: DuckDB's quantile_cont, Spark's ``percentile``) — is the same text for both.

Each macro documents the semantics both spellings must share; ``tests/test_spark.py``
compares the two engines' customer tables column by column.
"""

from __future__ import annotations

from collections.abc import Callable

DIALECTS = ("duckdb", "spark")

# Python's str.title() (what custseg's DuckDB function title_label does, via Arrow's
# utf8_title) in Spark SQL: trim whitespace, underscores to spaces, then walk the characters
# upper-casing a character when the previous one is not cased (lower(c) <> upper(c)) and
# lower-casing it otherwise. A character whose upper case is two characters (ß, ligatures) is
# kept as is, as Arrow does. Native SQL, so executors need no Python.
_SPARK_TITLE = (
    "aggregate(split(replace(regexp_replace({x}, '(?U)^\\\\s+|\\\\s+$', ''), '_', ' '), ''), "
    "named_struct('out', '', 'cased', false), "
    "(acc, c) -> named_struct('out', concat(acc.out, IF(acc.cased, lower(c), IF(length(upper(c)) = 1, upper(c), c))), "
    "'cased', lower(c) <> upper(c)), "
    "acc -> acc.out)"
)


#: Up to this many orders DuckDB joins sorted values through in-memory lists (list_sort(list(...))),
#: ~4x faster than an ordered string_agg; above it the ordered aggregate, which can spill to disk
#: (DuckDB cannot spill list states: at 10M customers the lists ran out of its memory limit).
IN_MEMORY_LISTS_UP_TO = 2_000_000


def sql_macros(dialect: str, *, in_memory_lists: bool = False) -> dict[str, Callable[..., str]]:
    """Template functions rendering the dialect's spelling of each differing construct.

    ``in_memory_lists``: DuckDB's sorted joins use lists (see :data:`IN_MEMORY_LISTS_UP_TO`);
    the text is the same either way (tested).
    """
    if dialect not in DIALECTS:
        raise ValueError(f"unknown SQL dialect {dialect!r}; use one of {', '.join(DIALECTS)}")
    spark = dialect == "spark"

    def epoch_us(x: str) -> str:
        """Microseconds since 1970-01-01 of a timestamp (Spark: session time zone UTC)."""
        return f"unix_micros({x})" if spark else f"epoch_us({x})"

    def from_epoch_us(x: str) -> str:
        """The timestamp of a BIGINT count of microseconds since 1970-01-01."""
        return f"timestamp_micros({x})" if spark else f"make_timestamp({x})"

    def dayname(x: str) -> str:
        """English day name: Monday .. Sunday."""
        return f"date_format({x}, 'EEEE')" if spark else f"dayname({x})"

    def isodow(x: str) -> str:
        """ISO day of week: Monday = 1 .. Sunday = 7."""
        return f"(weekday({x}) + 1)" if spark else f"isodow({x})"

    def intdiv(a: str, b: str) -> str:
        """Integer division of BIGINTs, truncated toward zero."""
        return f"(({a}) div ({b}))" if spark else f"(({a}) // ({b}))"

    def avg_exact(x: str) -> str:
        """Mean of an exact DECIMAL column as DOUBLE (Spark's avg of a DECIMAL is a DECIMAL
        rounded to its scale + 4 digits; DuckDB's is a DOUBLE of the exact sum)."""
        return f"(CAST(sum({x}) AS DOUBLE) / count({x}))" if spark else f"avg({x})"

    def avg_in_order(x: str, order_by: str) -> str:
        """Mean of a DOUBLE column summed in the given row order (DuckDB: an ordered aggregate), so
        that the last bits of the result do not depend on the order rows reach the aggregate; Spark
        sums in its own order (the engines agree to 1e-9, not to the bit)."""
        return f"avg({x})" if spark else f"avg({x} ORDER BY {order_by})"

    def string_agg_sorted(x: str, distinct: bool = True) -> str:
        """Values joined with ', ' in binary (byte) order; NULLs skipped; NULL when none."""
        if spark:
            collect = "collect_set" if distinct else "collect_list"
            return f"CASE WHEN count({x}) > 0 THEN array_join(array_sort({collect}({x})), ', ') END"
        if in_memory_lists:
            return (f"CASE WHEN count({x}) > 0 THEN array_to_string(list_sort(list({'DISTINCT ' if distinct else ''}{x}) "
                    f"FILTER (WHERE {x} IS NOT NULL)), ', ') END")
        return f"string_agg({'DISTINCT ' if distinct else ''}{x}, ', ' ORDER BY {x})"

    def arg_max(arg: str, *keys: str) -> str:
        """``arg`` on the row with the largest (keys...), skipping rows where ``arg`` is NULL.

        DuckDB compares the key tuple field by field with NULL above every value; Spark's struct
        order puts NULL first, so each key is preceded by its IS NULL flag.
        """
        if spark:
            fields = ", ".join(f"{k} IS NULL, {k}" for k in keys)
            return f"max_by({arg}, CASE WHEN {arg} IS NOT NULL THEN struct({fields}) END)"
        return f"arg_max({arg}, ({', '.join(keys)}))"

    def not_stored() -> str:
        """After a CTE's ``AS``: the CTE is read again wherever it is named, not
        stored once. DuckDB stores a CTE named more than once (at 10M orders, a copy of the
        purchases' columns taken while memory is short); Spark inlines CTEs anyway."""
        return "" if spark else "NOT MATERIALIZED"

    def label(text: str, labels: list[str]) -> str:
        """``text``, one of a few known ``labels`` (a segment's). DuckDB: a value of the ENUM of the
        labels, which holds a row's label in a byte and goes to Parquet as its dictionary without
        hashing each row's text (at 10M customers the customer table was written ~3 s faster);
        pandas reads it as the same category. Spark: the text."""
        if spark:
            return literal(text)
        return f"CAST({literal(text)} AS ENUM({', '.join(literal(x) for x in labels)}))"

    def as_text(x: str) -> str:
        """A ``label`` as plain text: what the customer table shows its users (DuckDB's ``.df()``
        makes an ENUM an ordered category of every label, used or not)."""
        return x if spark else f"CAST({x} AS VARCHAR)"

    def title_label(x: str) -> str:
        """'credit_card' -> 'Credit Card' (see custseg.engines.duckdb.features._title_label)."""
        return _SPARK_TITLE.format(x=x) if spark else f"title_label({x})"

    def quote(name: str) -> str:
        """An identifier."""
        return "`" + name.replace("`", "``") + "`" if spark else '"' + name.replace('"', '""') + '"'

    def literal(text: str) -> str:
        """A string literal (Spark SQL escapes with backslashes; DuckDB doubles the quote)."""
        text = str(text)
        if spark:
            return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
        return "'" + text.replace("'", "''") + "'"

    def starts_with(x: str, prefix: str) -> str:
        """Whether the text `x` starts with the Python string `prefix` (NULL when `x` is NULL)."""
        return f"startswith({x}, {literal(prefix)})" if spark else f"starts_with({x}, {literal(prefix)})"

    return {
        "dialect": dialect,
        "epoch_us": epoch_us,
        "from_epoch_us": from_epoch_us,
        "dayname": dayname,
        "isodow": isodow,
        "intdiv": intdiv,
        "avg_exact": avg_exact,
        "string_agg_sorted": string_agg_sorted,
        "avg_in_order": avg_in_order,
        "arg_max": arg_max,
        "not_stored": not_stored,
        "label": label,
        "as_text": as_text,
        "title_label": title_label,
        "quote": quote,
        "literal": literal,
        "starts_with": starts_with,
    }


def split_statements(sql: str) -> list[str]:
    """The statements of a rendered file (split at ';' outside quotes and comments)."""
    out, buf, i, n = [], [], 0, len(sql)
    quote: str | None = None
    while i < n:
        ch = sql[i]
        if quote:
            buf.append(ch)
            if ch == quote:
                if i + 1 < n and sql[i + 1] == quote:  # doubled quote inside a literal
                    buf.append(sql[i + 1])
                    i += 1
                else:
                    quote = None
        elif ch in ("'", '"', "`"):
            quote = ch
            buf.append(ch)
        elif ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            buf.append(sql[i:end])
            i = end
            continue
        elif ch == ";":
            out.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    out.append("".join(buf))
    return [s.strip() for s in out if _has_code(s)]


def _has_code(statement: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in statement.splitlines())
