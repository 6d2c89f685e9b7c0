"""``pmkit actions``: action items across incidents: list them, export them to trackers, sync their statuses back.

``cli.py`` calls :func:`add_actions_parser` on its subparsers and :func:`default_list` on the arguments, so
``pmkit actions DIR...`` lists (the same as ``pmkit actions list DIR...``). The work is in
:mod:`pmkit.portfolio.actions`, :mod:`pmkit.portfolio.trackers` and :mod:`pmkit.portfolio.sync`;
docs/actions.md is the user's page.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

VERBS = ("list", "export", "sync")


def default_list(argv: Sequence[str]) -> list[str]:
    """``actions DIR...`` as ``actions list DIR...`` (an argument after ``actions`` that is no verb nor -h)."""
    out = list(argv)
    if len(out) >= 2 and out[0] == "actions" and out[1] not in (*VERBS, "-h", "--help"):
        out.insert(1, "list")
    return out


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: expected a date such as 2026-01-15") from None


def _trackers(value: str) -> tuple[str, ...]:
    from pmkit.portfolio.trackers import TRACKERS

    items = tuple(dict.fromkeys(v.strip().lower() for v in value.split(",") if v.strip()))
    bad = [v for v in items if v not in TRACKERS]
    if bad or not items:
        raise argparse.ArgumentTypeError(f"{value!r}: expected a comma-separated list of {', '.join(TRACKERS)}")
    return items


def add_actions_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "actions",
        help="action items across incidents: list open/overdue by owner, export to GitHub/Jira/Linear, sync back",
        description="pmkit actions DIR...: the open and overdue action items by owner. pmkit actions export DIR... "
        "--to github,jira,linear -o OUT: issues to create. pmkit actions sync DIR... --from FILE: statuses from a "
        "tracker's export written back into incident.yaml (docs/actions.md).",
    )
    verbs = p.add_subparsers(dest="verb", metavar="VERB")

    dirs_help = "incident folders, postmortem documents, or folders of them"
    q = verbs.add_parser("list", help="open and overdue items by owner (the default: pmkit actions DIR...)")
    q.add_argument("paths", nargs="+", metavar="DIR", help=dirs_help)
    q.add_argument("--today", type=_date, metavar="DATE", help="judge overdue on DATE (default: today, UTC)")
    q.add_argument("--all", action="store_true", help="list done items too")
    q.add_argument("--json", action="store_true", help="print items and owners as JSON")
    q.set_defaults(func=cmd_actions_list)

    q = verbs.add_parser("export", help="write the items as GitHub issues (JSON + gh script), Jira CSV, Linear CSV")
    q.add_argument("paths", nargs="+", metavar="DIR", help=dirs_help)
    q.add_argument("--to", type=_trackers, required=True, help="github, jira, linear (comma-separated)")
    q.add_argument("-o", "--output", metavar="OUT", default="out/actions", help="output folder (default out/actions)")
    q.add_argument("--all", action="store_true", help="every item (default: open items not yet in a tracker)")
    q.add_argument("--label", action="append", default=[], metavar="NAME", help="a further label (repeatable)")
    q.add_argument("--no-assignees", action="store_true", help="GitHub: do not assign the owner's login")
    q.add_argument("--issue-type", default="Task", help="Jira's Issue Type (default Task)")
    q.add_argument("--team", default="", help="Linear's Team column")
    q.set_defaults(func=cmd_actions_export)

    q = verbs.add_parser("sync", help="read a tracker's export and write the items' statuses into incident.yaml")
    q.add_argument("paths", nargs="+", metavar="DIR", help=dirs_help)
    q.add_argument(
        "--from", dest="source", required=True, metavar="FILE", help="GitHub issues JSON, Jira or Linear CSV export"
    )
    q.add_argument("--tracker", choices=["github", "jira", "linear"], help="the export's tracker (default: sniffed)")
    q.add_argument("--dry-run", action="store_true", help="report what would change; write nothing")
    q.set_defaults(func=cmd_actions_sync)

    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _table(df: pl.DataFrame, columns: Sequence[str]) -> str:
    rows = [["" if v is None else str(v) for v in r] for r in df.select(columns).iter_rows()]
    numeric = [df.schema[c].is_numeric() for c in columns]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if n else c.ljust(w) for c, w, n in zip(cells, widths, numeric, strict=True)
        ).rstrip()

    return "\n".join([fmt(columns), fmt(["-" * w for w in widths]), *(fmt(r) for r in rows)])


def _problems(problems: Sequence[str]) -> None:
    for line in problems:
        print(f"pmkit: error: {line}", file=sys.stderr)


def cmd_actions_list(args: argparse.Namespace) -> int:
    import polars as pl

    from pmkit.portfolio.actions import by_owner, item_frame, open_items, read_items

    items, problems = read_items(args.paths)
    today = args.today or dt.datetime.now(dt.UTC).date()
    frame = item_frame(items)
    listed = open_items(frame, today, include_done=args.all)
    owners = by_owner(frame, today)
    if args.json:
        doc = {
            "today": today.isoformat(),
            "items": listed.with_columns(pl.col("due").cast(pl.String)).to_dicts(),
            "owners": owners.with_columns(pl.col("oldest_due").cast(pl.String)).to_dicts(),
            "problems": list(problems),
        }
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        _problems(problems)
        return 1 if problems else 0
    n_open = int((~frame["done"]).sum())
    n_overdue = int(listed["overdue"].sum()) if listed.height else 0
    incidents = frame["id"].n_unique()
    print(f"{frame.height} action items in {incidents} incidents: {n_open} open, {n_overdue} overdue on {today}")
    if listed.height:
        shown = listed.with_columns(
            pl.when(pl.col("overdue"))
            .then(pl.format("{} days", pl.col("days_overdue")))
            .otherwise(pl.lit(""))
            .alias("overdue"),
            pl.col("action").str.slice(0, 60),
        )
        print()
        print(_table(shown, ["owner", "key", "due", "overdue", "status", "priority", "action", "tracker"]))
    if owners.height:
        print()
        print(_table(owners, ["owner", "items", "done", "open", "overdue", "oldest_due", "days_overdue"]))
    _problems(problems)
    return 1 if problems else 0


def cmd_actions_export(args: argparse.Namespace) -> int:
    from pmkit.portfolio import is_done
    from pmkit.portfolio.actions import read_items
    from pmkit.portfolio.trackers import export

    items, problems = read_items(args.paths)
    chosen = [it for it in items if args.all or (not is_done(it.status) and not it.tracker)]
    skipped = [it for it in items if it not in chosen]
    out = Path(args.output)
    written = export(
        chosen,
        out,
        args.to,
        extra_labels=args.label,
        assign=not args.no_assignees,
        issue_type=args.issue_type,
        team=args.team,
    )
    print(f"{len(chosen)} of {len(items)} action items exported to {', '.join(args.to)}")
    for it in skipped:
        why = f"already tracked: {it.tracker}" if it.tracker else f"status {it.status}"
        print(f"  skipped {it.key} ({why}; --all exports it)")
    for path in written:
        print(f"wrote {path}")
    _problems(problems)
    return 1 if problems else 0


def cmd_actions_sync(args: argparse.Namespace) -> int:
    from pmkit.portfolio.sync import sync

    report = sync(args.paths, args.source, tracker=args.tracker, dry_run=args.dry_run)
    for line in report.lines():
        print(line)
    if args.dry_run:
        print("dry run: nothing written")
    return 1 if report.problems else 0


__all__ = ["add_actions_parser", "default_list"]
