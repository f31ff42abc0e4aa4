"""The Spark session behind the Spark engine, loaded lazily so that DuckDB users never need Java.

One session serves a whole process: Spark allows one active SparkContext per JVM, so workspaces on
the Spark engine are separate *databases* in one catalog. The catalog is a Hive metastore in Derby
under the workspace, so tables survive the process (an in-memory catalog would forget them).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from insightloop.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["get_spark_session", "require_pyspark"]

_INSTALL_HINT = (
    "Install the Spark extra: pip install 'insightloop[spark]' (needs Java 17 or newer)."
)


def require_pyspark() -> Any:
    """Import pyspark or fail with the command that installs it."""
    try:
        import pyspark
    except ImportError:
        raise ConfigError(
            "The Spark engine was selected (engine.backend = 'spark'), but PySpark is not "
            "installed.",
            hint=_INSTALL_HINT,
        ) from None
    if shutil.which("java") is None:
        raise ConfigError(
            "The Spark engine needs a Java runtime and none was found on PATH.",
            hint="Install Java 17+ (Debian: apt-get install default-jre-headless) or use DuckDB.",
        )
    return pyspark


def get_spark_session(
    base_dir: Path,
    *,
    master: str = "local[*]",
    driver_memory: str = "4g",
    shuffle_partitions: int = 8,
    extra_config: dict[str, str] | None = None,
) -> SparkSession:
    """Return this process's Spark session, creating it on first use.

    Parameters
    ----------
    base_dir
        Folder for the warehouse and the Derby metastore of the first session. A session that
        already exists is reused as it is (Spark cannot change these after start-up).
    extra_config
        Further Spark settings, e.g. for tests.
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    # Local mode talks to itself only; without this Spark binds to the host's external address.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    base_dir = base_dir.resolve()
    base_dir.mkdir(parents=True, exist_ok=True)
    metastore = base_dir / "metastore_db"
    builder = (
        SparkSession.builder.master(master)
        .appName("insightloop")
        .config("spark.driver.memory", driver_memory)
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.warehouse.dir", str(base_dir / "warehouse"))
        .config("spark.sql.session.timeZone", "UTC")
        # Local mode talks to itself only: bind the driver to loopback, not the host's address.
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        # Arrow moves data between Python and the JVM in columns, and converts nulls in decimal
        # and timestamp columns, which the row-by-row fallback cannot.
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.showConsoleProgress", "false")
        # Derby writes derby.log into the working directory unless told otherwise.
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={base_dir}")
        .config(
            "spark.hadoop.javax.jdo.option.ConnectionURL",
            f"jdbc:derby:;databaseName={metastore};create=true",
        )
        .enableHiveSupport()
    )
    for key, value in (extra_config or {}).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
