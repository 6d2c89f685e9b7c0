"""PDF from a rendered HTML page, printed by the local headless Chromium (``--to pdf``).

The browser is the one kaleido draws the figures with (:func:`pmkit.report.figures_png.browser_path`:
``BROWSER_PATH``, else ``chromium``, ``chromium-browser`` or ``google-chrome`` on PATH). It opens the
page from a file URL, lets its scripts run (the internal document draws its plotly figures) within a
virtual time budget, and prints with the page's ``@page``/``@media print`` styles, without the browser's
header and footer (no file path or date in the PDF). No browser: :class:`NoBrowserError`, one line
saying how to get one.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from pmkit.errors import PmkitError
from pmkit.report.figures_png import browser_path

TIMEOUT_S = 180
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-pdf-header-footer",
    "--virtual-time-budget=15000",  # lets the internal page's plotly figures draw before printing
)


class NoBrowserError(PmkitError):
    """``--to pdf`` without a Chrome/Chromium on this machine."""


def require_browser() -> str:
    """The browser's path, or :class:`NoBrowserError` saying how to get one."""
    path = browser_path()
    if path is None:
        raise NoBrowserError(
            "--to pdf prints with a local Chromium or Chrome and none was found (looked for BROWSER_PATH, "
            "chromium, chromium-browser, google-chrome on PATH): apt-get install chromium, or set BROWSER_PATH"
        )
    return path


def html_file_to_pdf(page: str | Path, pdf: str | Path) -> Path:
    """Print the HTML file ``page`` to ``pdf`` with headless Chromium; the PDF's path."""
    browser = require_browser()
    src, dst = Path(page).resolve(), Path(pdf).resolve()
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="pmkit-pdf-") as profile:
        cmd = [browser, *FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={dst}", src.as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise PmkitError(f"{src}: Chromium did not print it within {TIMEOUT_S} s") from None
    if not dst.is_file() or dst.stat().st_size == 0 or not dst.read_bytes().startswith(b"%PDF"):
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise PmkitError(f"{src}: Chromium wrote no PDF (exit {proc.returncode}: {tail[0]})")
    return dst


def print_pdf(page_html: str, pdf: str | Path) -> Path:
    """Print an HTML page given as text to ``pdf`` (through a file beside it, removed afterwards)."""
    require_browser()
    dst = Path(pdf)
    dst.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", suffix=".html", prefix=".pmkit-print-", dir=dst.parent, delete=False, encoding="utf-8"
    ) as f:
        f.write(page_html)
        tmp = Path(f.name)
    try:
        return html_file_to_pdf(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
