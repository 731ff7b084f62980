"""Markdown tables of a `custseg migrate` output folder (for docs/migration.md):

    PYTHONPATH=src .venv/bin/python scripts/migration_markdown.py OUT_DIR

Per kind the transition table (customers, rows: state on the earlier date, columns: on the
later one, and each row's total), then prediction.csv, and its predicted against actual
purchase days.
"""

from __future__ import annotations

import sys

import pandas as pd

from custseg.migration import tables as mt


def main(folder: str) -> None:
    t = pd.read_csv(f"{folder}/migration.csv", keep_default_na=False)
    p = pd.read_csv(f"{folder}/prediction.csv", keep_default_na=False)
    for kind in dict.fromkeys(t["kind"]):
        rows = t[t["kind"] == kind]
        order = list(dict.fromkeys(rows["from"]))  # migration.csv is in reading order
        to_order = [s for s in order if s in set(rows["to"])] + [s for s in dict.fromkeys(rows["to"]) if s not in order]
        m = mt.matrix(rows, kind, order + [s for s in to_order if s not in order])
        m = m.reindex(index=order, columns=[c for c in mt.state_order(kind, to_order, order) if c in m.columns], fill_value=0)
        print(f"`{kind}`:\n")
        print("| from \\ to | " + " | ".join(m.columns) + " | total |")
        print("|---|" + "---:|" * (len(m.columns) + 1))
        for f in m.index:
            print(f"| **{f}** | " + " | ".join(f"{v:,}" if v else "·" for v in m.loc[f]) + f" | {m.loc[f].sum():,} |")
        print()
    print("| kind | group | customers | bought again | % bought again | lift | revenue per customer | revenue lift |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in p.itertuples():
        print(f"| {r.kind} | {r.group} | {r.customers:,} | {r.bought_again:,} | {100 * r.bought_again_share:.1f} % | "
              f"{r.bought_again_lift:.2f} | {r.revenue_per_customer:,.2f} | {r.revenue_lift:.2f} |")
    if "predicted_purchase_days" in p:
        print("\n| kind | group | customers | purchase days | predicted (BG/NBD) | predicted / actual |")
        print("|---|---|---:|---:|---:|---:|")
        for r in p.itertuples():
            ratio = r.predicted_purchase_days / r.purchase_days if r.purchase_days else float("nan")
            print(f"| {r.kind} | {r.group} | {r.customers:,} | {r.purchase_days:,} | {r.predicted_purchase_days:,.1f} | {ratio:.2f} |")


if __name__ == "__main__":
    main(sys.argv[1])
