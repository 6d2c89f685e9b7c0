"""The ``pmkit`` command: the parser and :func:`main`, the console-script entry point.

Each subcommand is a thin layer over the library; the handlers are in :mod:`pmkit.cli_commands`
(``render`` and ``demo`` in :mod:`pmkit.report.cli_render`). :func:`main` runs one with the
command's stdout passed through :func:`terminal_safe` and turns errors into exit codes.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
from collections.abc import Sequence
from typing import TextIO

from pmkit import cli_commands as commands
from pmkit.errors import PmkitError

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
    p.add_argument(
        "--scan",
        metavar="DIR",
        help="sniff every file under DIR (logs, exports, a Slack export zip, alert payloads), link them in and "
        "propose the sources in incident.yaml, with why each was chosen and what was skipped",
    )
    p.set_defaults(func=commands.cmd_new)

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
    p.add_argument(
        "--from",
        dest="window_from",
        metavar="TIME",
        help="read logs and metrics from TIME (ISO 8601; naive = UTC); with --to, instead of the incident's window",
    )
    p.add_argument("--to", dest="window_to", metavar="TIME", help="read logs and metrics up to TIME (with --from)")
    p.add_argument(
        "--whole", action="store_true", help="read the whole files, ignoring the incident's window (and --from/--to)"
    )
    p.set_defaults(func=commands.cmd_load)

    p = sub.add_parser(
        "timeline",
        help="print the curated timeline (the document's key events, in UTC order), or every event, or write them",
    )
    p.add_argument("incident", metavar="INCIDENT_DIR")
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write every event (with count, key, id, line, kept and why) to .parquet/.csv/.jsonl",
    )
    p.add_argument("--all", action="store_true", help="print every event, not only the curated ones")
    p.add_argument(
        "--ids",
        action="store_true",
        help="print each event's id (for timeline: star/hide/annotate in incident.yaml) and why it is kept or left "
        "out; with --all, of every event, else of the key events",
    )
    p.set_defaults(func=commands.cmd_timeline)

    p = sub.add_parser("analyze", help="milestones, MTTx, impact, SLO budget, severity, suspects, signatures, cadence")
    p.add_argument("incident", metavar="INCIDENT_DIR")
    p.add_argument("--json", action="store_true", help="print the whole analysis as JSON (docs/analyze-json.md)")
    p.add_argument(
        "--convention",
        choices=["impact", "detection"],
        default="impact",
        help="measure MTTM/MTTR from impact start or detection",
    )
    p.set_defaults(func=commands.cmd_analyze)

    p = sub.add_parser("check", help="the postmortem's quality gates; exits 1 when any fails")
    p.add_argument("incident", metavar="INCIDENT_DIR")
    p.set_defaults(func=commands.cmd_check)

    from pmkit.report.cli_render import add_demo_parser, add_render_parser

    add_render_parser(sub)
    add_demo_parser(sub)

    from pmkit.report.cli_portfolio import add_portfolio_parser

    add_portfolio_parser(sub)

    from pmkit.report.cli_actions import add_actions_parser

    add_actions_parser(sub)

    p = sub.add_parser(
        "comms", help="draft the internal status update, the status-page update and the resolution announcement"
    )
    p.add_argument("incident", metavar="INCIDENT_DIR")
    p.add_argument("--at", help="the moment the updates speak for (ISO time, UTC); default: the latest status moment")
    p.add_argument("-o", "--output", metavar="OUTDIR", help="write the drafts as Markdown files into OUTDIR")
    p.set_defaults(func=commands.cmd_comms)

    p = sub.add_parser(
        "grok",
        help="grok workbench: why lines do not match a pattern, the pattern library, a suggested pattern",
        description="pmkit grok PATTERN FILE: for each failing line, how far the pattern matched and which element "
        "failed (exit 1 when some line fails). pmkit grok --list [NAME]: every library pattern with its regex and an "
        "example. pmkit grok --suggest FILE: a pattern for a sample of FILE's lines, verified on them.",
    )
    p.add_argument(
        "pattern",
        nargs="?",
        metavar="PATTERN",
        help="grok expression, e.g. '%%{TIMESTAMP_ISO8601:ts} %%{GREEDYDATA:message}'",
    )
    p.add_argument("file", nargs="?", metavar="FILE", help="log file (or - for stdin)")
    p.add_argument("--list", nargs="?", const="", metavar="NAME", help="list the library (names containing NAME)")
    p.add_argument("--markdown", action="store_true", help="with --list: a Markdown table (docs/grok-patterns.md)")
    p.add_argument("--suggest", metavar="FILE", help="suggest a pattern for the first lines of FILE")
    p.add_argument(
        "--anywhere", action="store_true", help="match anywhere in the line, as Logstash does (default: the whole line)"
    )
    p.add_argument("--dotall", action="store_true", help="'.' also matches newlines (as Logstash)")
    p.add_argument(
        "--define", action="append", metavar="NAME=REGEX", help="a custom pattern, as under patterns: (repeatable)"
    )
    p.add_argument("--limit", type=int, default=10, help="failure points shown (default 10)")
    p.set_defaults(func=commands.cmd_grok)

    p = sub.add_parser(
        "pull",
        help="pull the incident window from a live system into the incident folder (prometheus)",
        description="Run a query_range over the incident window against a live Prometheus, save the response and "
        "the query into INCIDENT_DIR/metrics/ and record the source (with its pull: record) in incident.yaml; "
        "the render then works offline.",
    )
    p.add_argument("system", choices=["prometheus"], help="what to pull from")
    p.add_argument("url", metavar="URL", help="the server, e.g. http://localhost:9090 (credentials are never recorded)")
    p.add_argument("--query", required=True, help="the PromQL expression")
    p.add_argument("--dir", default=".", metavar="INCIDENT_DIR", help="the incident folder (default: current folder)")
    p.add_argument(
        "--from",
        dest="window_from",
        metavar="TIME",
        help="start (ISO 8601; naive = UTC); default: the incident's window",
    )
    p.add_argument("--to", dest="window_to", metavar="TIME", help="end (with --from)")
    p.add_argument("--step", help="resolution, e.g. 15s, 1m; default: the finest that stays under 10,000 points")
    p.add_argument("--name", help="source and file name (default: from the query)")
    p.add_argument(
        "--auth-env",
        dest="auth_env",
        metavar="VAR",
        help="environment variable holding the Authorization header value (its name is recorded, never its value)",
    )
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the answer (default 60)")
    p.set_defaults(func=commands.cmd_pull)

    p = sub.add_parser("formats", help="list every kind/format pmkit reads, with an example of each")
    p.add_argument("--kind", choices=["logs", "metrics", "deploys", "chat", "alerts"], help="only this kind")
    p.set_defaults(func=commands.cmd_formats)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    from pmkit.report.cli_actions import default_list

    args = parser.parse_args(default_list(sys.argv[1:] if argv is None else argv))
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
    except BrokenPipeError:  # `pmkit timeline --all | head`: the reader left; end quietly like a SIGPIPE'd tool
        _leave_quietly(stdout)
        return 141
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
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _leave_quietly(stdout)
        sys.stdout = stdout


def _leave_quietly(stdout: TextIO) -> None:
    """Point the closed stdout at /dev/null so the interpreter's final flush does not complain (the recipe
    of Python's signal docs, "Note on SIGPIPE")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (a test's StringIO)
        pass


if __name__ == "__main__":
    raise SystemExit(main())
