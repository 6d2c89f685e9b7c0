"""The ``pmkit`` command's handlers: one function per subcommand, each a thin layer over the library.

:func:`pmkit.cli.build_parser` wires each subcommand to its handler here (``render`` and ``demo``
are :mod:`pmkit.report.cli_render`'s); a handler takes the parsed arguments and returns the exit
code. Libraries load inside the handlers, so ``pmkit --help`` imports none of them. Also the
terminal helpers they share: :func:`write_frame` (a frame to a file by its suffix) and
:func:`format_table`.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pmkit.errors import PmkitError

if TYPE_CHECKING:  # polars loads with the first command that needs it, not for --help
    import polars as pl

OUTPUT_SUFFIXES = (".parquet", ".csv", ".jsonl")


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


def cmd_new(args: argparse.Namespace) -> int:
    from pmkit.scaffold import new_incident

    if getattr(args, "scan", None):
        return _new_scanned(args)
    root = new_incident(args.id, args.dir)
    print(f"created {root}/incident.yaml and folders logs/ metrics/ deploys/ chat/ alerts/")
    print(f"next: copy the evidence in, list it under sources:, then `pmkit load {root}`")
    return 0


def _new_scanned(args: argparse.Namespace) -> int:
    """``pmkit new ID --scan DIR``: the incident folder with the evidence found under DIR (:mod:`pmkit.scan`)."""
    from pmkit.scaffold import check_new
    from pmkit.scan import scan_incident, summary

    root = check_new(args.id, args.dir)
    result, placed = scan_incident(args.id, Path(args.scan), root)
    print(f"scanned {args.scan}: {len(result.proposals)} sources proposed, {len(result.skipped)} files skipped")
    for line in summary(result):
        print(line)
    print(f"created {root}/incident.yaml ({placed} evidence files linked in; each source's comment says why)")
    print(f"next: check the sources and the suggested times in incident.yaml, then `pmkit load {root}`")
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


def _load_window(args: argparse.Namespace) -> tuple[dt.datetime, dt.datetime] | bool | None:
    """``pmkit load``'s window: ``--from``/``--to`` (ISO 8601, naive = UTC), None with ``--whole``, else True
    (the incident's window, :func:`pmkit.incident.load_window`)."""
    if args.whole:
        return None
    given = {"--from": args.window_from, "--to": args.window_to}
    if not any(given.values()):
        return True
    missing = [k for k, v in given.items() if not v]
    if missing:
        raise PmkitError(f"{missing[0]} is missing: give --from and --to together (ISO 8601 times)")
    times = []
    for opt, text in given.items():
        try:
            t = dt.datetime.fromisoformat(str(text).strip())
        except ValueError:
            raise PmkitError(f"{opt}: found {text!r}, expected an ISO 8601 time such as 2025-06-15T14:00:00Z") from None
        times.append(t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC))
    if times[1] <= times[0]:
        raise PmkitError(f"--to {times[1].isoformat()} is not after --from {times[0].isoformat()}")
    return (times[0], times[1])


