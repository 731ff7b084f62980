"""The Spark session custseg uses (its own, or the caller's) and collecting results to the driver."""

from __future__ import annotations

import os
import sys
import re
import shutil
import warnings
from contextlib import contextmanager

import pandas as pd

from custseg.engines.duckdb.connection import to_pandas
from custseg.errors import InputError

__all__ = ["PYSPARK_MISSING", "checkpoint_dir", "collect_arrow", "collect_pandas", "first_line", "quiet_planner", "require_pyspark", "run_session",
           "spark_error_types", "spark_session"]

PYSPARK_MISSING = "the Spark engine needs PySpark: pip install 'custseg[spark]' (and a Java runtime)"
DEFAULT_MASTER = "local[*]"
# Settings for a Spark that custseg starts itself (a local master); a cluster's own settings
# (spark-submit --conf, spark-defaults.conf) are left alone.
LOCAL_CONF = {
    "spark.sql.shuffle.partitions": "16",
    "spark.sql.adaptive.enabled": "true",
}
# For any session custseg starts: no progress bars between custseg's own lines.
STARTED_CONF = {"spark.ui.showConsoleProgress": "false"}
# Spark's log level in a session custseg starts: local runs report failures as custseg's one-line
# errors (Spark's own lines only with CUSTSEG_DEBUG=1); on a cluster, warnings (a lost executor) show.
LOCAL_LOG_LEVEL, CLUSTER_LOG_LEVEL = "OFF", "WARN"
# Planner warnings custseg silences while it runs (restored after): "No Partition Defined for Window
# operation", for the feature SQL's windows without PARTITION BY (customer keys, RFM's counts per value).
QUIET_LOGGERS = ("org.apache.spark.sql.execution.window.WindowExec",)
# What every session needs for the results to equal the DuckDB engine's: set on custseg's own
# session for each run (run_session), never on the caller's.
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",  # timestamps are wall-clock times, as in DuckDB
    "spark.sql.execution.arrow.pyspark.enabled": "true",  # fast collect / createDataFrame
    # a hive-partitioned folder's partition values (country=BR, shop=007) are text, as in a CSV file
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
}
# A Spark that custseg starts prints only errors (no start-up chatter around custseg's own lines).
_LOG4J2 = """\
rootLogger.level = {level}
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
logger.window.name = org.apache.spark.sql.execution.window.WindowExec
logger.window.level = error
"""

def require_pyspark() -> None:
    """Raise the one-line InputError saying how to get PySpark when it is not installed."""
    try:
        import pyspark  # noqa: F401
        import pyspark.sql  # noqa: F401
    except ImportError:
        raise InputError(PYSPARK_MISSING) from None


