"""Execute the postmortem notebook for one incident with papermill: ``run(incident_dir, output_dir) -> Path``.

The notebook runs in a fresh kernel of *this* interpreter (never whatever ``python3`` kernelspec
happens to be installed), with the kernel's working directory set to the notebook's folder, as
Jupyter does, so relative paths in the notebook resolve the same way in batch and interactively.
The incident folder is passed as an absolute path.

The executed notebook is kept as the record (``postmortem.ipynb``). It is made deterministic:
papermill's and nbclient's run-time metadata (start/end times, durations, paths of the run) are
removed, and plotly figures are stored as plotly JSON (``application/vnd.plotly.v1+json``) rather
than HTML with random element ids and a 5 MB copy of plotly.js.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pmkit.errors import PmkitError
from pmkit.report.extras import require

KERNEL_NAME = "python3"
PLOTLY_MIME = "application/vnd.plotly.v1+json"
RECORD_NAME = "postmortem.ipynb"
FILES_TAG = "pmkit-files"  # the seed-file cell run() appends (templates hide it, the record drops it)

_ROOT = Path(__file__).resolve().parents[3]

# jsonschema imports rfc3987_syntax whenever it is installed (jupyterlab's dependencies install it),
# and that import builds a grammar: 1.1-1.5 s here. plotly's show() imports nbformat, which imports
# jsonschema, so every kernel would pay it once per incident. No notebook schema checks the IRI
# formats it provides; the kernels pmkit starts leave it out.
SKIP_SLOW_IMPORTS = "import sys; sys.modules.setdefault('rfc3987_syntax', None)"


def skip_slow_imports() -> None:
    """In a process of pmkit's own (the command, a render worker): leave out jsonschema's IRI checker, as
    :data:`SKIP_SLOW_IMPORTS` does in the kernels. Only before anything imported jsonschema, so no one's
    format checker changes under them."""
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]  # None: "not importable"


KERNEL_ARGUMENTS = [
    "--HistoryManager.enabled=False",  # kernels of a batch would contend for ~/.ipython's sqlite file
    f"--IPKernelApp.exec_lines={SKIP_SLOW_IMPORTS}",
]


class RenderError(PmkitError, RuntimeError):
    """A notebook failed for one incident; names the cell, the exception and its message.

    ``cell`` is the index of the failing cell in the executed notebook (``None`` when the
    failure happened outside a cell), ``ename``/``evalue`` the exception raised in the kernel.
    """

    def __init__(
        self,
        message: str,
        *,
        cell: int | None = None,
        ename: str = "",
        evalue: str = "",
        notebook: Path | None = None,
    ) -> None:
        super().__init__(message)
        self.cell = cell
        self.ename = ename
        self.evalue = evalue
        self.notebook = notebook


def resource_dir(name: str, *, checkout: str | None = None) -> Path:
    """A folder shipped with pmkit (``templates``, ``notebooks``, ``samples``): in the package, else the source tree.

    A wheel carries them as ``pmkit/<name>`` (hatch ``force-include`` and ``hatch_build.py``); an
    editable install or a checkout finds them at the repository root, as ``checkout`` when the folder
    has another path there (the samples are ``data/samples`` in a checkout).
    """
    for path in (Path(__file__).resolve().parents[1] / name, _ROOT / (checkout or name)):
        if path.is_dir():
            return path
    raise PmkitError(f"pmkit's {name}/ folder was not found in the package or in {_ROOT}; reinstall pmkit")


def default_notebook() -> Path:
    """``notebooks/postmortem.ipynb``: the postmortem notebook ``pmkit render`` executes by default."""
    path = resource_dir("notebooks") / "postmortem.ipynb"
    if not path.is_file():
        raise PmkitError(f"the postmortem notebook {path} is missing; pass notebook=... to use another one")
    return path


@functools.cache
def _kernel_manager_class() -> type:
    """An ``AsyncKernelManager`` whose ``python3`` kernel is ipykernel's spec for ``sys.executable``.

    jupyter_client would otherwise pick the first ``python3`` kernelspec on the Jupyter path, which
    can belong to another Python without pmkit. The kernel is launched with CurveZMQ keys when
    pyzmq supports them (no plain-text TCP, and no warning from ipykernel about it).
    """
    import zmq
    from ipykernel.kernelspec import RESOURCES, get_kernel_dict
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from traitlets import default

    class InterpreterKernelSpecManager(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            if kernel_name == KERNEL_NAME:
                return self.kernel_spec_class(resource_dir=RESOURCES, **get_kernel_dict())
            return super().get_kernel_spec(kernel_name)

    class InterpreterKernelManager(AsyncKernelManager):
        async def _async_interrupt_kernel(self) -> None:
            # jupyter_client interrupts before every shutdown; the notebook has finished by then, and
            # the SIGINT only makes ipykernel log "KeyboardInterrupt caught in kernel" on our stderr.
            if self.shutting_down:
                return
            await super()._async_interrupt_kernel()

        interrupt_kernel = _async_interrupt_kernel

        @default("kernel_spec_manager")
        def _default_ksm(self) -> KernelSpecManager:
            return InterpreterKernelSpecManager(data_dir=self.data_dir)

        @default("transport_encryption")
        def _default_encryption(self) -> str:
            return "auto" if zmq.has("curve") else "disabled"

    return InterpreterKernelManager


def _files_cell(output_dir: Path) -> Any:
    """A trailing cell that writes the seed file set from the notebook's own analysis (no second analysis run)."""
    import nbformat

    source = (
        "# pmkit render: write the seed file set from this notebook's analysis\n"
        "from pmkit.report.render import write_seed_files as _pmkit_write_seed_files\n\n"
        f"_pmkit_write_seed_files(globals(), {str(output_dir)!r})\n"
    )
    return nbformat.v4.new_code_cell(source, metadata={"tags": [FILES_TAG]}, id="pmkit-files")