def cmd_load(args: argparse.Namespace) -> int:
    from pmkit.incident import Incident
    from pmkit.sources.base import LoadRequest, run

    target = Path(args.source)
    window = _load_window(args)
    if target.is_dir() and (target / "incident.yaml").is_file() and not args.kind:
        inc = Incident.load(target, allow_outside=args.allow_outside, window=window)
        print(inc.summary())
        print()
        print(
            format_table(
                inc.report, ["source", "kind", "format", "unit", "inputs", "parsed", "rejected", "outside", "rows"]
            )
        )
        for r in inc.report.iter_rows(named=True):
            if r["notes"]:
                print(f"note: {r['source']}: {r['notes']}")
        _print_rejects(inc.rejects)
        from pmkit.sources.verdict import report_warnings

        loud = report_warnings(inc.report)
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
        return _say_warnings(loud)
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
        window=window if isinstance(window, tuple) else None,
    )
    res = run(req)
    if args.no_redact:
        print("note: redaction off for this load (--no-redact): secrets in the evidence are kept")
    print(
        f"{res.inputs:,} {res.unit} read: parsed {res.parsed:,}, rejected {res.rejected:,}"
        + (f", outside the window {res.outside:,}" if req.window else "")
        + f"; {res.frame.height:,} rows"
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
    from pmkit.sources.verdict import warning_of

    return _say_warnings([f"{req.source}: {w}"] if (w := warning_of(res.notes)) else [])


def _say_warnings(warnings: list[str]) -> int:
    """Print the mostly-rejected warnings last on stderr (where a terminal shows them after the load report)
    and give ``pmkit load``'s exit code: 1 when a source was mostly rejected, else 0."""
    import sys

    for w in warnings:
        print(f"pmkit: warning: {w}", file=sys.stderr)
    return 1 if warnings else 0


def cmd_timeline(args: argparse.Namespace) -> int:
    import sys

    from pmkit.incident import Incident
    from pmkit.pipeline import analyze

    inc = Incident.load(args.incident)
    cur = analyze(inc).curated
    frame = cur.frame
    for problem in cur.problems:
        print(f"warning: {problem}", file=sys.stderr)
    if args.output:
        write_frame(frame, args.output)
        print(f"wrote {frame.height:,} events ({cur.kept().height:,} curated) to {args.output}")
        return 0
    if args.all:
        shown, what = frame, "events"
    elif args.ids:
        shown, what = cur.candidates(), "key events (kept or left out)"
    else:
        shown, what = cur.kept(), "curated events"
    print(f"{inc.spec.id}: {shown.height:,} {what} (UTC); window {cur.window_text()}")
    if not args.all and not args.ids:
        print("(`--all` prints every event, `--ids` the ids and why each key event is kept or left out)")
    for r in shown.iter_rows(named=True):
        line = r["line"]
        if args.all and not args.ids:  # every event as it was logged, one line
            line = " ".join(r["message"].split())
            if len(line) > 110:
                line = line[:107] + "..."
        mark = "*" if r["star"] else " "
        text = f"{r['ts']:%Y-%m-%d %H:%M:%S}{mark} {r['source']:<14} {r['kind']:<6} {line}"
        if r["count"] > 1:
            text += f" (x{r['count']})"
        if r["note"]:
            text += f" -- note: {r['note']}"
        if args.ids:
            text = f"{r['id']}\n    {text}\n    {'kept' if r['kept'] else 'left out'}: {r['why']}"
        print(text)
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    import json

    from pmkit.incident import Incident
    from pmkit.pipeline import analyze
    from pmkit.timeutil import fmt_duration

    result = analyze(Incident.load(args.incident), convention=args.convention)
    doc = result.to_dict()
    from pmkit.sources.verdict import report_warnings

    loud = report_warnings(result.incident.report)
    if args.json:
        import sys

        for w in loud:  # stderr, so the JSON on stdout stays valid
            print(f"pmkit: warning: {w}", file=sys.stderr)
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return 0
    for w in loud:
        print(f"warning: {w}")
    if loud:
        print()
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


def cmd_check(args: argparse.Namespace) -> int:
    from pmkit.incident import Incident
    from pmkit.pipeline import analyze

    report = analyze(Incident.load(args.incident)).gates()
    print(report.to_text())
    return 0 if report.ok else 1


def cmd_comms(args: argparse.Namespace) -> int:
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


def cmd_formats(args: argparse.Namespace) -> int:
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
        if info.options:
            print(f"  {'':<20}   options: {', '.join(info.options)}")
    return 0


def _grok_lines(path: str) -> pl.Series:
    import sys

    import polars as pl

    from pmkit.sources import textio

    if path == "-":
        return pl.Series("line", sys.stdin.read().splitlines(), dtype=pl.String)
    p = Path(path)
    if not p.is_file():
        raise PmkitError(f"{path}: no such file")
    return textio.read_lines(p).get_column("line")


def cmd_grok(args: argparse.Namespace) -> int:
    """``pmkit grok``: debug a pattern on a file, list the library, or suggest a pattern."""
    from pmkit.report import grokview
    from pmkit.sources import grokbench
    from pmkit.sources.grokcore import GrokError

    if args.list is not None:
        entries = list(grokbench.catalog(args.list))
        if not entries:
            raise PmkitError(f"no library pattern name contains {args.list!r}")
        if args.markdown and not args.list:
            print(grokview.catalog_markdown(entries), end="")
        else:
            print(grokview.catalog_text(entries, markdown=args.markdown))
        return 0
    if args.suggest:
        print(grokview.suggestion_text(grokbench.suggest(_grok_lines(args.suggest))))
        return 0
    if not args.pattern or not args.file:
        raise PmkitError("pmkit grok needs PATTERN and FILE (or --list, or --suggest FILE)")
    custom: dict[str, str] = {}
    for item in args.define or []:
        name, sep, rx = item.partition("=")
        if not sep or not name.strip():
            raise PmkitError(f"--define {item!r}: expected NAME=REGEX")
        custom[name.strip()] = rx
    try:
        d = grokbench.debug(
            args.pattern, _grok_lines(args.file), patterns=custom, anchored=not args.anywhere, dotall=args.dotall
        )
    except GrokError as exc:
        raise PmkitError(str(exc)) from None
    print(grokview.debug_text(d, limit=args.limit))
    return 0 if d.failing == 0 else 1


def cmd_pull(args: argparse.Namespace) -> int:
    """``pmkit pull prometheus URL --query Q``: the incident window from a live Prometheus (:mod:`pmkit.pull`)."""
    from pmkit.pull import pull_prometheus

    window = None
    if args.window_from or args.window_to:
        args.whole = False
        got = _load_window(args)
        window = got if isinstance(got, tuple) else None
    out = pull_prometheus(
        args.dir,
        args.url,
        args.query,
        start=window[0] if window else None,
        end=window[1] if window else None,
        step=args.step,
        name=args.name,
        auth_env=args.auth_env,
        timeout_s=args.timeout,
    )
    pull = out.source["pull"]
    print(
        f"pulled {out.series:,} series, {out.samples:,} samples from {pull['url']} "
        f"({pull['start']} .. {pull['end']}, step {pull['step']})"
    )
    print(f"wrote {out.response} and {out.query_file}; source {out.source['name']!r} recorded in incident.yaml")
    return 0
