#!/usr/bin/env bash
# Install what the Prometheus pull tests need on a bare Debian machine: Debian's prometheus package
# (prometheus and promtool). The tests start their own server on 127.0.0.1 with a temporary TSDB; the
# Debian service is not started (policy-rc.d refuses it for this install). Idempotent; needs root.
set -euo pipefail

if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo ".ci/prometheus.sh: prometheus is missing and installing it needs root (apt-get install prometheus)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
fi
trap '[ "$made_policy" = 1 ] && rm -f "$policy"' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends prometheus >/dev/null
prometheus --version | head -1
