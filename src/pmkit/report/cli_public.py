"""``pmkit render --audience public`` and ``--to pdf``: the parts of ``pmkit render`` beside the notebook run.

:func:`render_public` writes the customer-facing postmortem of each incident
(:mod:`pmkit.report.public`) into ``OUTDIR/<incident id>/`` beside the internal files, straight from
the analysis (no notebook runs); :func:`print_internal_pdfs` prints each rendered internal
``postmortem.html`` to ``postmortem.pdf`` (:mod:`pmkit.report.pdf`). Both print one line per incident
and return 1 when any failed.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pmkit.errors import PmkitError

AUDIENCES = ("internal", "public")


def audiences(value: str) -> tuple[str, ...]:
    """``internal``, ``public`` or both comma-separated (argparse type)."""
    items = tuple(dict.fromkeys(v.strip().lower() for v in value.split(",") if v.strip()))
    if not items or any(v not in AUDIENCES for v in items):
        raise argparse.ArgumentTypeError(f"{value!r}: expected internal, public or internal,public")
    return items


def render_public(
    incident_dirs: Sequence[str | Path], output_dir: str | Path, *, to: Sequence[str], convention: str | None
) -> int:
    """Write ``postmortem.public.*`` (the formats of ``to``) for each incident; 1 when any failed."""
    from pmkit.incident import Incident
    from pmkit.pipeline import analyze
    from pmkit.report import public

    failed = 0
    out = Path(output_dir)
    for d in incident_dirs:
        try:
            inc = Incident.load(d)
            result = analyze(inc, convention=convention or "impact")
            files = public.write(result, out / inc.spec.id, tuple(to))
        except PmkitError as exc:
            failed += 1
            print(f"FAILED public {d}: {exc}", file=sys.stderr)
            continue
        print(f"public {inc.spec.id}: {out / inc.spec.id}/")
        print("    " + "  ".join(p.name for p in files.values()))
    return 1 if failed else 0


def print_internal_pdfs(results: Sequence[Any], *, keep_html: bool) -> tuple[int, list[Any]]:
    """``postmortem.pdf`` from each rendered ``postmortem.html`` (removed after unless ``keep_html``).

    Returns 1 when any failed, and the results with ``files`` updated (``pdf`` added, ``html`` dropped when removed).
    """
    from pmkit.report.pdf import html_file_to_pdf

    failed = 0
    out = []
    for r in results:
        page = r.files.get("html")
        if not r.ok or page is None:
            out.append(r)
            continue
        try:
            pdf = html_file_to_pdf(page, Path(page).with_suffix(".pdf"))
        except PmkitError as exc:
            failed += 1
            print(f"FAILED pdf {r.incident_id}: {exc}", file=sys.stderr)
            out.append(r)
            continue
        files = {**r.files, "pdf": pdf}
        if not keep_html:
            Path(page).unlink(missing_ok=True)
            del files["html"]
        out.append(dataclasses.replace(r, files=files))
    return (1 if failed else 0), out
