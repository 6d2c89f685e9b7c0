"""The ``pmkit`` command. Each subcommand is a thin layer over the library."""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pmkit.errors import PmkitError

if TYPE_CHECKING:  # polars loads with the first command that needs it, not for --help
    import polars as pl

OUTPUT_SUFFIXES = (".parquet", ".csv", ".jsonl")

# What never reaches the terminal from evidence: C0 controls but tab and newline (ESC starts the sequences that
# retitle the window, move the cursor or rewrite the screen), DEL, C1 controls (0x9b is a one-byte CSI) and the
# bidirectional overrides that make text read other than it is.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """``text`` without control characters (see ``_UNSAFE``): evidence printed by the command is data."""
    return _UNSAFE.sub("", text)


class _SafeStream(io.TextIOBase):
    """A text stream that passes everything through :func:`terminal_safe` (the command's stdout)."""

    def __init__(self, inner: TextIO) -> None:
        self._inner = inner

    def write(self, s: str) -> int:
        self._inner.write(terminal_safe(s))
        return len(s)

    def flush(self) -> None:
        self._inner.flush()

    def isatty(self) -> bool:
        return self._inner.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self._inner, "encoding", "utf-8"))


def write_frame(df: pl.DataFrame, path: str) -> None:
    """Write a frame by its file suffix: .parquet, .csv or .jsonl."""
    p = Path(path)
    if p.suffix not in OUTPUT_SUFFIXES:
        raise PmkitError(
            f"{path}: unknown output type {p.suffix or '(none)'!r}; expected one of {', '.join(OUTPUT_SUFFIXES)}"
        )
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.suffix == ".parquet":
        # snappy (pyarrow's default) writes a load's long string columns (attrs, message, origin) ~1.7x
        # faster than polars' default zstd, for files ~1.8x larger
        df.write_parquet(p, compression="snappy")
    elif p.suffix == ".csv":
        df.write_csv(p)
    else:
        df.write_ndjson(p)


def format_table(df: pl.DataFrame, columns: Sequence[str]) -> str:
    """A plain aligned text table (numbers right-aligned) for the terminal."""
    rows = [
        [("" if v is None else (f"{v:,}" if isinstance(v, int) else str(v))) for v in r]
        for r in df.select(columns).iter_rows()
    ]
    numeric = [df.schema[c].is_numeric() for c in columns]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric, strict=True)
        ).rstrip()

    return "\n".join([fmt(columns), fmt(["-" * w for w in widths]), *(fmt(r) for r in rows)])


def _cmd_new(args: argparse.Namespace) -> int:
    from pmkit.scaffold import new_incident

    root = new_incident(args.id, args.dir)
    print(f"created {root}/incident.yaml and folders logs/ metrics/ deploys/ chat/ alerts/")
    print(f"next: copy the evidence in, list it under sources:, then `pmkit load {root}`")
    return 0


def _print_rejects(rejects: pl.DataFrame, limit: int = 5) -> None:
    if rejects.height == 0:
        return
    print(f"first rejects (of {rejects.height:,}):")
    for r in rejects.head(limit).iter_rows(named=True):
        print(f"  {r['origin']}: {r['reason']}")


def _pairs(items: list[str] | None, flag: str) -> dict[str, Any]:
    """``KEY=VALUE`` arguments to a dict; values are read as YAML scalars (numbers, booleans, dates)."""
    import yaml

    out: dict[str, object] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise PmkitError(f"{flag} {item!r}: expected KEY=VALUE, e.g. {flag} date=2025-06-15")
        parsed = yaml.safe_load(value) if value else ""
        out[key] = parsed.isoformat() if hasattr(parsed, "isoformat") else parsed
    return out


