"""Do the lifetime-value numbers make sense? A calibration / holdout check on the real data.

For the bundled Olist data and Online Retail: the customer table as of a cut-off (the orders
before it, ``[features] window_end``), the value models fitted on it and scored over the next
``--days`` days, beside what those customers actually did in those days (the same table with the
window's end moved ``--days`` later: the growth of each customer's purchase days and spend).
Purchases are purchase days, as the models count them. Prints a Markdown table.

    .venv/bin/python bench/value_holdout.py --days 183
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from custseg.config import from_dict  # noqa: E402
from custseg.data import olist_folder, online_retail_file  # noqa: E402
from custseg.engines.duckdb.features import compute_customer_tables  # noqa: E402
from custseg.engines.duckdb import load  # noqa: E402
from custseg.value import ValueSettings, customer_value  # noqa: E402

#: (name, data, preset, cut-off): six months before each data set's last purchase day.
DATA = [("Olist", olist_folder, None, "2018-03-01"), ("Online Retail", online_retail_file, "online_retail", "2011-06-10")]


def customers_until(data, preset, end: str) -> pd.DataFrame:
    table, _, _ = compute_customer_tables(load(data(), preset=preset), from_dict({"features": {"window_end": end}}))
    return table.set_index("customer_id")


def check(name: str, data, preset, cutoff: str, days: int) -> dict:
    later = (pd.Timestamp(cutoff) + pd.Timedelta(days=days)).date().isoformat()
    calibration, full = customers_until(data, preset, cutoff), customers_until(data, preset, later)
    started = time.perf_counter()
    value = customer_value(calibration.reset_index(), ValueSettings(horizon_days=days))
    seconds = time.perf_counter() - started
    scores = value.scores.set_index(calibration.index)
    # Olist's purchase rule counts an undelivered order as a purchase within a grace period of the
    # data's latest purchase: a later end can take such a purchase back. Those customers are left out.
    bought = calibration["days_with_buys"].notna()
    ids = calibration.index[bought]
    kept = full.loc[ids, "days_with_buys"].notna().to_numpy()
    left_out, ids = int((~kept).sum()), ids[kept]
    actual_days = (full.loc[ids, "days_with_buys"].astype(float) - calibration.loc[ids, "days_with_buys"].astype(float)).to_numpy()
    actual_spend = (full.loc[ids, "monetary"] - calibration.loc[ids, "monetary"]).to_numpy()
    expected = scores.loc[ids, "expected_purchases"].to_numpy()
    revenue = scores.loc[ids, "expected_revenue"].to_numpy()
    repeat = calibration.loc[ids, "days_with_buys"].to_numpy(dtype=float) >= 2
    p = value.purchases.params
    return {"data": name, "cut-off": cutoff, "customers": len(ids), "left out (purchase taken back)": left_out, "expected purchases": expected.sum(), "actual purchases": actual_days.sum(),
            "expected (repeat customers)": expected[repeat].sum(), "actual (repeat customers)": actual_days[repeat].sum(),
            "expected revenue": revenue.sum(), "actual revenue": actual_spend.sum(),
            "corr(expected, actual) per customer": float(np.corrcoef(expected, actual_days)[0, 1]),
            "BG/NBD r, α, a, b": f"{p.r:.3g}, {p.alpha:.3g}, {p.a:.3g}, {p.b:.3g}", "fit + score s": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=183)
    args = parser.parse_args()
    rows = [check(*spec, args.days) for spec in DATA]
    table = pd.DataFrame(rows).set_index("data").T
    print(f"Calibration until the cut-off, holdout the next {args.days} days; purchases = purchase days; `bench/value_holdout.py --days {args.days}`.\n")
    print("| | " + " | ".join(table.columns) + " |")
    print("|---|" + "---:|" * len(table.columns))
    for key, row in table.iterrows():
        cells = [f"{v:,.0f}" if isinstance(v, float) and abs(v) >= 100 else f"{v:.3g}" if isinstance(v, float) else str(v) for v in row]
        print(f"| {key} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
