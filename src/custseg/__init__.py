"""custseg: from a shop's order history to customer segments a marketing team can act on.

    import custseg
    result = custseg.run("path/to/olist", out="report/")   # or run(log, preset="online_retail")
    result.customers            # one row per customer: metrics, segments, RFM
    result.populations[0].assignments
"""

__version__ = "0.1.0"


def run(*args, **kwargs):
    """Run the whole analysis; see :func:`custseg.api.run`."""
    from custseg.api import run as _run

    return _run(*args, **kwargs)


def migrate(*args, **kwargs):
    """Segments at two dates and who moved where; see :func:`custseg.migration.run.migrate`."""
    from custseg.migration.run import migrate as _migrate

    return _migrate(*args, **kwargs)