def _cmd_load(args: argparse.Namespace) -> int:
    from pmkit.incident import Incident
    from pmkit.sources.base import LoadRequest, run

    target = Path(args.source)
    if target.is_dir() and (target / "incident.yaml").is_file() and not args.kind:
        inc = Incident.load(target, allow_outside=args.allow_outside)
        print(inc.summary())
        print()
        print(format_table(inc.report, ["source", "kind", "format", "unit", "inputs", "parsed", "rejected", "rows"]))
        for r in inc.report.iter_rows(named=True):
            if r["notes"]:
                print(f"note: {r['source']}: {r['notes']}")
        _print_rejects(inc.rejects)
        if args.output:
            write_frame(inc.events, args.output)
            print(f"wrote {inc.events.height:,} events to {args.output}")
            if inc.series.height:
                out = Path(args.output)
                series_out = out.with_name(out.stem + ".series" + out.suffix)
                write_frame(inc.series, str(series_out))
                print(f"wrote {inc.series.height:,} metric samples to {series_out}")
        if args.rejects:
            write_frame(inc.rejects, args.rejects)
        return 0
    if not args.kind:
        hint = "" if not target.is_dir() else f" ({target} has no incident.yaml)"
        raise PmkitError(
            f"--kind is required when loading a single source{hint}; one of logs, metrics, deploys, chat, alerts"
        )
    req = LoadRequest(
        kind=args.kind,
        format=args.format or "",
        path=args.source,
        name=args.name or "",
        service=args.service,
        timezone=args.timezone,
        ts_format=args.ts_format,
        year=args.year,
        pattern=args.pattern,
        fields=_pairs(args.field, "--field"),
        options=_pairs(args.option, "--option"),
        redaction=False if args.no_redact else None,
    )
    res = run(req)
    print(
        f"{res.inputs:,} {res.unit} read: parsed {res.parsed:,}, rejected {res.rejected:,}; {res.frame.height:,} rows"
    )
    for note in res.notes:
        print(f"note: {note}")
    _print_rejects(res.rejects)
    if args.output:
        write_frame(res.frame, args.output)
        print(f"wrote {res.frame.height:,} rows to {args.output}")
    if args.rejects:
        write_frame(res.rejects, args.rejects)
        print(f"wrote {res.rejects.height:,} rejects to {args.rejects}")
    return 0


def _cmd_timeline(args: argparse.Namespace) -> int:
    from pmkit.incident import Incident

    inc = Incident.load(args.incident)
    tl = inc.timeline()
    if args.output:
        write_frame(tl.frame, args.output)
        print(f"wrote {tl.frame.height:,} events ({tl.key().frame.height:,} key) to {args.output}")
        return 0
    shown = tl if args.all else tl.key()
    print(f"{inc.spec.id}: {shown.frame.height:,} {'events' if args.all else 'key events'} (UTC)")
    for r in shown.frame.iter_rows(named=True):
        msg = " ".join(r["message"].split())
        if len(msg) > 110:
            msg = msg[:107] + "..."
        folded = f" (x{r['count']})" if r["count"] > 1 else ""
        print(f"{r['ts']:%Y-%m-%d %H:%M:%S}  {r['source']:<14} {r['kind']:<6} {msg}{folded}")
    return 0


