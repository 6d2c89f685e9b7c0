"""Render incidents to documents: papermill executes the postmortem notebook, nbconvert exports it.

``render(incident_dirs, output_dir, to=("html", "md"), jobs=1) -> list[RenderResult]`` writes,
for each incident, ``OUTDIR/<incident id>/``:

- ``postmortem.html``: self-contained (plotly.js embedded once, nothing fetched from the network),
  code and parameters hidden, styled for screen and print (template ``templates/pmkit-html``);
  the HTML of every Markdown output is cleaned by an allowlist and the page by a last pass
  (:mod:`pmkit.report.sanitize`), so no link, image, script or handler in the evidence survives;
- ``postmortem.md``: the same document in Markdown (template ``templates/pmkit-md``); its figures
  are PNG files in ``figures/`` drawn by kaleido with the local Chromium (where there is none, a
  line names the figure and points to the interactive HTML);
- ``postmortem.ipynb``: the executed notebook, kept as the record;
- the seed file set ``incident.md``, ``timeline.md``, ``postmortem.md``, ``action-items.md``
  (``postmortem.md`` is the Markdown export above when ``md`` is rendered).

Incidents run in ``jobs`` worker processes (one kernel each at a time). A failing incident does
not stop the others: its result carries the failing cell and the exception; the executed
notebook is kept for it. The same inputs give the same bytes: nothing in a document depends on
when, where or in which order it was rendered.

This module runs incidents (one: :func:`render_one`, many in worker processes: :func:`render`)
and writes the seed files; the export to HTML and Markdown is :mod:`pmkit.report.export`, the
Markdown's PNG figures :mod:`pmkit.report.figures_png`.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pmkit.errors import PmkitError
from pmkit.incident import incident_header
from pmkit.report.export import FORMATS, export, prepare_in_background
from pmkit.report.extras import require
from pmkit.report.figures_png import warm_browser
from pmkit.report.run import (
    RECORD_NAME,
    RenderError,
    default_notebook,
    run,
    skip_slow_imports,
)

SEED_FILES = ("incident.md", "timeline.md", "postmortem.md", "action-items.md")


@dataclass(frozen=True)
class RenderResult:
    """What rendering one incident produced, or why it failed.

    ``files`` maps a name (``html``, ``md``, ``ipynb`` and the seed file names) to the file
    written. On failure ``error`` is one line; ``cell``, ``ename`` and ``evalue`` name the failing
    cell and the exception raised in it (``cell`` is None when no cell was at fault), and
    ``files["ipynb"]`` is the executed notebook with its traceback when there is one.
    """

    incident_dir: Path
    incident_id: str
    output_dir: Path
    files: dict[str, Path] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None
    cell: int | None = None
    ename: str = ""
    evalue: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None

    def summary(self) -> str:
        """One line for a terminal: where the files are, or what failed and where to look."""
        if self.ok:
            main = self.files.get("html") or self.files.get("md") or self.files.get("ipynb")
            return f"ok      {self.incident_id}: {main} ({self.seconds:.1f} s)"
        where = f" (executed notebook: {self.files['ipynb']})" if "ipynb" in self.files else ""
        return f"FAILED  {self.incident_id}: {self.error}{where}"


def seed_files(result: Any) -> dict[str, str]:
    """The seed 000 file set for an :class:`~pmkit.pipeline.Analysis` (or a built document): name -> text."""
    if hasattr(result, "files"):
        return result.files()
    from pmkit.report import document

    return document.build(result).files()


def write_seed_files(namespace: Mapping[str, Any], output_dir: str | Path) -> list[Path]:
    """Write the seed file set from a notebook's globals (called by the cell ``run`` appends).

    Uses the notebook's own document or analysis (the first ``Document`` or ``Analysis`` among
    its variables), so nothing is analysed twice; a notebook without either gets a fresh
    analysis of its ``incident_dir``.
    """
    from pmkit.pipeline import Analysis, analyze
    from pmkit.report.document import Document

    values = list(namespace.values())
    source: Any = next((v for v in values if isinstance(v, Document)), None)
    if source is None:
        source = next((v for v in values if isinstance(v, Analysis)), None)
    if source is None:
        from pmkit.incident import Incident

        inc = Incident.load(namespace["incident_dir"])
        source = analyze(inc, convention=namespace.get("convention", "impact"))
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in seed_files(source).items():
        path = out / name
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written


def render_one(
    incident_dir: str | Path,
    output_dir: str | Path,
    *,
    to: Sequence[str] = ("html", "md"),
    notebook: str | Path | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> RenderResult:
    """Execute and export one incident into ``output_dir/<incident id>/``; never raises for the incident's own faults."""
    t0 = time.perf_counter()
    inc = Path(incident_dir)
    ident, title = incident_header(inc)
    out = Path(output_dir) / ident
    files: dict[str, Path] = {}
    for stale in (
        *FORMATS.values(),
        *SEED_FILES,
    ):  # a failed re-render must not leave the last good one looking current
        (out / stale).unlink(missing_ok=True)
    # While the kernel works, this process only waits on its sockets: compile the templates meanwhile.
    # Everything is imported and built here first, so the thread imports nothing: two threads importing
    # jupyter_client's or nbconvert's circular modules at once can see them half-initialised.
    import papermill  # noqa: F401
    from jupyter_client import AsyncKernelManager  # noqa: F401

    warm = prepare_in_background(to)
    browser = warm_browser() if "md" in to else None  # started once per process, while the kernel works
    try:
        record = run(inc, out, notebook=notebook, parameters=parameters)
        warm.join()
        if browser is not None:
            browser.join()
        files["ipynb"] = record
        files.update(export(record, out, to=to, title=f"Postmortem {ident}: {title}".rstrip(": ")))
        for name in SEED_FILES:
            if (out / name).is_file():
                files.setdefault(name, out / name)
    except RenderError as exc:
        if exc.notebook is not None and exc.notebook.is_file():
            files["ipynb"] = exc.notebook
        return RenderResult(inc, ident, out, files, time.perf_counter() - t0, str(exc), exc.cell, exc.ename, exc.evalue)
    except Exception as exc:  # a spec, template or file-system fault: reported for this incident only
        return RenderResult(inc, ident, out, files, time.perf_counter() - t0, f"{type(exc).__name__}: {exc}")
    return RenderResult(inc, ident, out, files, time.perf_counter() - t0)


