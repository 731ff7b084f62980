#!/usr/bin/env bash
# Install custseg with its test tools and the Spark extra (PySpark, and a Java runtime when
# there is none), then run the whole test suite, the Spark engine's tests in local mode included.
set -euo pipefail
cd "$(dirname "$0")/.."
CUSTSEG_EXTRAS=${CUSTSEG_EXTRAS:-test,spark} bash scripts/setup.sh
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
