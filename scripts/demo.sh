#!/usr/bin/env bash
# Install custseg and run the reference analysis on the bundled demo data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/custseg demo "$@"
