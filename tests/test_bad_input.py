"""Bad input: one line naming the file, column or row and what to do; exit code 2; nothing written."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ONLINE_RETAIL

GOOD_LOG = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    "536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"
    "536366,71053,LANTERN,2,2010-12-02 09:00:00,3.39,17851,France\n"
    "C536367,71053,LANTERN,-1,2010-12-03 10:00:00,3.39,17851,France\n"
)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def log_with(tmp_path: Path, row: str, header: str | None = None) -> Path:
    lines = GOOD_LOG.splitlines()
    if header is not None:
        lines[0] = header
    return write(tmp_path / "log.csv", "\n".join([*lines, row]) + "\n")


def assert_rejected(result, out: Path, *fragments: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("custseg: error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert not out.exists(), "a rejected run must not create its output folder"


def features(run_cli, data: Path, out: Path, *extra: str):
    return run_cli("features", "--data", data, "--out", out, *extra)


# ---- flat transaction logs -------------------------------------------------------------


def test_good_log_is_accepted(run_cli, tmp_path):
    out = tmp_path / "out"
    result = features(run_cli, write(tmp_path / "log.csv", GOOD_LOG), out, "--preset", "online_retail")
    assert result.exit_code == 0, result.stderr
    customers = pd.read_csv(out / "customers.csv", dtype={"customer_id": str})
    assert list(customers.customer_id) == ["17850", "17851"]
    assert list(customers.canceled_orders_cnt) == [0, 1]


@pytest.mark.parametrize(
    "name, row, fragments",
    [
        ("unparseable date", "536368,1,X,1,2010-13-45 10:00:00,1.0,17850,UK", ("log.csv", "row 4", "'InvoiceDate'", "not a timestamp")),
        ("date out of range", "536368,1,X,1,0201-01-01 10:00:00,1.0,17850,UK", ("row 4", "'InvoiceDate'", "outside")),
        ("non-numeric quantity", "536368,1,X,six,2010-12-04 10:00:00,1.0,17850,UK", ("row 4", "'Quantity'", "not a number")),
        ("non-numeric price", "536368,1,X,1,2010-12-04 10:00:00,£1.2.3,17850,UK", ("row 4", "'UnitPrice'", "not a number")),
        ("negative amount on a purchase", "536368,1,X,-3,2010-12-04 10:00:00,1.0,17850,UK", ("row 4", "negative amount", "cancelled")),
        ("order of two customers", "536365,1,X,1,2010-12-01 08:26:00,1.0,99999,UK", ("rows 1-4", "'536365'", "more than one customer")),
        ("missing timestamp", "536368,1,X,1,,1.0,17850,UK", ("row 4", "timestamp is missing")),
    ],
)
def test_bad_log_rows(run_cli, tmp_path, name, row, fragments):
    out = tmp_path / "out"
    assert_rejected(features(run_cli, log_with(tmp_path, row), out, "--preset", "online_retail"), out, *fragments)


def test_missing_data_path(run_cli, tmp_path):
    out = tmp_path / "out"
    assert_rejected(features(run_cli, tmp_path / "nope.csv", out, "--preset", "online_retail"), out, "nope.csv", "no such file")


def test_log_needs_a_mapping(run_cli, tmp_path):
    out = tmp_path / "out"
    assert_rejected(features(run_cli, write(tmp_path / "log.csv", GOOD_LOG), out), out, "log.csv", "--preset", "--map")


def test_unknown_preset(run_cli, tmp_path):
    out = tmp_path / "out"
    assert_rejected(features(run_cli, write(tmp_path / "log.csv", GOOD_LOG), out, "--preset", "shopify"), out, "unknown preset 'shopify'", "online_retail")


def test_mapping_without_amount(run_cli, tmp_path):
    out = tmp_path / "out"
    result = features(run_cli, write(tmp_path / "log.csv", GOOD_LOG), out, "--map", "customer=CustomerID,timestamp=InvoiceDate")
    assert_rejected(result, out, "amount=COLUMN")


def test_mapping_names_a_missing_column(run_cli, tmp_path):
    out = tmp_path / "out"
    result = features(run_cli, write(tmp_path / "log.csv", GOOD_LOG), out, "--map", "customer=Client,timestamp=InvoiceDate,amount=UnitPrice")
    assert_rejected(result, out, "log.csv", "'Client'", "not found")


def test_mapping_with_unknown_role(run_cli, tmp_path):
    out = tmp_path / "out"
    result = features(run_cli, write(tmp_path / "log.csv", GOOD_LOG), out, "--map", "customer=CustomerID,timestamp=InvoiceDate,amount=UnitPrice,colour=Country")
    assert_rejected(result, out, "unknown role 'colour'")


def test_missing_column_in_preset_layout(run_cli, tmp_path):
    out = tmp_path / "out"
    data = write(tmp_path / "log.csv", GOOD_LOG.replace("UnitPrice", "Price"))
    assert_rejected(features(run_cli, data, out, "--preset", "online_retail"), out, "log.csv", "'UnitPrice'", "not found")


def test_header_only_log(run_cli, tmp_path):
    out = tmp_path / "out"
    data = write(tmp_path / "log.csv", GOOD_LOG.splitlines()[0] + "\n")
    assert_rejected(features(run_cli, data, out, "--preset", "online_retail"), out, "log.csv", "no row has a customer")


def test_no_customer_anywhere(run_cli, tmp_path):
    out = tmp_path / "out"
    data = write(tmp_path / "log.csv", GOOD_LOG.replace(",17850,", ",,").replace(",17851,", ",,"))
    assert_rejected(features(run_cli, data, out, "--preset", "online_retail"), out, "no row has a customer")


def test_not_utf8(run_cli, tmp_path):
    out = tmp_path / "out"
    data = write(tmp_path / "log.csv", GOOD_LOG.replace("France", "Français"), encoding="utf-16")
    assert_rejected(features(run_cli, data, out, "--preset", "online_retail"), out, "log.csv")


def test_binary_garbage(run_cli, tmp_path):
    out = tmp_path / "out"
    data = tmp_path / "log.csv"
    data.write_bytes(gzip.compress(os.urandom(2000)))
    assert_rejected(features(run_cli, data, out, "--preset", "online_retail"), out, "log.csv")


def test_parquet_log_with_missing_column(run_cli, tmp_path):
    out = tmp_path / "out"
    data = tmp_path / "log.parquet"
    pd.DataFrame({"CustomerID": ["1"], "InvoiceDate": ["2011-01-01 10:00:00"]}).to_parquet(data)
    assert_rejected(features(run_cli, data, out, "--preset", "online_retail"), out, "log.parquet", "'InvoiceNo'", "not found")


def test_bad_rfm_bins(run_cli, tmp_path):
    out = tmp_path / "out"
    result = features(run_cli, write(tmp_path / "log.csv", GOOD_LOG), out, "--preset", "online_retail", "--rfm-bins", "4")
    assert_rejected(result, out, "--rfm-bins 4", "3 or 5")


def test_output_is_a_file(run_cli, tmp_path):
    out = write(tmp_path / "out", "not a folder")
    result = features(run_cli, write(tmp_path / "log.csv", GOOD_LOG), out, "--preset", "online_retail")
    assert result.exit_code == 2 and "not a folder" in result.stderr
    assert out.read_text() == "not a folder"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_output(run_cli, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    out = locked / "out"
    result = features(run_cli, write(tmp_path / "log.csv", GOOD_LOG), out, "--preset", "online_retail")
    assert_rejected(result, out, "cannot write")


def test_folder_with_preset(run_cli, tmp_path):
    out = tmp_path / "out"
    assert_rejected(features(run_cli, tmp_path, out, "--preset", "online_retail"), out, "is a folder")


def test_folder_that_is_not_olist(run_cli, tmp_path):
    out = tmp_path / "out"
    (tmp_path / "data").mkdir()
    assert_rejected(features(run_cli, tmp_path / "data", out), out, "olist_orders_dataset")


def test_unknown_option_is_a_usage_error(run_cli, tmp_path):
    result = run_cli("features", "--colour", "blue")
    assert result.exit_code == 2 and "Traceback" not in result.stderr


def test_failure_keeps_previous_output(run_cli, tmp_path):
    """A failed rerun into an existing folder leaves the earlier results untouched."""
    out = tmp_path / "out"
    assert features(run_cli, write(tmp_path / "log.csv", GOOD_LOG), out, "--preset", "online_retail").exit_code == 0
    before = (out / "customers.csv").read_bytes()
    bad = log_with(tmp_path, "536368,1,X,six,2010-12-04 10:00:00,1.0,17850,UK")
    result = features(run_cli, bad, out, "--preset", "online_retail")
    assert result.exit_code == 2
    assert (out / "customers.csv").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["customers.csv", "customers.parquet"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no staging folder left behind"


# ---- Olist folders ---------------------------------------------------------------------

from tests.olist_fixture import write_olist_fixture  # noqa: E402


def edit_csv(path: Path, edit) -> None:
    """Rewrite one CSV of the fixture through pandas (text only)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame = edit(frame)
    frame.to_csv(path, index=False)


