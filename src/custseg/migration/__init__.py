"""Movement between two dates: RFM segments and clusters at both dates, who moved where
(migration.csv, a Sankey and a transition matrix), and whether the segments of the earlier date
predicted who bought again in the period (prediction.csv). See docs/migration.md.

* :func:`custseg.migration.run.migrate` — the command ``custseg migrate`` and ``custseg.migrate``;
* :mod:`custseg.migration.tables` — states, transitions and outcomes (pure functions); the
  value models' predicted purchases join in :func:`~custseg.migration.tables.customer_outcomes`;
* :mod:`custseg.migration.findings` — the findings in words (words.toml);
* :mod:`custseg.migration.report` — the self-contained HTML report.
"""

from custseg.migration.run import MigrationResult, migrate, write_migration

__all__ = ["MigrationResult", "migrate", "write_migration"]
