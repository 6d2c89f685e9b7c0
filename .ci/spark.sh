#!/usr/bin/env bash
# Install what the Spark lake test needs (tests/sources/test_lake.py, Spark in local mode): Debian's
# openjdk-17 (java) and pyspark into the project's venv. Idempotent; never needed by the rest of the suite
# (the test skips with the reason without them). Measured: pyspark's 456 MB sdist downloads in ~10 s and
# builds/installs in ~70 s; the test adds ~10-15 s (a local Spark session).
set -euo pipefail
VENV_PY="${1:-.venv/bin/python}"

if ! command -v java >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo ".ci/spark.sh: java is missing and installing it needs root (apt-get install openjdk-17-jre-headless)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null
fi
if ! "$VENV_PY" -c "import pyspark" >/dev/null 2>&1; then
  "$VENV_PY" -m pip install --quiet "pyspark>=3.5"
fi
"$VENV_PY" -c "import pyspark; print('pyspark', pyspark.__version__)"
