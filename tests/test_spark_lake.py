"""The Spark engine in a data engineer's setting: the caller's own session, lake inputs and outputs.

* a caller's session in another time zone gives the DuckDB engine's customer table (every
  column), and keeps its own settings and temporary views (also when the run fails);
* an ``--out`` that is a URL is refused in one line, for both engines;
* a hive-partitioned Parquet folder, a glob and a catalog table read the same rows as the plain file.

Shares tests/test_spark.py's local[2] session and generated data.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from custseg.errors import InputError
from tests.conftest import ONLINE_RETAIL
from tests.test_spark import assert_same_table, generated, requires_spark, spark  # noqa: F401 - fixtures

TZ = "spark.sql.session.timeZone"


def spark_table(session, data, **options):
    """The Spark engine's customer table of `data` and the input rows it left out, on `session`."""
    from custseg.config import load_config
    from custseg.engines.spark import SparkEngine

    with SparkEngine(spark=session) as engine:
        found = engine.customer_tables(data, load_config(None), **options)
    return found.customers, found.excluded_rows


@pytest.fixture
def user_session(spark):  # noqa: F811
    """The caller's session as a notebook has it: São Paulo time and its own `orders` and
    `customers` views (restored to the fixture's UTC after the test)."""
    before = spark.conf.get(TZ)
    spark.conf.set(TZ, "America/Sao_Paulo")
    spark.createDataFrame([(1, "mine")], "id INT, what STRING").createOrReplaceTempView("orders")
    spark.createDataFrame([(2, "mine too")], "id INT, what STRING").createOrReplaceTempView("customers")
    try:
        yield spark
    finally:
        spark.catalog.dropTempView("orders")
        spark.catalog.dropTempView("customers")
        spark.conf.set(TZ, before)


def _untouched(session) -> None:
    assert session.conf.get(TZ) == "America/Sao_Paulo"
    assert [tuple(r) for r in session.table("orders").collect()] == [(1, "mine")]
    assert [tuple(r) for r in session.table("customers").collect()] == [(2, "mine too")]


@requires_spark
def test_user_session_in_another_time_zone_gives_the_duckdb_table_and_keeps_its_views(user_session, generated):  # noqa: F811
    from custseg.config import load_config
    from custseg.engines.duckdb import DuckDBEngine
    from custseg.engines.spark import SparkEngine

    # The time zone matters to Spark: the same wall-clock time is another instant in São Paulo.
    utc_seconds = 1514764800  # 2018-01-01 00:00:00 UTC (date -u -d 2018-01-01 +%s)
    assert user_session.sql("SELECT unix_timestamp(TIMESTAMP '2018-01-01 00:00:00')").first()[0] == utc_seconds + 2 * 3600

    cfg = load_config(None)
    with DuckDBEngine() as duck:
        expected = duck.customer_tables(generated, cfg).customers
    with SparkEngine(spark=user_session) as engine:
        got = engine.customer_tables(generated, cfg)
        _untouched(user_session)  # during the run too: custseg works in a session of its own
    assert_same_table(expected, got.customers)
    assert got.customers["first_purchase_ts"].notna().sum() > 0.9 * len(got.customers)
    _untouched(user_session)


@requires_spark
def test_user_session_is_untouched_when_the_run_fails(user_session, tmp_path):
    from custseg.config import load_config
    from custseg.engines.spark import SparkEngine

    bad = tmp_path / "log.csv"
    bad.write_text("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
                   "1,A,X,1,2010-12-01 08:26:00,£1,17850,UK\n", encoding="utf-8")
    with pytest.raises(InputError, match="not a number"):
        with SparkEngine(spark=user_session) as engine:
            engine.customer_tables(bad, load_config(None), preset="online_retail")
    _untouched(user_session)
    with pytest.raises(InputError, match="not a number"):
        spark_table(user_session, bad, preset="online_retail")
    _untouched(user_session)


# ----------------------------------------------------------------------------- --out