@pytest.fixture
def olist(tmp_path):
    folder = tmp_path / "olist"
    folder.mkdir()
    write_olist_fixture(folder)
    return folder


def test_good_olist_folder_is_accepted(run_cli, olist, tmp_path):
    out = tmp_path / "out"
    result = features(run_cli, olist, out)
    assert result.exit_code == 0, result.stderr
    assert (out / "customers.parquet").is_file()


def test_olist_gz_files_are_read(run_cli, olist, tmp_path):
    for csv_file in olist.glob("*.csv"):
        (olist / (csv_file.name + ".gz")).write_bytes(gzip.compress(csv_file.read_bytes()))
        csv_file.unlink()
    out = tmp_path / "out"
    assert features(run_cli, olist, out).exit_code == 0


def test_olist_missing_file(run_cli, olist, tmp_path):
    (olist / "olist_order_payments_dataset.csv").unlink()
    out = tmp_path / "out"
    assert_rejected(features(run_cli, olist, out), out, "missing file olist_order_payments_dataset.csv")


def test_olist_missing_column(run_cli, olist, tmp_path):
    edit_csv(olist / "olist_orders_dataset.csv", lambda f: f.drop(columns=["order_estimated_delivery_date"]))
    out = tmp_path / "out"
    assert_rejected(features(run_cli, olist, out), out, "olist_orders_dataset.csv", "'order_estimated_delivery_date'")