def duplicate_ids(dirs: Sequence[Path]) -> dict[int, str]:
    """Positions of folders whose incident id an earlier folder already has, with the message to report."""
    seen: dict[str, Path] = {}
    out: dict[int, str] = {}
    for i, d in enumerate(dirs):
        ident, _ = incident_header(d)
        if ident in seen:
            out[i] = f"same incident id {ident!r} as {seen[ident]}: it would overwrite that incident's output"
        else:
            seen[ident] = d
    return out


def _worker_init(polars_threads: int) -> None:
    """Share the cores between workers: each kernel (a child of this worker) gets its part of polars' pool.

    The worker is pmkit's own process, so it also skips jsonschema's slow optional import
    (:func:`pmkit.report.run.skip_slow_imports`), as the kernels do.
    """
    os.environ["POLARS_MAX_THREADS"] = str(polars_threads)
    skip_slow_imports()


def render(
    incident_dirs: Iterable[str | Path],
    output_dir: str | Path,
    *,
    to: Sequence[str] = ("html", "md"),
    jobs: int = 1,
    progress: bool = True,
    notebook: str | Path | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> list[RenderResult]:
    """Render every incident folder into ``output_dir/<incident id>/``; results in the order given.

    ``jobs`` worker processes render incidents side by side (each runs its own kernel);
    ``progress`` shows a bar with incidents done and failed on stderr. Two folders with the same
    incident id would overwrite each other: the second is reported as failed instead.

    Workers are spawned (not forked: polars' threads do not survive a fork), so a script that
    calls this with ``jobs`` > 1 must do so under ``if __name__ == "__main__":``, as
    :mod:`multiprocessing` requires; notebooks and ``pmkit render`` need nothing.
    """
    require("pmkit.render")
    dirs = [Path(d) for d in incident_dirs]
    to = tuple(dict.fromkeys(to))
    for fmt in to:
        if fmt not in FORMATS:
            raise PmkitError(f"unknown output format {fmt!r}; expected one of {', '.join(FORMATS)}")
    nb_path = Path(notebook).resolve() if notebook else default_notebook()
    if not nb_path.is_file():
        raise PmkitError(f"{notebook}: no such notebook")
    for d in dirs:
        if not (d / "incident.yaml").is_file():
            raise PmkitError(f"{d}: not an incident folder (no incident.yaml)")
    out = Path(output_dir)
    results: dict[int, RenderResult] = {}
    duplicates = duplicate_ids(dirs)
    for i, message in duplicates.items():
        ident, _ = incident_header(dirs[i])
        results[i] = RenderResult(dirs[i], ident, out / ident, error=message)
    todo = [i for i in range(len(dirs)) if i not in duplicates]

    from tqdm.auto import tqdm

    bar = tqdm(total=len(dirs), unit="incident", desc="render", disable=not progress, file=sys.stderr, leave=True)
    failed = sum(1 for r in results.values() if not r.ok)
    bar.update(len(results))
    bar.set_postfix(failed=failed)

    def done(i: int, res: RenderResult) -> None:
        nonlocal failed
        results[i] = res
        failed += not res.ok
        bar.set_postfix(failed=failed, last=res.incident_id)
        bar.update(1)

    kwargs: dict[str, Any] = {"to": to, "notebook": nb_path, "parameters": parameters}
    workers = max(1, min(jobs, len(todo)))
    try:
        if workers == 1:
            for i in todo:
                done(i, render_one(dirs[i], out, **kwargs))
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed

            threads = max(1, (os.cpu_count() or 1) // workers)
            with ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context("spawn"),  # no fork of a process with polars' threads
                initializer=_worker_init,
                initargs=(threads,),
            ) as pool:
                futures = {pool.submit(render_one, dirs[i], out, **kwargs): i for i in todo}
                for fut in as_completed(futures):
                    i = futures[fut]
                    try:
                        res = fut.result()
                    except Exception as exc:  # the worker process itself died
                        d = dirs[i]
                        ident, _ = incident_header(d)
                        res = RenderResult(d, ident, out / ident, error=f"worker failed: {type(exc).__name__}: {exc}")
                    done(i, res)
    finally:
        bar.close()
    return [results[i] for i in range(len(dirs))]


__all__ = [
    "RECORD_NAME",
    "SEED_FILES",
    "RenderResult",
    "duplicate_ids",
    "incident_header",
    "render",
    "render_one",
    "seed_files",
    "write_seed_files",
]
