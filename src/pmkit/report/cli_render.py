"""``pmkit render`` and ``pmkit demo``: the batch front of :func:`pmkit.report.render.render`.

``cli.py`` calls :func:`add_render_parser` and :func:`add_demo_parser` on its subparsers; each
sets ``func`` to a handler that returns the exit code (non-zero when any incident failed).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pmkit.errors import PmkitError
from pmkit.report.cli_public import audiences
from pmkit.report.extras import MissingExtraError, require
from pmkit.report.run import skip_slow_imports

DEFAULT_OUT = "out"


def _formats(value: str) -> tuple[str, ...]:
    from pmkit.report.export import FORMATS

    items = tuple(dict.fromkeys(v.strip().lower() for v in value.split(",") if v.strip()))
    bad = [v for v in items if v not in (*FORMATS, "pdf")]  # pdf: printed from the HTML (report/pdf.py)
    if bad or not items:
        raise argparse.ArgumentTypeError(f"{value!r}: expected a comma-separated list of {', '.join(FORMATS)}, pdf")
    return items


def _jobs(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: expected a whole number of workers, 1 or more")
    return n


def _report(results: list, output_dir: Path) -> int:
    """Print one line per incident (the files, or the failing cell and error); 1 when any failed."""
    ok = [r for r in results if r.ok]
    failed = [r for r in results if not r.ok]
    if ok:
        print(f"rendered {len(ok)} of {len(results)} incident(s) into {output_dir}/:")
        for r in ok:
            shown = [r.files[k] for k in ("html", "md", "ipynb") if k in r.files]
            shown += [p for k, p in r.files.items() if k not in ("html", "md", "ipynb") and p not in shown]
            print(f"  {r.incident_id} ({r.seconds:.1f} s): {r.output_dir}/")
            print("    " + "  ".join(p.name for p in shown))
    for r in failed:
        print(f"FAILED {r.incident_id} ({r.incident_dir}): {r.error}", file=sys.stderr)
        if "ipynb" in r.files:
            print(f"  executed notebook with the traceback: {r.files['ipynb']}", file=sys.stderr)
    if ok and "html" in ok[0].files:
        print(f"open {ok[0].files['html']} in a browser")
    return 1 if failed else 0


def _missing_extra(exc: MissingExtraError) -> int:
    """One line on stderr, as for every pmkit error, and exit code 2 (a usage problem, not a failed incident)."""
    print(f"pmkit: error: {exc}", file=sys.stderr)
    return exc.exit_code


def evidence_warnings(dirs: list[str] | list[Path]) -> list[str]:
    """One warning per incident folder that loads no evidence (the ``evidence`` gate failing), and one per
    source whose inputs were mostly rejected (a wrong format, :mod:`pmkit.sources.verdict`), said before
    rendering: such a document has no (or fewer) measured figures. A folder that does not load at all is left to the
    render, which reports its error."""
    from pmkit.analysis.gates import evidence_gate
    from pmkit.incident import Incident
    from pmkit.sources.verdict import report_warnings

    out = []
    for d in dirs:
        try:
            inc = Incident.load(d)
        except Exception:  # the render reports this folder's error with its failing cell
            continue
        gate = evidence_gate(inc.spec, inc.report, inc.events, inc.series, None)
        if not gate.passed:
            out.append(f"pmkit: warning: {d}: {gate.why}; the document will have no measured figures")
        out += [f"pmkit: warning: {d}: {w}" for w in report_warnings(inc.report)]
    return out


def _cmd_render(args: argparse.Namespace) -> int:
    try:
        require("pmkit render")
    except MissingExtraError as exc:
        return _missing_extra(exc)
    skip_slow_imports()
    from pmkit.report.cli_public import print_internal_pdfs, render_public
    from pmkit.report.pdf import require_browser
    from pmkit.report.render import render

    params = {"convention": args.convention} if args.convention else None
    if getattr(args, "watch", False):
        if "pdf" in args.to or tuple(args.audience) != ("internal",):
            raise PmkitError("--watch re-renders the internal document (html, md): leave out --to pdf and --audience")
        return _watch(args, params)
    if "pdf" in args.to:
        require_browser()  # before any work: one line saying how to get a browser
    for line in evidence_warnings(args.incidents):
        print(line, file=sys.stderr)
    out = Path(args.output)
    code = 0
    if "internal" in args.audience:
        to = tuple(f for f in args.to if f != "pdf") or ("html",)  # --to pdf alone: print from the HTML
        if "pdf" in args.to and "html" not in to:
            to = (*to, "html")
        results = render(
            args.incidents,
            out,
            to=to,
            jobs=args.jobs,
            progress=not args.no_progress,
            notebook=args.notebook,
            parameters=params,
        )
        if "pdf" in args.to:
            code, results = print_internal_pdfs(results, keep_html="html" in args.to)
        code |= _report(results, out)
    if "public" in args.audience:
        code |= render_public(args.incidents, out, to=args.to, convention=args.convention)
    return code


def _watch(args: argparse.Namespace, params: dict[str, str] | None) -> int:
    """``pmkit render --watch``: render each incident, then again on every change (:mod:`pmkit.report.watch`)."""
    from pmkit.report.render import render_one
    from pmkit.report.watch import watch

    if args.jobs != 1:
        raise PmkitError("--watch renders one incident at a time: leave out --jobs")
    out = Path(args.output)

    def one(incident_dir: Path) -> object:
        return render_one(incident_dir, out, to=args.to, notebook=args.notebook, parameters=params)

    return watch(args.incidents, out, one, echo=lambda line: print(line, flush=True))


def sample_dirs() -> list[Path]:
    """The bundled sample incident folders: ``pmkit/samples/*`` in a wheel, ``data/samples/*`` in a checkout."""
    from pmkit.report.run import resource_dir

    try:
        root = resource_dir("samples", checkout="data/samples")
    except PmkitError as exc:
        raise PmkitError("the bundled sample incidents (data/samples) are not installed; run from a checkout") from exc
    return sorted(p.parent for p in root.glob("*/incident.yaml"))