def test_olist_duplicated_order_id(run_cli, olist, tmp_path):
    edit_csv(olist / "olist_orders_dataset.csv", lambda f: pd.concat([f, f.iloc[[2]]]))
    out = tmp_path / "out"
    assert_rejected(features(run_cli, olist, out), out, "olist_orders_dataset.csv", "rows 3 and", "duplicated key", "order_id=")


def test_olist_unparseable_timestamp(run_cli, olist, tmp_path):
    def edit(f):
        f.loc[4, "order_purchase_timestamp"] = "2017-02-30 25:00:00"
        return f
    edit_csv(olist / "olist_orders_dataset.csv", edit)
    out = tmp_path / "out"
    assert_rejected(features(run_cli, olist, out), out, "olist_orders_dataset.csv", "row 5", "'order_purchase_timestamp'", "not a timestamp")


def test_olist_negative_price(run_cli, olist, tmp_path):
    def edit(f):
        f.loc[0, "price"] = "-10.00"
        return f
    edit_csv(olist / "olist_order_items_dataset.csv", edit)
    out = tmp_path / "out"
    assert_rejected(features(run_cli, olist, out), out, "olist_order_items_dataset.csv", "row 1", "'price'", "negative")


def test_olist_non_numeric_payment(run_cli, olist, tmp_path):
    def edit(f):
        f.loc[1, "payment_value"] = "12,50"
        return f
    edit_csv(olist / "olist_order_payments_dataset.csv", edit)
    out = tmp_path / "out"
    assert_rejected(features(run_cli, olist, out), out, "olist_order_payments_dataset.csv", "row 2", "'payment_value'", "not a number")


def test_olist_orphan_item(run_cli, olist, tmp_path):
    def edit(f):
        f.loc[0, "order_id"] = "no-such-order"
        return f
    edit_csv(olist / "olist_order_items_dataset.csv", edit)
    out = tmp_path / "out"
    assert_rejected(features(run_cli, olist, out), out, "olist_order_items_dataset.csv", "row 1", "'no-such-order'", "not in olist_orders_dataset.csv")


def test_olist_order_without_customer_row(run_cli, olist, tmp_path):
    edit_csv(olist / "olist_customers_dataset.csv", lambda f: f.iloc[1:])
    out = tmp_path / "out"
    assert_rejected(features(run_cli, olist, out), out, "olist_orders_dataset.csv", "'customer_id'", "not in olist_customers_dataset.csv")


def test_olist_all_orders_outside_window(run_cli, olist, tmp_path):
    def edit(f):
        f["order_purchase_timestamp"] = "2015-05-05 10:00:00"
        return f
    edit_csv(olist / "olist_orders_dataset.csv", edit)
    out = tmp_path / "out"
    assert_rejected(features(run_cli, olist, out), out, "no order falls in the window")


def test_olist_empty_orders(run_cli, olist, tmp_path):
    for name in ("orders", "order_items", "order_payments", "order_reviews"):
        edit_csv(olist / f"olist_{name}_dataset.csv", lambda f: f.iloc[0:0])
    out = tmp_path / "out"
    assert_rejected(features(run_cli, olist, out), out, "there are no orders")


def test_olist_missing_status(run_cli, olist, tmp_path):
    def edit(f):
        f.loc[3, "order_status"] = ""
        return f
    edit_csv(olist / "olist_orders_dataset.csv", edit)
    out = tmp_path / "out"
    assert_rejected(features(run_cli, olist, out), out, "row 4", "'order_status'", "missing")


def _command(*args) -> "subprocess.CompletedProcess":
    """The installed command's entry point (custseg.cli.entry) in a process of its own."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-c", "from custseg.cli import entry; entry()", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_command_exit_codes_and_flushed_output(tmp_path):
    # the command ends without Python's teardown: exit codes and every printed line must survive it
    bad = _command("run", "--data", tmp_path / "missing", "--out", tmp_path / "out", "--quiet")
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and bad.stderr.startswith("custseg: error: ") and "missing" in bad.stderr
    assert not (tmp_path / "out").exists()
    good = _command("features", "--data", ONLINE_RETAIL, "--preset", "online_retail", "--out", tmp_path / "features")
    assert good.returncode == 0, good.stderr
    assert (tmp_path / "features").is_dir() and any((tmp_path / "features").iterdir())
    assert good.stdout.strip()  # what it printed reached the pipe
    usage = _command("run", "--no-such-option")
    assert usage.returncode == 2 and usage.stderr.startswith("custseg: error: ")