def declared_parameters(nb: Any) -> set[str]:
    """Names assigned in the notebook's ``parameters`` cell."""
    from papermill.inspection import _infer_parameters

    return {p.name for p in _infer_parameters(nb, name=KERNEL_NAME, language="python")}


def _plotly_from_html(html: str) -> dict[str, Any] | None:
    """The figure JSON in plotly's HTML output (``Plotly.newPlot("id", data, layout, config)``), or None."""
    at = html.find("Plotly.newPlot(")
    if at < 0 or "plotly-graph-div" not in html:
        return None
    dec = json.JSONDecoder()
    pos = at + len("Plotly.newPlot(")
    parts: list[Any] = []
    try:
        for _ in range(4):  # the element id, data, layout, config
            while html[pos] in " \n\t,":
                pos += 1
            value, pos = dec.raw_decode(html, pos)
            parts.append(value)
    except (ValueError, IndexError):
        return None
    _, data, layout, config = parts
    return {"data": data, "layout": layout, "config": config}


def _is_plotlyjs_loader(html: str) -> bool:
    """plotly's one-off output that loads plotly.js (inline or from a CDN) and draws no figure."""
    return "plotly-graph-div" not in html and ("window.PlotlyConfig" in html or "cdn.plot.ly" in html)


def normalize_figures(nb: Any) -> int:
    """Store every plotly figure as plotly JSON and drop plotly.js loader outputs; returns the figure count.

    Whatever renderer the notebook used (``notebook``, ``notebook_connected``, ``plotly_mimetype``
    or a combination), the result is one ``application/vnd.plotly.v1+json`` output per figure:
    small, free of random element ids, and drawn by the template with one embedded plotly.js.
    """
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            data = out.get("data") if out.get("output_type") in ("display_data", "execute_result") else None
            if data is not None:
                html = data.get("text/html")
                html = "".join(html) if isinstance(html, list) else html
                if PLOTLY_MIME in data:
                    data.pop("text/html", None)
                elif html and (fig := _plotly_from_html(html)) is not None:
                    data.clear()
                    data[PLOTLY_MIME] = fig
                    data["text/plain"] = f"<Figure: {_figure_title(fig)}>"
                elif html and _is_plotlyjs_loader(html):
                    continue
                if PLOTLY_MIME in data:
                    count += 1
            kept.append(out)
        cell["outputs"] = kept
    return count


def _figure_title(fig: Mapping[str, Any]) -> str:
    title = (fig.get("layout") or {}).get("title")
    text = title.get("text") if isinstance(title, Mapping) else title
    return str(text or "figure")


def strip_run_metadata(nb: Any) -> None:
    """Remove what changes from run to run: times, durations, the run's paths, nbclient timings, random cell ids.

    Papermill gives the cells it adds (injected parameters, error markers) random ids; they get
    fixed ones here.
    """
    pm = nb.metadata.get("papermill")
    if pm is not None:
        for key in ("start_time", "end_time", "duration", "input_path", "output_path", "environment_variables"):
            pm.pop(key, None)
    markers = 0
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags:
            cell["id"] = "injected-parameters"
        elif "papermill-error-cell-tag" in tags:
            markers += 1
            cell["id"] = f"papermill-error-{markers}"
        cell.metadata.pop("execution", None)
        cell_pm = cell.metadata.get("papermill")
        if cell_pm is not None:
            for key in ("start_time", "end_time", "duration"):
                cell_pm.pop(key, None)