@pytest.mark.parametrize("url", ["s3a://bucket/report", "hdfs://head:8020/shop/report", "gs://bucket/x"])
@pytest.mark.parametrize("command", ["run", "features"])
def test_out_that_is_a_url_is_refused_in_one_line(run_cli, tmp_path, monkeypatch, url, command):
    """Both engines (the check comes before any engine starts): exit 2, one line, nothing written
    (before, ``s3a://b/x`` became a local folder ``./s3a:/b/x``)."""
    monkeypatch.chdir(tmp_path)
    for engine in ("duckdb", "spark"):
        result = run_cli(command, "--engine", engine, "--data", ONLINE_RETAIL, "--preset", "online_retail", "--out", url)
        assert result.exit_code == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith(f"custseg: error: --out {url}: not a local folder"), lines[0]
    assert list(tmp_path.iterdir()) == []


def test_out_url_refused_by_the_api_and_file_url_accepted(tmp_path):
    from custseg.api import local_out, run

    with pytest.raises(InputError, match=r"^--out s3a://bucket/x: not a local folder"):
        run(ONLINE_RETAIL, preset="online_retail", out="s3a://bucket/x", engine="spark")
    assert local_out(f"file://{tmp_path}/report") == tmp_path / "report"
    assert local_out("report") == Path("report")


