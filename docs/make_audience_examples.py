"""The examples of docs/audiences.md: a small made-up order log with contact columns (the real
Olist data has none), `custseg run` on it in every audience format, and the first rows of one
audience file of each.

    .venv/bin/python docs/make_audience_examples.py [--out /tmp/audience-examples]

Every name, e-mail and phone number in the log is invented (example.com addresses, numbers in
ranges no one is given).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

MAP = ("customer=Customer ID,order=Order ID,timestamp=Order Date,amount=Total,product=Product,"
       "email=Email,phone=Phone,first_name=First Name,last_name=Last Name,zip=Postcode,country=Country")
FIRST = ["Ana", "JOÃO", "Maria Luísa", "pedro", "Zoë", "Tom", "Priya", "Lucas"]
LAST = ["Silva", "Souza", "da Costa", "LIMA", "Pérez", "Baker", "Shah", "Almeida"]


def write_log(path: Path, customers: int = 200, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(customers):
        first, last = FIRST[c % len(FIRST)], LAST[(c * 3) % len(LAST)]
        if c % 3 == 0:
            country, phone, postcode = "Brazil", f"(11) 9{5000 + c:04d}-{c:04d}", f"0{1000 + c:04d}-000"
        elif c % 3 == 1:
            country, phone, postcode = "GB", f"+44 20 7946 {c:04d}", f"SW1A {c % 9}AA"
        else:
            country, phone, postcode = "US", f"(415) 555-{c:04d}", f"94{c % 1000:03d}"
        email = f" {first.split()[0]}.{last.split()[-1]}{c}@Example.com ".replace("ã", "a").replace("í", "i").replace("ë", "e").replace("é", "e")
        for o in range(int(rng.choice([1, 1, 2, 3, 5]))):
            day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 600)))
            rows.append({"Customer ID": f"C{c:04d}", "Order ID": f"{c:04d}-{o}", "Order Date": day.strftime("%Y-%m-%d"),
                         "Total": round(float(rng.lognormal(4, 0.8)), 2), "Product": f"SKU{int(rng.integers(0, 40)):03d}",
                         "Email": "" if c % 11 == 5 else email, "Phone": "" if c % 7 == 3 else phone,
                         "First Name": first, "Last Name": last, "Postcode": postcode, "Country": country})
    pd.DataFrame(rows).sort_values("Order Date", kind="stable").to_csv(path, index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/audience-examples"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "orders.csv"
    write_log(log)
    print(f"$ head -3 {log.name}\n" + "".join(log.read_text().splitlines(keepends=True)[:3]))
    for fmt in ("plain", "klaviyo", "mailchimp", "google-customer-match"):
        out = args.out / fmt
        command = ["custseg", "run", "--data", str(log), "--out", str(out), "--no-slides", "--quiet", "--map", MAP,
                   "--audience-format", fmt, "--phone-country", "US"]
        subprocess.run([sys.executable, "-c", "import sys; from custseg.cli import entry; sys.argv[0] = 'custseg'; entry()", *command[1:]],
                       check=True, stdout=subprocess.DEVNULL)
        folder = out / "audiences" / ("" if fmt == "plain" else fmt)
        first = sorted(folder.glob("all-*.csv"))[0]
        print(f"$ head -4 {first.relative_to(out)}")
        print("".join(first.read_text(encoding="utf-8").splitlines(keepends=True)[:4]))


if __name__ == "__main__":
    main()
