#!/usr/bin/env bash
# Install everything custseg needs on a fresh Debian machine with Python 3.11:
# a virtual environment with the package and its test tools, Debian's chromium
# (used to export slide images and to test the report in a real browser) and, for the
# Spark engine (extra "spark"), PySpark and a Java runtime (17 or newer).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
EXTRAS=${CUSTSEG_EXTRAS:-test}  # CUSTSEG_EXTRAS=test,spark adds PySpark and a Java runtime

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
# The major version of the `java` on PATH (8 for "1.8.0_392", 17 for "17.0.15"), 0 if there is none.
java_major() {
  local v
  v=$(java -version 2>&1 | sed -n 's/.*version "\([0-9][0-9.]*\).*/\1/p' | head -n 1) || true
  v=${v#1.}
  echo "${v%%.*}" | grep -E '^[0-9]+$' || echo 0
}
need_java=0
if [[ ",$EXTRAS," == *",spark,"* ]]; then
  if ! command -v java >/dev/null 2>&1 || [ "$(java_major)" -lt 17 ]; then need_java=1; fi
fi
if [ ${#need_apt[@]} -gt 0 ] || [ "$need_java" = 1 ]; then
  as_root apt-get update -qq
  if [ "$need_java" = 1 ]; then  # Spark 4 runs on Java 17 or 21: the first one this Debian has
    for pkg in openjdk-17-jre-headless openjdk-21-jre-headless default-jre-headless; do
      if apt-cache policy "$pkg" 2>/dev/null | grep -q 'Candidate: [0-9]'; then need_apt+=("$pkg"); break; fi
    done
    as_root mkdir -p /usr/share/man/man1  # slim images lack it and the JRE's postinst needs it
  fi
  echo "setup: installing Debian packages: ${need_apt[*]}" >&2
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.custseg-installed-$EXTRAS
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing custseg[$EXTRAS] into .venv" >&2
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e ".[$EXTRAS]"
  touch "$stamp"
fi

# Compile the silhouette kernels once (Numba caches them), so the first analysis does not wait,
# and custseg's own bytecode (an editable install is not compiled by pip; with
# PYTHONDONTWRITEBYTECODE set, every run would compile the sources again).
.venv/bin/python -m custseg.cluster._kernels
.venv/bin/python -m compileall -q src/custseg >/dev/null
