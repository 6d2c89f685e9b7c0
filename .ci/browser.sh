#!/usr/bin/env bash
# Install what the browser tests need on a bare Debian machine: the system chromium (and pdftotext) (Playwright
# drives it through executable_path; `playwright install` cannot download browsers here).
# Idempotent: does nothing when chromium is already there. Needs root for apt-get.
set -euo pipefail

CHROMIUM="${PMKIT_CHROMIUM:-/usr/bin/chromium}"
if { [ -x "$CHROMIUM" ] || command -v chromium >/dev/null 2>&1; } && command -v pdftotext >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo ".ci/browser.sh: chromium is missing and installing it needs root (apt-get install chromium)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# poppler-utils: pdftotext reads back the text of the PDFs `pmkit render --to pdf` prints
apt-get install -y -qq --no-install-recommends chromium fonts-liberation fonts-dejavu-core poppler-utils >/dev/null
chromium --version