def _cmd_analyze(args: argparse.Namespace) -> int:
    import json

    from pmkit.incident import Incident
    from pmkit.pipeline import analyze
    from pmkit.timeutil import fmt_duration

    result = analyze(Incident.load(args.incident), convention=args.convention)
    doc = result.to_dict()
    if args.json:
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return 0
    print(f"{doc['incident']['id']}: {doc['incident']['title']}  (SLI: {doc['incident']['sli']})")
    print()
    import polars as pl

    frame = result.milestones.to_frame().with_columns(pl.col("ts").dt.strftime("%Y-%m-%d %H:%M:%S"))
    print(format_table(frame, ["milestone", "ts", "method"]))
    print()
    mx = doc["mttx"]
    print(
        "  ".join(
            f"{k.upper() if k != 'duration' else 'duration'} {fmt_duration(mx[k], 'terse', missing='?')}"
            for k in ("mttd", "mtta", "mttm", "mttr", "duration")
        )
        + f"  (from {'impact start' if mx['convention'] == 'impact' else 'detection'})"
    )
    imp = doc["impact"]
    if imp["failed_requests"] is not None:
        users = "unknown" if imp["affected_users"] is None else f"{imp['affected_users']:,}"
        print(
            f"impact: {imp['failed_requests']:,.0f} of {imp['total_requests']:,.0f} requests failed "
            f"({(imp['error_ratio'] or 0):.1%}), peak {(imp['peak_error_ratio'] or 0):.0%}, affected users {users}"
        )
    for s in doc["slo"]:
        line = f"SLO {s['name']} {s['objective']}%/{s['period']}: budget {s['budget_minutes']:.1f} min, "
        line += f"consumed {s['consumed']:.1%}" if s["consumed"] is not None else "consumed unknown"
        if s["declared"]:
            line += f" (declared in the report: {s['declared']['bad_minutes']:g} min = {s['declared']['consumed']:.1%})"
        print(line)
    sev = doc["severity"]
    print(
        f"severity: {sev['final']} (classified {sev['level']} by policy {sev['policy']!r}"
        + (f"; declared {sev['declared']}, mismatch" if sev.get("mismatch") else "")
        + ")"
    )
    if doc["suspects"]:
        top = doc["suspects"][0]
        print(f"top change suspect: {top.get('service')} {top.get('version') or top.get('ref') or ''} at {top['ts']}")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from pmkit.incident import Incident
    from pmkit.pipeline import analyze

    report = analyze(Incident.load(args.incident)).gates()
    print(report.to_text())
    return 0 if report.ok else 1


def _cmd_comms(args: argparse.Namespace) -> int:
    from pmkit.incident import Incident
    from pmkit.pipeline import analyze
    from pmkit.report.comms import drafts

    result = analyze(Incident.load(args.incident))
    texts = drafts(result, args.at)
    if not args.output:
        for name, text in texts.items():
            print(f"===== {name} =====")
            print(text.rstrip())
            print()
        return 0
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (out / name).write_text(text, encoding="utf-8")
        print(f"wrote {out / name}")
    return 0


