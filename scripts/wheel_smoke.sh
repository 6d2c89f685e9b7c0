#!/usr/bin/env bash
# Build pmkit's wheel and try it where there is no checkout, in a fresh virtual environment:
#   1. without extras (`pip install pmkit`): `pmkit load` and `pmkit analyze --json` work on a sample;
#      `pmkit render` and `pmkit demo` print one line naming the 'render' extra and exit 2, no traceback;
#   2. with the render extra: `pmkit demo` renders the sample incidents shipped in the wheel.
# Everything happens in a temporary folder (the load cache too: PMKIT_CACHE_DIR), removed at the end.
# Needs the package index; takes 2-4 minutes (a fresh venv per install), which is why it is a script
# and not part of `make test` (tests/test_packaging.py runs it when PMKIT_WHEEL_SMOKE=1).
# Usage: scripts/wheel_smoke.sh [PYTHON]   (default python3; 3.11+)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-python3}
unset PYTHONPATH PYTHONHOME  # the venv must see the installed wheel only, never a source tree
work=$(mktemp -d "${TMPDIR:-/tmp}/pmkit-wheel-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT
export PMKIT_CACHE_DIR="$work/cache"
say() { printf 'wheel-smoke: %s\n' "$*"; }
fail() { printf 'wheel-smoke: FAILED: %s\n' "$*" >&2; exit 1; }

"$PY" -m venv "$work/build"
"$work/build/bin/python" -m pip wheel -qq --no-deps -w "$work/wheel" .
whl=$(ls "$work"/wheel/pmkit-*.whl)
say "built $(basename "$whl") ($(du -k "$whl" | cut -f1) KiB)"
if unzip -l "$whl" | grep -E '(/\.|samplegen)'; then fail "the wheel packs hidden files or the sample generator"; fi

"$PY" -m venv "$work/venv"
bin="$work/venv/bin"
"$bin/python" -m pip install -qq "$whl"
cd "$work"  # no checkout around: the samples come from the installed package
sample=$("$bin/python" -c 'import pathlib, pmkit; print(pathlib.Path(pmkit.__file__).parent / "samples" / "INC-2025-0142")')
[ -f "$sample/incident.yaml" ] || fail "no sample incident in the installed package ($sample)"

"$bin/pmkit" load "$sample" >load.txt || fail "pmkit load"
"$bin/pmkit" analyze --json "$sample" >analysis.json || fail "pmkit analyze --json"
"$bin/python" -c 'import json, sys; assert json.load(open(sys.argv[1]))["incident"]["id"] == "INC-2025-0142"' analysis.json
say "core install: pmkit load and pmkit analyze --json work"
# the grok pattern overlay ships as package data: a pattern only it defines is listed and usable
"$bin/pmkit" grok --list URN >grok-list.txt && grep -q "pmkit/core.grok" grok-list.txt || fail "pmkit grok --list: the grok pattern overlay is not in the wheel"
printf 'urn:isbn:0451450523\n' >urn.txt
"$bin/pmkit" grok '%{URN:urn}' urn.txt >/dev/null || fail "pmkit grok: the overlay's URN pattern does not match"
say "core install: the grok pattern overlay (grok_patterns/*.grok) is packaged"
for cmd in "render $sample" "demo"; do
  set +e
  # shellcheck disable=SC2086  # $cmd is two words on purpose
  "$bin/pmkit" $cmd -o out 2>err.txt >/dev/null
  rc=$?
  set -e
  name=${cmd%% *}
  [ "$rc" -eq 2 ] || fail "pmkit $name exited $rc, expected 2: $(cat err.txt)"
  grep -q "^pmkit: error: pmkit $name needs the 'render' extra: pip install 'pmkit\[render\]' (missing: papermill" err.txt \
    || fail "pmkit $name: unexpected message: $(cat err.txt)"
  if grep -q Traceback err.txt; then fail "pmkit $name printed a traceback"; fi
  say "core install: pmkit $name says: $(cat err.txt)"
done
"$bin/python" -c 'import importlib.util as u, sys; sys.exit(u.find_spec("samplegen") is not None)' \
  || fail "samplegen is importable from the installed wheel"

"$bin/python" -m pip install -qq "$whl[render]"
"$bin/pmkit" demo -o demo --no-progress || fail "pmkit demo with the render extra"
for inc in INC-2025-0142 INC-20250120-103000; do
  [ -s "demo/$inc/postmortem.html" ] && [ -s "demo/$inc/postmortem.md" ] || fail "pmkit demo wrote no documents for $inc"
done
if find "$work/venv" -name .pmkit-cache | grep -q .; then fail "a load cache was written into the installed package"; fi
say "render install: pmkit demo rendered both samples from the wheel; the cache stayed in PMKIT_CACHE_DIR"
say "OK"
