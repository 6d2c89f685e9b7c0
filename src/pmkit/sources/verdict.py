"""A wrong format is loud: the warning for a source whose inputs were mostly rejected.

A source is **mostly rejected** when more than half of the inputs read inside the window were
rejected (``rejected > 0.5 * (parsed + rejected)``; inputs outside the window are not counted) and at
least 10 were (:data:`SHARE`, :data:`MIN_REJECTED`): a few bad lines in a short file are noise, half a
file rejected is almost always the wrong ``format`` (or pattern, fields, ts_format). The warning names
the counts and the format the sniffers would choose for the rejected lines themselves (the first
:data:`SAMPLE` non-blank ones, through :func:`pmkit.sources.registry.sniff`), so the fix is in the message:

    3,522 of 3,522 lines rejected (format combined); these lines look like jsonl: set format: jsonl

:func:`pmkit.sources.base.run` puts it first in the source's notes (with :data:`PREFIX`, so it survives
the load cache with the notes); :func:`warning_of` reads it back for the load report's ``warning`` column,
which ``pmkit load`` (exit 1), ``pmkit analyze``, ``pmkit render`` and the document's evidence section show.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from pmkit.sources import registry

SHARE = 0.5
MIN_REJECTED = 10
SAMPLE = 50
PREFIX = "mostly rejected: "


def mostly_rejected(parsed: int, rejected: int) -> bool:
    """Whether a source's rejects pass the threshold: at least :data:`MIN_REJECTED` and more than :data:`SHARE`
    of the inputs read (parsed + rejected)."""
    return rejected >= MIN_REJECTED and rejected > SHARE * (parsed + rejected)


def wrong_format_note(kind: str, fmt: str, parsed: int, rejects: pl.DataFrame, unit: str = "lines") -> str | None:
    """The warning note (starting with :data:`PREFIX`) when the source is :func:`mostly_rejected`, else None."""
    rejected = rejects.height
    if not mostly_rejected(parsed, rejected):
        return None
    raws = rejects.get_column("raw").drop_nulls()
    sample = raws.filter(raws.str.contains(r"\S")).head(SAMPLE).to_list()
    guess = registry.sniff(kind, "\n".join(sample)) if sample else None
    said = f"{PREFIX}{rejected:,} of {parsed + rejected:,} {unit} rejected (format {fmt})"
    if guess is not None and guess != fmt:
        return f"{said}; these lines look like {guess}: set format: {guess}, or leave format out to sniff it"
    if guess == fmt:
        return (
            f"{said}; they look like {fmt}, yet do not parse: check the source's options (pattern, fields, ts_format)"
        )
    return f"{said}; no format's sniffer recognises them: check format (`pmkit formats` lists them) and the rejects"


def warning_of(notes: Iterable[str]) -> str:
    """The mostly-rejected warning among a source's notes, without its prefix ("" when there is none)."""
    return next((n.removeprefix(PREFIX) for n in notes if n.startswith(PREFIX)), "")


def report_warnings(report: pl.DataFrame) -> list[str]:
    """``source: warning`` for each source of a load report (``Incident.report``) that was mostly rejected."""
    if "warning" not in report.columns:
        return []
    return [f"{r['source']}: {r['warning']}" for r in report.iter_rows(named=True) if r["warning"]]