def spark_session(master: str | None = None, *, conf: dict[str, str] | None = None):
    """The SparkSession to run on (custseg runs in :func:`run_session` of it).

    An active session (``spark-submit``, a notebook) is used as it is; a `master` other than its
    own is an InputError (Spark runs one SparkContext per process). Else one is started on
    `master` (default ``local[*]``; under ``spark-submit`` the master comes from spark-submit),
    with Spark's log lines quiet (see LOCAL_LOG_LEVEL) and no console progress bars.
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
    if session is None:
        under_submit = "PYSPARK_GATEWAY_PORT" in os.environ  # launched by spark-submit
        builder = SparkSession.builder.appName("custseg")
        chosen = master or (None if under_submit else DEFAULT_MASTER)
        if chosen is not None:
            builder = builder.master(chosen)
        local = chosen is not None and chosen.startswith("local")
        for key, value in {**STARTED_CONF, **(LOCAL_CONF if local else {})}.items():
            builder = builder.config(key, value)
        if chosen is not None and "spark.driver.extraJavaOptions" not in (conf or {}) and not os.environ.get("SPARK_CONF_DIR"):
            level = "ERROR" if local else CLUSTER_LOG_LEVEL  # start-up failures still show
            builder = builder.config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{_log4j2_file(level)}")
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
        # Failures reach custseg as exceptions and are reported in one line; Spark's own log lines
        # (an executor's stack trace for a bad CSV row) only with CUSTSEG_DEBUG=1. Under spark-submit
        # the JVM started before custseg: its start-up lines follow the cluster's settings, the
        # run's (~19k INFO lines) are cut here.
        if local and not os.environ.get("PYSPARK_PYTHON"):
            # The workers on this machine run this Python, with its packages (a pandas UDF needs
            # pandas); PySpark's default is whichever `python3` is first on the PATH.
            session.sparkContext.pythonExec = sys.executable
        session.sparkContext.setLogLevel("WARN" if os.environ.get("CUSTSEG_DEBUG") else LOCAL_LOG_LEVEL if local else CLUSTER_LOG_LEVEL)
        for key, value in SESSION_CONF.items():  # custseg's own session
            session.conf.set(key, value)
    return session


def run_session(base):
    """The session one custseg run works in: a new session on `base`'s SparkContext with the
    caller's settings copied, then custseg's (SESSION_CONF: UTC, Arrow).

    Temporary views and SQL settings belong to a session, so the caller's own views (``orders``,
    ``customers``) and settings (its time zone) are never touched, during the run, after it or
    when it fails; catalog tables, the cache and the executors are shared.
    """
    child = base.newSession()
    for key, value in _settings(base).items():
        if key in SESSION_CONF:
            continue
        try:
            if child.conf.get(key, None) != value:
                child.conf.set(key, value)
        except spark_error_types():  # a static or core setting: the SparkContext's own, already shared
            pass
    for key, value in SESSION_CONF.items():
        child.conf.set(key, value)
    return child


def _settings(session) -> dict[str, str]:
    """Every setting of `session` (launch-time and set since), as strings."""
    try:
        return dict(session.conf.getAll)  # Spark >= 4.0
    except (AttributeError, TypeError):
        try:
            return dict(session._jsparkSession.conf().getAllAsJava())
        except Exception:  # noqa: BLE001 - Spark 3.5 has no Java view of it: start from the context's
            return {}


@contextmanager
def quiet_planner(spark):
    """Silence :data:`QUIET_LOGGERS` while custseg runs; their levels are restored after (the
    caller's session keeps its own logging)."""
    try:
        jvm = spark.sparkContext._jvm
        configurator = jvm.org.apache.logging.log4j.core.config.Configurator
        manager = jvm.org.apache.logging.log4j.LogManager
        before = {name: manager.getLogger(name).getLevel() for name in QUIET_LOGGERS}
        for name in QUIET_LOGGERS:
            configurator.setLevel(name, jvm.org.apache.logging.log4j.Level.ERROR)
    except Exception:  # noqa: BLE001 - no log4j 2 on the gateway (Spark Connect, an older Spark): leave logging alone
        yield
        return
    try:
        yield
    finally:
        try:
            for name, level in before.items():
                configurator.setLevel(name, level)
        except Exception:  # noqa: BLE001 - the gateway may be gone after a failed run
            pass


def _log4j2_file(level: str = "ERROR") -> str:
    import tempfile

    text = _LOG4J2.replace("{level}", level.lower())
    path = os.path.join(tempfile.gettempdir(), f"custseg-spark-log4j2-{level.lower()}-{os.getuid()}.properties")
    if not os.path.exists(path) or open(path, encoding="utf-8").read() != text:
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(path + ".tmp", path)
    return path


# ----------------------------------------------------------------------------- collecting


def checkpoint_dir(spark) -> str | None:
    """The SparkContext's checkpoint directory (``spark.checkpoint.dir``, ``sc.setCheckpointDir``), if any."""
    try:
        found = spark.sparkContext._jsc.sc().getCheckpointDir()
        return str(found.get()) if found.isDefined() else None
    except Exception:  # noqa: BLE001 - no JVM view (Spark Connect): local checkpoints
        return None


def collect_arrow(frame):
    """A Spark DataFrame on the driver as a pyarrow Table (naive timestamps, as DuckDB's).

    A result larger than ``spark.driver.maxResultSize`` is a one-line InputError naming the setting."""
    import pyarrow as pa

    try:
        if hasattr(frame, "toArrow"):  # Spark >= 4.0
            table = frame.toArrow()
        else:  # Spark 3.5
            from pyspark.sql.pandas.types import to_arrow_schema

            batches = frame._collect_as_arrow()
            schema = to_arrow_schema(frame.schema)
            table = pa.Table.from_batches(batches, schema=schema) if batches else schema.empty_table()
    except spark_error_types() as exc:
        if "maxResultSize" not in str(exc):
            raise
        limit = frame.sparkSession.sparkContext.getConf().get("spark.driver.maxResultSize", "1g")
        raise InputError(
            f"a result collected to the driver is larger than spark.driver.maxResultSize ({limit}); raise it, e.g. "
            "--conf spark.driver.maxResultSize=8g with --driver-memory to match, or bound what the driver holds with "
            "--driver-customers N --out-labels PATH (docs/spark.md: what the driver holds)"
        ) from None
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