def _cmd_formats(args: argparse.Namespace) -> int:
    from pmkit.sources.registry import formats

    infos = formats(args.kind)
    if not infos:
        raise PmkitError(f"no formats registered for kind {args.kind!r}")
    kind = None
    for info in infos:
        if info.kind != kind:
            kind = info.kind
            print(f"{kind}:")
        sniffed = "" if info.sniff is None else "  (sniffed)"
        print(f"  {info.format:<20} {info.description}{sniffed}")
        for line in info.example.splitlines()[:3]:
            print(f"  {'':<20}   e.g. {line}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from pmkit._version import __version__

    parser = argparse.ArgumentParser(
        prog="pmkit",
        description="Postmortem analysis workbench: load incident evidence into one UTC timeline.",
    )
    parser.add_argument("--version", action="version", version=f"pmkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("new", help="scaffold an incident folder with a commented incident.yaml")
    p.add_argument("id", metavar="INC-ID", help="incident id, e.g. INC-2025-0142")
    p.add_argument("--dir", default=".", help="parent folder (default: current folder)")
    p.set_defaults(func=_cmd_new)

    p = sub.add_parser(
        "load",
        help="load one source or a whole incident folder and report what was parsed",
        description="Load SOURCE (a file, glob or folder) with --kind/--format, or an incident folder (incident.yaml) as a whole.",
    )
    p.add_argument("source", metavar="SOURCE", help="file, glob or folder; or an incident folder")
    p.add_argument("--kind", choices=["logs", "metrics", "deploys", "chat", "alerts"])
    p.add_argument("--format", help="format name (`pmkit formats`); sniffed from the first lines when omitted")
    p.add_argument("--timezone", help="IANA zone for naive timestamps (default UTC)")
    p.add_argument("--ts-format", dest="ts_format", help="strftime format, or epoch, epoch_ms, epoch_us, epoch_ns")
    p.add_argument("--year", type=int, help="year for year-less timestamps (syslog RFC 3164)")
    p.add_argument("--pattern", help="grok expression (format grok)")
    p.add_argument("--service", help="service the events belong to")
    p.add_argument(
        "--field", action="append", metavar="COLUMN=NAME", help="map a column to the file's field (repeatable)"
    )
    p.add_argument(
        "--option",
        action="append",
        metavar="KEY=VALUE",
        help="a format option, as under options: in incident.yaml (repeatable)",
    )
    p.add_argument("--name", help="source name (default: the file name)")
    p.add_argument("-o", "--output", metavar="OUT", help="write the frame to OUT.parquet, OUT.csv or OUT.jsonl")
    p.add_argument("--rejects", metavar="REJ", help="write the rejects to REJ.csv (or .parquet/.jsonl)")
    p.add_argument(
        "--no-redact",
        action="store_true",
        help="keep secrets and personal data in what one source's load writes (redacted by default)",
    )
    p.add_argument(
        "--allow-outside",
        action="store_true",
        help="let the incident's sources read files outside its folder (.., absolute paths, symlinks)",
    )
    p.set_defaults(func=_cmd_load)

    p = sub.add_parser("timeline", help="print the incident's key events in UTC order, or write the whole timeline")
    p.add_argument("incident", metavar="INCIDENT_DIR")
    p.add_argument(
        "-o", "--output", metavar="FILE", help="write every event (with count and key) to .parquet/.csv/.jsonl"
    )
    p.add_argument("--all", action="store_true", help="print every event, not only the key ones")
    p.set_defaults(func=_cmd_timeline)

    p = sub.add_parser("analyze", help="milestones, MTTx, impact, SLO budget, severity, suspects, signatures, cadence")
    p.add_argument("incident", metavar="INCIDENT_DIR")
    p.add_argument("--json", action="store_true", help="print the whole analysis as JSON (docs/analyze-json.md)")
    p.add_argument(
        "--convention",
        choices=["impact", "detection"],
        default="impact",
        help="measure MTTM/MTTR from impact start or detection",
    )
    p.set_defaults(func=_cmd_analyze)

    p = sub.add_parser("check", help="the postmortem's quality gates; exits 1 when any fails")
    p.add_argument("incident", metavar="INCIDENT_DIR")
    p.set_defaults(func=_cmd_check)

    from pmkit.report.cli_render import add_demo_parser, add_render_parser

    add_render_parser(sub)
    add_demo_parser(sub)

    p = sub.add_parser(
        "comms", help="draft the internal status update, the status-page update and the resolution announcement"
    )
    p.add_argument("incident", metavar="INCIDENT_DIR")
    p.add_argument("--at", help="the moment the updates speak for (ISO time, UTC); default: the latest status moment")
    p.add_argument("-o", "--output", metavar="OUTDIR", help="write the drafts as Markdown files into OUTDIR")
    p.set_defaults(func=_cmd_comms)

    p = sub.add_parser("formats", help="list every kind/format pmkit reads, with an example of each")
    p.add_argument("--kind", choices=["logs", "metrics", "deploys", "chat", "alerts"], help="only this kind")
    p.set_defaults(func=_cmd_formats)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    stdout = sys.stdout
    sys.stdout = _SafeStream(stdout)  # type: ignore[assignment]
    try:
        return int(args.func(args))
    except PmkitError as exc:
        print(terminal_safe(f"pmkit: error: {exc}"), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug of ours: say so in one line; PMKIT_DEBUG=1 shows the traceback
        if os.environ.get("PMKIT_DEBUG"):
            raise
        print(
            terminal_safe(
                f"pmkit: internal error: {type(exc).__name__}: {exc}\n"
                "This is a bug in pmkit; run again with PMKIT_DEBUG=1 for the traceback and report it."
            ),
            file=sys.stderr,
        )
        return 3
    finally:
        sys.stdout.flush()
        sys.stdout = stdout


if __name__ == "__main__":
    raise SystemExit(main())
