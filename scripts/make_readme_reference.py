"""Write the README's side-by-side table (between its ``reference table`` markers): the reference
notebook's published numbers on the real Olist data and custseg's, from a run of the reference
analysis on the bundled data. No number of custseg's is typed in.

    .venv/bin/python scripts/make_readme_reference.py
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import custseg
from custseg.api import cluster_table
from custseg.data import olist_folder
from custseg.data.published import published, side_by_side

README = Path(__file__).resolve().parents[1] / "README.md"
START = "<!-- reference table: written by scripts/make_readme_reference.py from a run on the bundled Olist data -->"
END = "<!-- end of reference table -->"
HEADS = {"avg_unique_products_cnt": "products per order", "recency": "recency, days", "frequency": "orders", "monetary": "spend, R$"}


def _pair(theirs: float, ours: float, digits: int = 2) -> str:
    mark = "" if abs(theirs - ours) <= 0.01 + 1e-9 else " ≠"
    return f"{theirs:,.{digits}f} · {ours:,.{digits}f}{mark}"


def reference_markdown(result) -> str:
    spec = published()
    clusters = cluster_table(result.populations)
    lines = []
    for pop in result.populations:
        theirs = spec["populations"][pop.name]
        table = side_by_side(clusters, result.customers, pop.name)
        lines += [
            f"**{pop.title}** ({pop.n_customers:,} customers; {theirs['method']}): silhouette "
            f"{theirs['silhouette']:.3f} · {pop.silhouette:.3f} ({pop.silhouette_method}).",
            "",
            "| custseg's cluster | share, % | " + " | ".join(f"median {HEADS[m]}" for m in spec["metrics"]) + " |",
            "|---|---:|" + "---:|" * len(spec["metrics"]),
        ]
        for row in table.itertuples(index=False):
            row = row._asdict()
            cells = [_pair(row["share"], row["share_custseg"])] + [_pair(row[m], row[f"{m}_custseg"]) for m in spec["metrics"]]
            lines.append(f"| {row['cluster_name_custseg']} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines).rstrip()


def main() -> None:
    started = time.perf_counter()
    result = custseg.run(olist_folder())
    body = reference_markdown(result)
    text = README.read_text()
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{README}: no reference-table markers")
    README.write_text(pattern.sub(lambda _: f"{START}\n{body}\n{END}", text))
    print(f"wrote the README's reference table from a run of {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
