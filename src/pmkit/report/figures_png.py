"""Static PNG files of a notebook's plotly figures, drawn by kaleido with the local Chrome/Chromium.

The Markdown export links these (``figures/figure-N.png``); the HTML draws its figures itself.
One browser per process serves every figure of every incident (starting one costs ~2-3 s), and
:func:`warm_browser` starts it while the kernel runs the notebook. Without kaleido or a browser
nothing is drawn and the Markdown names each figure instead, pointing to the interactive HTML.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pmkit.report.kaleido_compat import use_keep_page
from pmkit.report.run import PLOTLY_MIME


def browser_path() -> str | None:
    """The Chrome/Chromium kaleido can drive for static figures: ``BROWSER_PATH``, else one on PATH; None if none."""
    path = os.environ.get("BROWSER_PATH") or next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
    )
    return path if path and Path(path).is_file() else None


_KALEIDO_LOCK = threading.Lock()


@functools.cache
def _start_kaleido() -> None:
    import atexit

    import kaleido

    use_keep_page()  # no page reload after every figure, where this kaleido allows it (kaleido_compat)
    kaleido.start_sync_server(silence_warnings=True)
    atexit.register(stop_browser)


def stop_browser() -> None:
    """Close kaleido's browser now, if this process started one (idempotent). Called at exit, and by
    ``pmkit render --watch`` on Ctrl-C before it returns: left to the interpreter's exit, the browser's
    profile folder could be removed while Chromium still wrote to it, a traceback after "stopped watching"."""
    with _KALEIDO_LOCK:
        if not _start_kaleido.cache_info().currsize:
            return
        import kaleido

        with contextlib.suppress(Exception):  # closing a browser that is already gone is not an error
            kaleido.stop_sync_server(silence_warnings=True)
        _start_kaleido.cache_clear()


def _kaleido_server() -> None:
    """One browser per process for every figure of every incident (starting one costs ~2-3 s)."""
    with _KALEIDO_LOCK:  # the warm-up thread and the figures' thread may both ask
        _start_kaleido()


def _figure_targets(nb: Any) -> list[tuple[Any, Any, str]]:
    """The notebook's plotly figure outputs, each with its figure object and its PNG file name."""
    import plotly.graph_objects as go

    targets: list[tuple[Any, Any, str]] = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            fig = (
                out.get("data", {}).get(PLOTLY_MIME)
                if out.get("output_type") in ("display_data", "execute_result")
                else None
            )
            if fig is not None:
                targets.append((out, go.Figure(fig), f"figures/figure-{len(targets) + 1}.png"))
    return targets


def _draw_pngs(figures: Sequence[Any], paths: Sequence[Path]) -> bool:
    """Draw figures to PNG files with kaleido's browser; False (nothing promised) when it cannot."""
    import plotly.io as pio

    try:
        _kaleido_server()
        with warnings.catch_warnings():  # "kopts ignored when using a server": we use the server on purpose
            warnings.simplefilter("ignore", UserWarning)
            pio.write_images(list(figures), list(paths), width=1000, height=450)
    except Exception:  # a static image is a convenience: without it the Markdown names the figure
        return False
    return True


def _can_draw_pngs() -> bool:
    browser = browser_path()
    if browser is None or importlib.util.find_spec("kaleido") is None:
        return False
    os.environ.setdefault("BROWSER_PATH", browser)
    return True


def warm_browser() -> threading.Thread | None:
    """Start kaleido's browser in a thread (a first figure costs ~2 s of browser start-up): the caller
    overlaps it with other work, e.g. the kernel running the notebook, and joins it before drawing."""
    if not _can_draw_pngs() or _start_kaleido.cache_info().currsize:
        return None
    import kaleido  # noqa: F401 - imported here, not in the thread (imports are not thread-safe)
    import plotly.graph_objects as go

    blank = go.Figure()
    tmp = Path(tempfile.mkdtemp(prefix="pmkit-warm-"))

    def warm() -> None:
        _draw_pngs([blank], [tmp / "warm.png"])
        shutil.rmtree(tmp, ignore_errors=True)

    thread = threading.Thread(target=warm, name="pmkit-browser-warm-up", daemon=True)
    thread.start()
    return thread


def write_figure_pngs(nb: Any, output_dir: Path, *, meanwhile: Callable[[], Any] | None = None) -> int:
    """PNG files of the notebook's plotly figures in ``output_dir/figures/``, for the Markdown export.

    Each figure's output gets ``metadata.filenames["image/png"]`` so the ``pmkit-md`` template links
    the image. Needs kaleido and a local Chrome/Chromium (kaleido cannot download one here); without
    them nothing is written and the Markdown names each figure instead, pointing to the HTML version.
    ``meanwhile`` runs in this thread while the browser draws (it must not change ``nb``).
    Returns the number of images written.
    """
    targets = _figure_targets(nb) if _can_draw_pngs() else []
    if not targets:
        if meanwhile is not None:
            meanwhile()
        return 0
    (output_dir / "figures").mkdir(parents=True, exist_ok=True)
    drawn: list[bool] = []
    thread = threading.Thread(
        target=lambda: drawn.append(_draw_pngs([f for _, f, _ in targets], [output_dir / n for _, _, n in targets])),
        name="pmkit-figures",
        daemon=True,
    )
    thread.start()
    try:
        if meanwhile is not None:
            meanwhile()
    finally:
        thread.join()
    if not drawn or not drawn[0]:
        return 0
    for out, _, name in targets:
        out.setdefault("metadata", {})["filenames"] = {"image/png": name}
    return len(targets)
