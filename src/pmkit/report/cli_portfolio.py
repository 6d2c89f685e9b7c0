"""``pmkit portfolio DIR -o OUT``: many incidents, one report (:mod:`pmkit.report.portfolio`).

``cli.py`` calls :func:`add_portfolio_parser` on its subparsers; the handler loads the folder with
:meth:`pmkit.portfolio.Portfolio.load` (a progress bar on stderr), writes the report and the per-incident
table, prints what it wrote and one line per file it could not read, and returns the exit code (1 when a file
could not be read and ``--strict`` is given, or when no incident was read at all).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

FORMATS = ("html", "md", "csv", "parquet")


def _formats(value: str) -> tuple[str, ...]:
    items = tuple(dict.fromkeys(v.strip().lower() for v in value.split(",") if v.strip()))
    bad = [v for v in items if v not in FORMATS]
    if bad or not items:
        raise argparse.ArgumentTypeError(f"{value!r}: expected a comma-separated list of {', '.join(FORMATS)}")
    return items


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: expected a date such as 2026-01-15") from None


def add_portfolio_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "portfolio",
        help="many incidents, one report: MTTx trends, budget per service, completion, repeat offenders",
        description="Read every incident folder and postmortem document (Markdown with YAML front matter) under "
        "DIR and write portfolio.html, portfolio.md, incidents.csv and incidents.parquet into OUT "
        '(docs/analyses.md, "Portfolio").',
    )
    p.add_argument("folder", metavar="DIR", help="a folder of incident folders and/or postmortem documents")
    p.add_argument(
        "-o", "--output", metavar="OUT", default="out/portfolio", help="output folder (default out/portfolio)"
    )
    p.add_argument("--period", choices=["week", "month", "quarter"], default="month", help="counts and budget per")
    p.add_argument(
        "--trend-period", choices=["week", "month", "quarter"], default="quarter", help="MTTx trend per (quarter)"
    )
    p.add_argument(
        "--service", action="append", metavar="NAME", help="only incidents touching this service (repeatable)"
    )
    p.add_argument(
        "--as-of",
        type=_date,
        metavar="DATE",
        help="judge overdue action items on DATE (default: portfolio.yaml's as_of, else today)",
    )
    p.add_argument(
        "--convention", choices=["impact", "detection"], default="impact", help="MTTM/MTTR of evidence folders from"
    )
    p.add_argument("--to", type=_formats, default=FORMATS, help=f"comma-separated subset of {','.join(FORMATS)}")
    p.add_argument("--jobs", type=int, default=None, help="worker processes for evidence folders (default: CPUs)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--strict", action="store_true", help="fail (exit 1) when any file cannot be read")
    p.set_defaults(func=cmd_portfolio)


def cmd_portfolio(args: argparse.Namespace) -> int:
    from pmkit.portfolio import Portfolio
    from pmkit.report.portfolio import render_portfolio

    pf = Portfolio.load(
        args.folder,
        convention=args.convention,
        as_of=args.as_of,
        jobs=args.jobs,
        progress=not args.no_progress and sys.stderr.isatty(),
        strict=args.strict,
    )
    for problem in pf.problems:
        print(f"pmkit: warning: {problem}", file=sys.stderr)
    if len(pf) == 0:
        print(
            f"pmkit: error: {args.folder}: no incident could be read (no incident.yaml folder, no *.md with "
            "front matter)",
            file=sys.stderr,
        )
        return 1
    files = render_portfolio(
        pf, Path(args.output), period=args.period, trend_period=args.trend_period, services=args.service, to=args.to
    )
    print(
        f"read {len(pf)} incidents ({pf.sources.get('folders', 0)} folders, {pf.sources.get('documents', 0)} "
        f"documents) from {args.folder}; wrote into {args.output}/:"
    )
    print("  " + "  ".join(p.name for p in files.values()))
    if "html" in files:
        print(f"open {files['html']} in a browser")
    return 0
