"""The Spark session custseg uses (its own, or the caller's) and collecting results to the driver."""

from __future__ import annotations

import os
import re
import shutil
import warnings

import pandas as pd

from custseg.engines.duckdb.connection import to_pandas
from custseg.errors import InputError

__all__ = ["PYSPARK_MISSING", "collect_arrow", "collect_pandas", "first_line", "require_pyspark", "spark_error_types", "spark_session"]

PYSPARK_MISSING = "the Spark engine needs PySpark: pip install 'custseg[spark]' (and a Java runtime)"
DEFAULT_MASTER = "local[*]"
# Settings for a Spark that custseg starts itself (a local master); a cluster's own settings
# (spark-submit --conf, spark-defaults.conf) are left alone.
LOCAL_CONF = {
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "16",
    "spark.sql.adaptive.enabled": "true",
}
# What every session needs for the results to equal the DuckDB engine's.
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",  # timestamps are wall-clock times, as in DuckDB
    "spark.sql.execution.arrow.pyspark.enabled": "true",  # fast collect / createDataFrame
}
# A Spark that custseg starts prints only errors (no start-up chatter around custseg's own lines).
_LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
logger.repl.name = org.apache.spark.repl.Main
logger.repl.level = error
logger.submit.name = org.apache.spark.deploy.SparkSubmit
logger.submit.level = error
logger.context.name = org.apache.spark.SparkContext
logger.context.level = error
logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer
logger.gateway.level = error
"""

def require_pyspark() -> None:
    """Raise the one-line InputError saying how to get PySpark when it is not installed."""
    try:
        import pyspark  # noqa: F401
        import pyspark.sql  # noqa: F401
    except ImportError:
        raise InputError(PYSPARK_MISSING) from None


def spark_session(master: str | None = None, *, conf: dict[str, str] | None = None):
    """The SparkSession to run on.

    An active session (``spark-submit``, a notebook) is used; a `master` other than its own is an
    InputError (Spark runs one SparkContext per process). Else one is started on `master`
    (default ``local[*]``). Under ``spark-submit`` the
    master comes from spark-submit. The session's time zone is set to UTC (the SQL treats
    timestamps as wall-clock times, as DuckDB does).
    """
    require_pyspark()
    # PySpark 4 warns on import that pandas 3 is "not yet fully supported"; custseg moves data
    # between Spark and Python with Arrow, not PySpark's pandas conversions.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is not None and master is not None and master != session.sparkContext.master:
        # Spark keeps one SparkContext per process: the builder would hand back this session
        # and silently ignore the master asked for.
        raise InputError(
            f"a Spark session on {session.sparkContext.master} is already running in this process, so custseg "
            f"cannot start one on {master}; leave out the master to use it, or stop it first (spark.stop())"
        )
    if session is None or master is not None:
        under_submit = "PYSPARK_GATEWAY_PORT" in os.environ  # launched by spark-submit
        builder = SparkSession.builder.appName("custseg")
        chosen = master or (None if under_submit else DEFAULT_MASTER)
        if chosen is not None:
            builder = builder.master(chosen)
        if chosen is not None and chosen.startswith("local"):
            for key, value in LOCAL_CONF.items():
                builder = builder.config(key, value)
            if "spark.driver.extraJavaOptions" not in (conf or {}) and not os.environ.get("SPARK_CONF_DIR"):
                builder = builder.config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{_log4j2_file()}")
        for key, value in (conf or {}).items():
            builder = builder.config(key, value)
        if not under_submit and not (os.environ.get("JAVA_HOME") or shutil.which("java")):
            raise InputError(
                "the Spark engine needs a Java runtime (Java 17 or newer): install one "
                "(Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
            )
        try:
            session = builder.getOrCreate()
        except spark_error_types() + (RuntimeError, OSError) as exc:
            raise InputError(
                f"Spark could not start on {chosen or 'the spark-submit master'} ({first_line(exc)}); "
                "check the master URL and that a Java runtime (17+) is installed"
            ) from None
        if chosen is not None and chosen.startswith("local"):
            # Failures reach custseg as exceptions and are reported in one line; Spark's own log
            # lines (an executor's stack trace for a bad CSV row) only with CUSTSEG_DEBUG=1.
            session.sparkContext.setLogLevel("WARN" if os.environ.get("CUSTSEG_DEBUG") else "OFF")
    for key, value in SESSION_CONF.items():
        session.conf.set(key, value)
    return session


def _log4j2_file() -> str:
    import tempfile

    path = os.path.join(tempfile.gettempdir(), f"custseg-spark-log4j2-{os.getuid()}.properties")
    if not os.path.exists(path) or open(path, encoding="utf-8").read() != _LOG4J2:
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            f.write(_LOG4J2)
        os.replace(path + ".tmp", path)
    return path


# ----------------------------------------------------------------------------- collecting


def collect_arrow(frame):
    """A Spark DataFrame on the driver as a pyarrow Table (naive timestamps, as DuckDB's)."""
    import pyarrow as pa

    if hasattr(frame, "toArrow"):  # Spark >= 4.0
        table = frame.toArrow()
    else:  # Spark 3.5
        from pyspark.sql.pandas.types import to_arrow_schema

        batches = frame._collect_as_arrow()
        schema = to_arrow_schema(frame.schema)
        table = pa.Table.from_batches(batches, schema=schema) if batches else schema.empty_table()
    fields = []
    for f in table.schema:
        if pa.types.is_timestamp(f.type) and f.type.tz is not None:
            fields.append(pa.field(f.name, pa.timestamp("us")))  # UTC wall-clock (session time zone)
        elif pa.types.is_large_string(f.type):
            fields.append(pa.field(f.name, pa.string()))
        else:
            fields.append(f)
    return table.cast(pa.schema(fields))


def collect_pandas(frame, *, categorical_text: bool = False) -> pd.DataFrame:
    """A Spark DataFrame on the driver as pandas, with the DuckDB engine's dtypes.

    ``categorical_text``: as the DuckDB engine's customer table (:func:`custseg.engines.duckdb.connection.arrow_to_pandas`).
    """
    import duckdb

    table = collect_arrow(frame)
    con = duckdb.connect()
    try:
        return to_pandas(con.from_arrow(table), categorical_text=categorical_text)
    finally:
        con.close()


_SPARK_ERROR = re.compile(r"\[([A-Z][A-Z_.]+)\]\s+(.*?)(?:\s+SQLSTATE:|\s+at [\w$.]+\(|\n|$)")


def first_line(exc: BaseException) -> str:
    """The most specific message of a (Java) error, without the stack trace.

    Spark nests its errors ("Encountered error while reading file ... Caused by: [MALFORMED_CSV_RECORD]
    Malformed CSV record: ..."): the innermost named error says what is wrong.
    """
    text = getattr(exc, "getMessage", None)
    try:
        text = text() if callable(text) else None
    except Exception:  # noqa: BLE001 - a py4j call can fail on a dead gateway
        text = None
    text = str(text or exc)
    named = _SPARK_ERROR.findall(text)
    if named:
        return " ".join(named[-1][1].split())[:300]
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("at ", "JVM stacktrace", "Traceback")):
            line = re.sub(r"^(\w+\.)+\w+(Exception|Error):\s*", "", line)
            return line[:300]
    return type(exc).__name__


def spark_error_types() -> tuple[type[BaseException], ...]:
    """The exception types a Spark call raises for a problem on the JVM side."""
    types: list[type[BaseException]] = []
    try:
        from pyspark.errors import PySparkException

        types.append(PySparkException)
    except ImportError:  # pragma: no cover - PySpark < 3.4
        pass
    try:
        from py4j.protocol import Py4JError

        types.append(Py4JError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(types) or (Exception,)