def _cmd_demo(args: argparse.Namespace) -> int:
    try:
        require("pmkit demo")
    except MissingExtraError as exc:
        return _missing_extra(exc)
    skip_slow_imports()
    from pmkit.report.render import render

    dirs = sample_dirs()
    if not dirs:
        raise PmkitError("no sample incidents found under data/samples")
    out = Path(args.output)
    jobs = args.jobs or max(1, min(len(dirs), os.cpu_count() or 1))
    print(f"rendering the {len(dirs)} sample incidents ({', '.join(d.name for d in dirs)}) to HTML and Markdown...")
    results = render(dirs, out, to=("html", "md"), jobs=jobs, progress=not args.no_progress)
    return _report(results, out)


def add_render_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """``pmkit render INCIDENT_DIR... [-o OUTDIR] [--to html,md] [--jobs N]``."""
    p = sub.add_parser(
        "render",
        help="run the postmortem notebook for each incident and write HTML, Markdown and the seed files",
        description=(
            "Execute the postmortem notebook (papermill) for each incident folder and export it (nbconvert) to "
            "OUTDIR/<incident id>/: postmortem.html (self-contained), postmortem.md, postmortem.ipynb (the executed "
            "record) and incident.md, timeline.md, action-items.md. An incident that fails is reported with its "
            "failing cell; the others are still rendered; the exit code is 1 when any failed."
        ),
    )
    p.add_argument("incidents", nargs="+", metavar="INCIDENT_DIR", help="incident folder(s) with an incident.yaml")
    p.add_argument(
        "-o", "--output", default=DEFAULT_OUT, metavar="OUTDIR", help=f"output folder (default {DEFAULT_OUT}/)"
    )
    p.add_argument(
        "--to",
        type=_formats,
        default=("html", "md"),
        metavar="html,md,pdf",
        help="formats (default html,md); pdf is printed by the local headless Chromium",
    )
    p.add_argument(
        "--audience",
        type=audiences,
        default=("internal",),
        metavar="internal,public",
        help="internal (default: the postmortem), public (the customer-facing postmortem.public.*, "
        "no internal names), or both",
    )
    p.add_argument(
        "-j", "--jobs", type=_jobs, default=1, metavar="N", help="incidents rendered side by side (default 1)"
    )
    p.add_argument(
        "--convention",
        choices=["impact", "detection"],
        help="measure MTTM/MTTR from impact start or detection (default: the notebook's)",
    )
    p.add_argument("--notebook", metavar="IPYNB", help="notebook to execute (default: pmkit's postmortem notebook)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--watch",
        action="store_true",
        help="keep running: re-render when incident.yaml or an evidence file changes (one line per render; Ctrl-C stops)",
    )
    p.set_defaults(func=_cmd_render)
    return p


def add_demo_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """``pmkit demo [-o OUTDIR]``: render the bundled sample incidents."""
    p = sub.add_parser(
        "demo",
        help="render the bundled sample incidents to HTML and Markdown and print where the files are",
        description="Render the sample incidents in data/samples, as `pmkit render` does, and print where the files are.",
    )
    p.add_argument(
        "-o", "--output", default=DEFAULT_OUT, metavar="OUTDIR", help=f"output folder (default {DEFAULT_OUT}/)"
    )
    p.add_argument(
        "-j", "--jobs", type=_jobs, default=None, metavar="N", help="worker processes (default: one per core)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_demo)
    return p