def _first_line(source: str) -> str:
    """``: <first code line>`` of a cell, for error messages (comments skipped, cut at 60 characters)."""
    for line in (source or "").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            return ": " + (line if len(line) <= 60 else line[:59] + "…")
    return ""


def _first_error(nb: Any) -> tuple[int | None, str, str]:
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return i, out.get("ename", ""), out.get("evalue", "")
    return None, "", ""


def run(
    incident_dir: str | Path,
    output_dir: str | Path,
    *,
    notebook: str | Path | None = None,
    parameters: Mapping[str, Any] | None = None,
    seed_files: bool = True,
    timeout: int | None = 600,
) -> Path:
    """Execute the postmortem notebook for ``incident_dir``; returns the kept notebook ``output_dir/postmortem.ipynb``.

    ``parameters`` are passed to papermill on top of ``incident_dir`` (absolute). When the
    notebook declares ``plotly_renderer``, it is set to ``plotly_mimetype`` so figures are stored
    as JSON. With ``seed_files`` a trailing cell writes the seed file set (``incident.md``,
    ``timeline.md``, ``postmortem.md``, ``action-items.md``) into ``output_dir`` from the
    notebook's own analysis; it is not kept in the record. A failing cell raises
    :class:`RenderError` (cell index, exception name and message); the executed notebook, with
    its traceback, is still written.
    """
    require("pmkit.run")
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError
    from papermill.iorw import load_notebook_node

    inc = Path(incident_dir).resolve()
    if not (inc / "incident.yaml").is_file():
        raise PmkitError(f"{incident_dir}: not an incident folder (no incident.yaml)")
    nb_path = Path(notebook).resolve() if notebook else default_notebook()
    out_dir = Path(output_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    record = out_dir / RECORD_NAME
    record.unlink(missing_ok=True)  # never mistake a previous run's notebook for this one's

    nb = load_notebook_node(str(nb_path))  # as papermill reads it: every cell has metadata.tags
    declared = declared_parameters(nb)
    params: dict[str, Any] = {"incident_dir": str(inc)}
    if "plotly_renderer" in declared:
        params["plotly_renderer"] = "plotly_mimetype"
    params.update(parameters or {})
    if seed_files:
        nb.cells.append(_files_cell(out_dir))
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": KERNEL_NAME}

    error: RenderError | None = None
    try:
        executed = papermill.execute_notebook(
            nb,
            str(record),  # papermill writes the failed notebook here before raising
            parameters=params,
            kernel_name=KERNEL_NAME,
            language="python",
            progress_bar=False,
            request_save_on_cell_execute=False,
            cwd=str(nb_path.parent),
            kernel_manager_class=_kernel_manager_class(),
            record_timing=False,
            extra_arguments=KERNEL_ARGUMENTS,
            # every cell has finished and its outputs are in: a graceful shutdown would only wait
            # 0.4-0.8 s for the kernel's exit handlers
            shutdown_kernel="immediate",
            execution_timeout=timeout,
        )
    except PapermillExecutionError as exc:
        executed = nbformat.read(record, as_version=4)
        error = RenderError(
            f"cell {exc.cell_index} (In [{exc.exec_count}]{_first_line(exc.source)}) raised {exc.ename}: {exc.evalue}",
            cell=exc.cell_index,
            ename=exc.ename,
            evalue=exc.evalue,
            notebook=record,
        )
    except Exception as exc:  # kernel died, timeout, a bad notebook: not a cell error, still reported
        executed = nbformat.read(record, as_version=4) if record.is_file() else nb
        error = RenderError(f"{type(exc).__name__}: {exc}", ename=type(exc).__name__, evalue=str(exc), notebook=record)

    if error is None:
        executed.cells = [c for c in executed.cells if FILES_TAG not in c.metadata.get("tags", [])]
    else:
        cell, ename, evalue = _first_error(executed)
        if error.cell is None and cell is not None:
            error.cell, error.ename, error.evalue = cell, ename, evalue
    normalize_figures(executed)
    strip_run_metadata(executed)
    nbformat.write(executed, record)
    if error is not None:
        raise error
    return record
