"""``pmkit render --watch``: render, then re-render an incident whenever its incident.yaml or evidence changes.

For an author editing the narrative in one window and reading the document in another. Polling, no new
dependency: every :data:`INTERVAL` seconds each watched file's ``(mtime_ns, size)`` is read; a change is
acted on once the files have stayed the same for :data:`DEBOUNCE` seconds (an editor's save, a copy in
progress: one render, not one per write). The watched files of an incident are its ``incident.yaml``, every
file under its folder (hidden files and the output folder left out) and the files its sources name outside
the folder (``allow_outside``); the set is read again after each render, so a new source is watched too.

Each render prints one line: what changed, how long it took, where the document was written, or the error
(a broken incident.yaml is reported and the watch goes on: fix it and save). Ctrl-C ends the watch with
exit code 0.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pmkit.errors import PmkitError

INTERVAL = 0.25  # seconds between polls
DEBOUNCE = 0.3  # seconds the files must stay unchanged before a render

Snapshot = dict[Path, tuple[int, int]]


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def watched_files(incident_dir: Path, output_dir: Path) -> list[Path]:
    """The files whose change re-renders the incident (see the module doc)."""
    root = incident_dir.resolve()
    out = output_dir.resolve()
    files = {root / "incident.yaml"}
    for p in root.rglob("*"):
        rel = p.relative_to(root).parts
        if any(x.startswith(".") for x in rel) or p == out or out in p.parents:
            continue
        if p.is_file():
            files.add(p)
    try:  # evidence outside the folder that the sources name (allow_outside)
        from pmkit.incident import load_spec, request_for

        spec = load_spec(root)
        for i, src in enumerate(spec.sources):
            try:
                files.update(f.resolve() for f in request_for(src, root, spec, index=i, allow_outside=True).files())
            except PmkitError:
                continue
    except Exception:  # a broken incident.yaml: the folder's files are watched; the render reports the error
        pass
    return sorted(files)


def snapshot(files: Sequence[Path]) -> Snapshot:
    """``(mtime_ns, size)`` of each file that exists."""
    return {f: st for f in files if (st := _stat(f)) is not None}


def changes(before: Snapshot, after: Snapshot, root: Path) -> list[str]:
    """The files that were changed, added or removed, as paths relative to ``root`` where they are under it."""

    def name(p: Path) -> str:
        return p.relative_to(root).as_posix() if p.is_relative_to(root) else str(p)

    changed = [name(p) for p in after if before.get(p) != after[p]]
    changed += [f"{name(p)} (removed)" for p in before if p not in after]
    return sorted(changed)


@dataclass
class _Watched:
    incident_dir: Path
    files: list[Path]
    state: Snapshot


def _said(names: list[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def watch(
    incident_dirs: Sequence[str | Path],
    output_dir: str | Path,
    render_one: Callable[[Path], Any],
    *,
    interval: float = INTERVAL,
    debounce: float = DEBOUNCE,
    echo: Callable[[str], None] = print,
) -> int:
    """Render each incident once, then on every change until Ctrl-C (exit code 0).

    ``render_one(incident_dir)`` renders one incident and returns a
    :class:`pmkit.report.render.RenderResult`; an exception it raises is reported like a failed render.
    """
    out = Path(output_dir)
    items = [_Watched(Path(d).resolve(), [], {}) for d in incident_dirs]
    try:
        for item in items:
            _render(item, out, render_one, "first render", echo)
        echo(f"watching {len(items)} incident(s) for changes every {interval:g} s; Ctrl-C to stop")
        while True:
            time.sleep(interval)
            for item in items:
                now = snapshot(watched_files(item.incident_dir, out)) if _any_new(item) else snapshot(item.files)
                if now == item.state:
                    continue
                settled = _settle(item, now, out, debounce)
                what = changes(item.state, settled, item.incident_dir)
                _render(item, out, render_one, f"{_said(what)} changed", echo)
    except KeyboardInterrupt:
        from pmkit.report.figures_png import stop_browser

        stop_browser()
        echo("stopped watching")
        return 0


def _any_new(item: _Watched) -> bool:
    """Whether the folder holds a file not watched yet (a new evidence file): a cheap listing of names."""
    known = set(item.files)
    root = item.incident_dir
    return any(
        p.is_file() and p not in known and not any(x.startswith(".") for x in p.relative_to(root).parts)
        for p in root.rglob("*")
    )


def _settle(item: _Watched, now: Snapshot, out: Path, debounce: float) -> Snapshot:
    """Wait until the files stay unchanged for ``debounce`` seconds; their state then."""
    while True:
        time.sleep(debounce)
        later = snapshot(watched_files(item.incident_dir, out))
        if later == now:
            return later
        now = later


def _render(
    item: _Watched, out: Path, render_one: Callable[[Path], Any], why: str, echo: Callable[[str], None]
) -> None:
    """Render one incident and print one line; the watched files are read again afterwards."""
    item.files = watched_files(item.incident_dir, out)
    item.state = snapshot(item.files)
    t0 = time.perf_counter()
    try:
        res = render_one(item.incident_dir)
        error = res.error
        if error and getattr(res, "evalue", ""):  # the notebook's exception, not the cell it was raised in
            error = f"{res.ename}: {res.evalue}"
        where = res.files.get("html") or res.files.get("md") or next(iter(res.files.values()), res.output_dir)
    except KeyboardInterrupt:
        raise
    except PmkitError as exc:
        error, where = str(exc), None
    except Exception as exc:  # a bug while rendering: said in one line, the watch goes on
        error, where = f"{type(exc).__name__}: {exc}", None
    took = time.perf_counter() - t0
    stamp = time.strftime("%H:%M:%S")
    name = item.incident_dir.name
    if error:
        first = " ".join(str(error).split()) or "failed"
        echo(f"[{stamp}] {name}: {why}; render FAILED after {took:.1f} s: {first} (still watching)")
    else:
        echo(f"[{stamp}] {name}: {why}; rendered in {took:.1f} s: {where}")