# ----------------------------------------------------------------------------- lake inputs


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    """One log as a plain CSV file, a plain Parquet file, a hive-partitioned Parquet folder
    (by Country, as pyarrow writes it), and part files for globs (Parquet and CSV)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tests.test_own_log import write_log

    folder = tmp_path_factory.mktemp("lake")
    write_log(folder / "log.csv", customers=150)
    frame = pd.read_csv(folder / "log.csv", dtype=str)
    (folder / "flat").mkdir()
    frame.to_parquet(folder / "flat" / "log.parquet", index=False)
    pq.write_to_dataset(pa.Table.from_pandas(frame, preserve_index=False), folder / "hive", partition_cols=["Country"])
    (folder / "parts").mkdir()
    cuts = [0, len(frame) // 3, 2 * len(frame) // 3, len(frame)]
    for i, part in enumerate(frame.iloc[a:b] for a, b in zip(cuts, cuts[1:])):
        part.to_parquet(folder / "parts" / f"part-{i}.parquet", index=False)
        part.to_csv(folder / "parts" / f"part-{i}.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def plain_table(spark, lake):  # noqa: F811
    """The customer table of the plain CSV file (what every other form of the log must give)."""
    from tests.test_own_log import BASE_MAP

    return spark_table(spark, lake / "log.csv", mapping=BASE_MAP)


def _lines(ds) -> pd.DataFrame:
    """The order lines a source gave (what was read), in a fixed order."""
    items = ds.table("order_items").drop(columns=["item_no"])
    return items.sort_values(list(items.columns), kind="stable").reset_index(drop=True)


@requires_spark
@pytest.mark.parametrize("source", ["hive", "parts/*.parquet", "parts/part-*.csv"])
def test_hive_partitioned_folder_and_globs_read_the_same_rows_as_the_plain_file(spark, lake, plain_table, source):  # noqa: F811
    from custseg.engines.spark import load_spark, run_session
    from tests.test_own_log import BASE_MAP

    assert len(list((lake / "hive").iterdir())) > 1  # partition folders Country=...
    session = run_session(spark)
    plain, other = (load_spark(lake / name, spark=session, mapping=BASE_MAP) for name in ("log.csv", source))
    try:
        expected, got = _lines(plain), _lines(other)
        assert len(expected) > 300
        pd.testing.assert_frame_equal(got, expected)
        orders = [ds.table("orders").drop(columns=["_row"]).sort_values("order_id").reset_index(drop=True) for ds in (plain, other)]
        pd.testing.assert_frame_equal(orders[1], orders[0])  # country from the partition folders' names
    finally:
        plain.release()
        other.release()
    if source == "hive":  # and so the customer table
        table, rows = spark_table(spark, f"{lake}/{source}", mapping=BASE_MAP)
        assert_same_table(plain_table[0], table)
        assert rows == plain_table[1]


@requires_spark
def test_catalog_tables_log_and_olist_database(spark, lake, plain_table, tmp_path, run_cli):  # noqa: F811
    """--table db.orders (a flat log) and --table db (the Olist tables by their file names) read
    what the files give."""
    import shutil

    from tests.olist_fixture import write_olist_fixture
    from tests.test_own_log import BASE_MAP

    olist = tmp_path / "olist"
    olist.mkdir()
    write_olist_fixture(olist)
    spark.sql(f"CREATE DATABASE custseg_shop LOCATION '{tmp_path / 'shop.db'}'")
    try:
        spark.sql(f"CREATE TABLE custseg_shop.orders USING parquet LOCATION '{lake / 'flat'}'")
        for csv in sorted(olist.glob("*.csv")):
            (tmp_path / "tables" / csv.stem).mkdir(parents=True)
            shutil.copy(csv, tmp_path / "tables" / csv.stem / csv.name)
            spark.sql(f"CREATE TABLE custseg_shop.{csv.stem} USING csv OPTIONS (header 'true', multiLine 'true', escape '\"') "
                      f"LOCATION '{tmp_path / 'tables' / csv.stem}'")
        out = tmp_path / "out"
        result = run_cli("features", "--engine", "spark", "--table", "custseg_shop.orders", "--map", BASE_MAP, "--out", out)
        assert result.exit_code == 0, result.stderr
        assert_same_table(plain_table[0], pd.read_parquet(out / "customers.parquet"))

        from_files, _ = spark_table(spark, olist)
        from_tables, _ = spark_table(spark, "table:custseg_shop")
        assert len(from_files) > 0
        assert_same_table(from_files, from_tables)

        missing = run_cli("features", "--engine", "spark", "--table", "custseg_shop.nothing", "--map", BASE_MAP, "--out", tmp_path / "o2")
        assert missing.exit_code == 2
        assert missing.stderr.strip() == ("custseg: error: --table custseg_shop.nothing: no such table or database in the Spark catalog; "
                                          "check the name (spark.catalog.listTables('db') lists them)")
        duck = run_cli("features", "--table", "custseg_shop.orders", "--map", BASE_MAP, "--out", tmp_path / "o3")
        assert duck.exit_code == 2 and "catalog tables are read by the Spark engine; add --engine spark" in duck.stderr
    finally:
        spark.sql("DROP DATABASE IF EXISTS custseg_shop CASCADE")


def test_lake_outputs_need_the_spark_engine(run_cli, tmp_path):
    out = tmp_path / "out"
    for option in (["--out-labels", str(tmp_path / "labels")], ["--out-table", "shop.segments"]):
        result = run_cli("run", "--engine", "duckdb", "--data", ONLINE_RETAIL, "--preset", "online_retail", "--out", out, *option)
        assert result.exit_code == 2, result.stderr
        assert result.stderr.strip() == (
            "custseg: error: --out-labels / --out-table: the labelled customer table is written by the Spark engine; add --engine spark "
            "(the DuckDB engine writes it as customers.parquet in --out)")
    both = run_cli("run", "--engine", "spark", "--data", ONLINE_RETAIL, "--preset", "online_retail", "--out", out,
                   "--out-labels", "x", "--out-table", "y.z")
    assert both.exit_code == 2 and both.stderr.strip() == "custseg: error: --out-labels and --out-table: give one of them"
    assert not out.exists() and not (tmp_path / "labels").exists()


@requires_spark
def test_labels_and_report_are_written_together_or_not_at_all(spark, generated, tmp_path, monkeypatch):  # noqa: F811
    """The labelled customer table is written last, while the report is still staged: a report that
    fails leaves no labels, and labels that cannot be written leave no report folder."""
    import custseg.api
    from tests.test_spark import _fixed_k_config

    config = _fixed_k_config(tmp_path / "fixed_k.toml")
    out, labels = tmp_path / "out", tmp_path / "labels"

    def failing_report(*args, **kwargs):
        raise RuntimeError("the report failed")

    with monkeypatch.context() as patched:
        patched.setattr(custseg.api, "write_outputs", failing_report)
        with pytest.raises(RuntimeError, match="the report failed"):
            custseg.api.run(generated, config=config, out=out, engine="spark", spark=spark, slides=False, labels_to=str(labels))
    assert not out.exists() and not labels.exists()

    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    with pytest.raises(InputError, match="the labelled customer table cannot be written"):
        custseg.api.run(generated, config=config, out=out, engine="spark", spark=spark, slides=False, labels_to=str(blocked / "labels"))
    assert not out.exists()
