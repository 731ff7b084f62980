"""Execution engines other than the single-machine DuckDB one.

* :mod:`custseg.engines.spark` — Apache Spark: sources, features and RFM in Spark SQL (the same
  SQL files as DuckDB), KMeans in Spark MLlib; needs ``pip install 'custseg[spark]'``.
"""
