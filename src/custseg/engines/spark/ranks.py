"""Exact global ranks without a single-partition window.

The feature SQL ranks every customer (RFM, ``09_rfm.sql``) with
``row_number() OVER (ORDER BY ...)``: no PARTITION BY, so Spark moves every row into one task.
Here the same ranks are computed on all executors, exactly (the spec's RFM bins are exact
integer arithmetic on the ranks; no approximate quantiles):

1. range-partition the rows by the rank's order (Spark samples the bounds; every row of
   partition p sorts before every row of partition p + 1) and keep that result (checkpoint: the
   sampled bounds must not change between the next two passes);
2. count the rows of each partition (a few numbers on the driver) and rank within each partition
   (a window *with* PARTITION BY);
3. rank = rows in the partitions before + rank within the partition.

:func:`distribute_ranks` rewrites a rendered statement whose CTE is ``SELECT *, row_number()
OVER (ORDER BY ...) AS a, ..., count(*) OVER () AS n FROM src``; any other shape is left to Spark
as written (same result, one task).
"""

from __future__ import annotations

import re
from typing import Callable

__all__ = ["add_ranks", "distribute_ranks", "split_ctes"]

_WINDOW_CTE = re.compile(r"^\s*SELECT\s+\*\s*,(?P<exprs>.*)\s+FROM\s+(?P<src>\w+)\s*$", re.S | re.I)
_ROW_NUMBER = re.compile(r"^\s*row_number\(\)\s+OVER\s*\(\s*ORDER\s+BY\s+(?P<order>.+?)\s*\)\s+AS\s+(?P<alias>\w+)\s*$", re.S | re.I)
_COUNT_ALL = re.compile(r"^\s*count\(\*\)\s+OVER\s*\(\s*\)\s+AS\s+(?P<alias>\w+)\s*$", re.S | re.I)
_ORDER_ITEM = re.compile(r"^(?P<expr>.+?)(?:\s+(?P<dir>ASC|DESC))?(?:\s+NULLS\s+(?P<nulls>FIRST|LAST))?$", re.S | re.I)


def _unquoted(text: str, start: int = 0):
    """(index, character, parenthesis depth after it) of every character of `text` from `start`
    that is outside quotes (quote characters themselves left out)."""
    depth, quote = 0, None
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            quote = None if ch == quote else quote
            continue
        if ch in "'\"`":
            quote = ch
            continue
        depth += (ch == "(") - (ch == ")")
        yield i, ch, depth


def _top_level(text: str, sep: str = ",") -> list[str]:
    """`text` split at `sep` outside parentheses and quotes."""
    parts, start = [], 0
    for i, ch, depth in _unquoted(text):
        if ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def split_ctes(query: str) -> tuple[list[tuple[str, str]], str] | None:
    """``WITH a AS (...), b AS (...) SELECT ...`` as ([(a, body), (b, body)], final select); None
    when `query` is not of that form."""
    match = re.match(r"^\s*WITH\s+", query, re.I)
    if match is None:
        return None
    i, ctes = match.end(), []
    while True:
        head = re.compile(r"(\w+)\s+AS\s*\(", re.I).match(query, i)
        if head is None:
            return None
        # the body ends at the parenthesis that closes the one after AS
        j = next((i + 1 for i, _, depth in _unquoted(query, head.end()) if depth == -1), None)
        if j is None:
            return None
        ctes.append((head.group(1), query[head.end():j - 1]))
        rest = re.compile(r"\s*,\s*").match(query, j)
        if rest is None:
            return ctes, query[j:]
        i = rest.end()


def _sort_columns(order: str):
    """A SQL ORDER BY list as Spark Columns, with Spark SQL's defaults (ASC: NULLS FIRST, DESC: NULLS LAST)."""
    from pyspark.sql import functions as F

    columns = []
    for item in _top_level(order):
        m = _ORDER_ITEM.match(item.strip())
        column = F.expr(m.group("expr"))
        desc = (m.group("dir") or "").upper() == "DESC"
        nulls_last = (m.group("nulls") or ("LAST" if desc else "FIRST")).upper() == "LAST"
        columns.append(getattr(column, f"{'desc' if desc else 'asc'}_nulls_{'last' if nulls_last else 'first'}")())
    return columns


def add_ranks(frame, ranks: list[tuple[str, str]], keep: Callable, partitions: int):
    """`frame` with a column per (ORDER BY list, name): the row's 1-based rank in that order over
    all rows (``row_number() OVER (ORDER BY ...)``, exactly), computed per partition (module
    docstring). `keep(frame)` materialises an intermediate (checkpoint) and returns it."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    for order, name in ranks:
        columns = _sort_columns(order)
        ranged = keep(frame.repartitionByRange(partitions, *columns).withColumn("_custseg_p", F.spark_partition_id()))
        counts = dict(ranged.groupBy("_custseg_p").count().collect())
        offsets, total = [], 0
        for p in range(max(counts, default=-1) + 1):
            offsets.append(total)
            total += counts.get(p, 0)
        before = F.element_at(F.array(*[F.lit(o).cast("bigint") for o in offsets] or [F.lit(0).cast("bigint")]), F.col("_custseg_p") + 1)
        within = F.row_number().over(Window.partitionBy("_custseg_p").orderBy(*columns))
        frame = ranged.withColumn(name, (before + within).cast("int")).drop("_custseg_p")
    return frame


def distribute_ranks(spark, query: str, keep: Callable, partitions: int) -> str | None:
    """`query` with its global-window CTE computed by :func:`add_ranks` (kept as a temporary view
    of `spark` via `keep(name, frame)`), or None when `query` has no CTE of that shape."""
    from pyspark.sql import functions as F

    split = split_ctes(query)
    if split is None:
        return None
    ctes, final = split
    for position, (name, body) in enumerate(ctes):
        shape = _WINDOW_CTE.match(body)
        if shape is None or "OVER" not in body.upper():
            continue
        ranks, counts = [], []
        for expr in _top_level(shape.group("exprs")):
            rank, count = _ROW_NUMBER.match(expr), _COUNT_ALL.match(expr)
            if rank is not None and "PARTITION" not in rank.group("order").upper():
                ranks.append((rank.group("order"), rank.group("alias")))
            elif count is not None:
                counts.append(count.group("alias"))
            else:
                return None  # another window or column: left to Spark as written
        if not ranks:
            return None
        before = ", ".join(f"{n} AS ({b})" for n, b in ctes[:position])
        base = spark.sql((f"WITH {before} " if before else "") + f"SELECT * FROM {shape.group('src')}")
        base = keep("_custseg_rank_input", base)
        n = base.count()
        ranked = add_ranks(base.select("*", *[F.lit(n).cast("bigint").alias(c) for c in counts]), ranks,
                           lambda frame: keep("_custseg_rank_step", frame), partitions)
        keep("_custseg_ranked", ranked)
        rewritten = [(n_, b) if n_ != name else (n_, "SELECT * FROM _custseg_ranked") for n_, b in ctes]
        return "WITH " + ", ".join(f"{n_} AS ({b})" for n_, b in rewritten) + " " + final
    return None
