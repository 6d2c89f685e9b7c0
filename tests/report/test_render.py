"""The render pipeline: papermill runs the notebook, nbconvert exports it, the seed files are written.

One sample is rendered once per session (conftest ``rendered``); the batch (three incidents,
``--jobs 2``, one broken on purpose) once per module. Determinism is checked across the two:
the same incident rendered in this process and in a worker, into different folders, gives the
same bytes.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from pmkit.errors import PmkitError
from pmkit.report import cli_render
from pmkit.report.export import export, templates_dir
from pmkit.report.figures_png import browser_path
from pmkit.report.render import SEED_FILES, RenderResult, duplicate_ids, render, write_seed_files
from pmkit.report.run import PLOTLY_MIME, normalize_figures, run

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data" / "samples"
SAMPLE = SAMPLES / "INC-2025-0142"
STANDIN = Path(__file__).resolve().parent / "fixtures" / "standin.ipynb"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
RUN_TIME_KEYS = ("start_time", "end_time", "duration", "iopub.execute_input", "shell.execute_reply")


def pmkit_main(argv: list[str]) -> int:
    """``pmkit ARGS``, as the console script runs it."""
    from pmkit import cli

    return cli.main(argv)


class _Elements(HTMLParser):
    """Every start tag with its classes, and the text outside <script> and <style>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, set[str], dict[str, str | None]]] = []
        self.text: list[str] = []
        self._raw = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, set((a.get("class") or "").split()), a))
        if tag in ("script", "style"):
            self._raw += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._raw -= 1

    def handle_data(self, data: str) -> None:
        if not self._raw:
            self.text.append(data)


def parse_html(text: str) -> _Elements:
    p = _Elements()
    p.feed(text)
    return p


def figure_outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [o for c in nb.cells for o in c.get("outputs", []) if PLOTLY_MIME in o.get("data", {})]


# --- one sample, end to end


def test_all_files_are_written(rendered: RenderResult) -> None:
    out = rendered.output_dir
    assert out.name == "INC-2025-0142"
    for name in ("postmortem.html", "postmortem.md", "postmortem.ipynb", *SEED_FILES):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert set(rendered.files) >= {"html", "md", "ipynb", *SEED_FILES}
    assert (out / "incident.md").read_text().startswith("# Incident Report: INC-2025-0142")
    assert (out / "timeline.md").read_text().startswith("# Incident Timeline: INC-2025-0142")
    assert (out / "action-items.md").read_text().startswith("# Action Items: INC-2025-0142")


def test_html_shows_the_document_and_no_code(rendered: RenderResult) -> None:
    text = rendered.files["html"].read_text()
    page = parse_html(text)
    classes = [c for _, c, _ in page.tags]
    body = " ".join(page.text)
    assert not any({"jp-InputArea-editor"} & c or {"jp-InputPrompt"} & c or {"jp-OutputPrompt"} & c for c in classes)
    assert not any("celltag_parameters" in c or "celltag_injected-parameters" in c for c in classes)
    # the notebook's code and parameters never reach the page
    for code in ("incident_dir =", "import pmkit", "def show(", "pio.renderers", "In&nbsp;[", "In ["):
        assert code not in body, code
    assert "Postmortem: INC-2025-0142" in body and "Executive summary" in body
    assert page.tags[0][0] == "html" and "<title>Postmortem INC-2025-0142: Payment processing failures</title>" in text
    # self-contained: no external script or stylesheet, plotly.js embedded exactly once
    assert not [a for tag, _, a in page.tags if tag in ("script", "link", "img") and (a.get("src") or a.get("href"))]
    assert text.count("window.Plotly = Plotly") == 1
    record = nbformat.read(rendered.files["ipynb"], as_version=4)
    assert sum("pmkit-figure" in c for c in classes) == len(figure_outputs(record)) >= 3


def test_markdown_has_no_plotly_payload(rendered: RenderResult) -> None:
    md = rendered.files["md"].read_text()
    assert md.startswith("# Postmortem: INC-2025-0142")
    for raw in ("Plotly.newPlot", PLOTLY_MIME, "<script", '"layout"', "plotly.js", "```python", "incident_dir"):
        assert raw not in md, raw
    record = nbformat.read(rendered.files["ipynb"], as_version=4)
    titles = [o["data"][PLOTLY_MIME]["layout"]["title"]["text"] for o in figure_outputs(record)]
    # a figure is its PNG where a local browser lets kaleido draw it, else a line naming it
    shown = [
        ln.removeprefix("*Figure: ").split(" (interactive")[0]
        if ln.startswith("*Figure: ")
        else ln.removeprefix("![").split("](figures/")[0]
        for ln in md.splitlines()
        if ln.startswith("*Figure: ") or (ln.startswith("![") and "](figures/figure-" in ln)
    ]
    assert shown == titles
    if browser_path() is not None:
        pngs = sorted(p.name for p in (rendered.output_dir / "figures").glob("*.png"))
        assert pngs == [f"figure-{i}.png" for i in range(1, len(titles) + 1)]
        assert all((rendered.output_dir / "figures" / n).read_bytes().startswith(b"\x89PNG") for n in pngs)
    assert "\n\n\n" not in md and md.endswith("\n") and not md.endswith("\n\n")


def test_record_is_the_executed_notebook_without_run_metadata(rendered: RenderResult) -> None:
    raw = rendered.files["ipynb"].read_text()
    nb = nbformat.reads(raw, as_version=4)
    nbformat.validate(nb)
    for key in RUN_TIME_KEYS:
        assert f'"{key}"' not in raw, key
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert ["parameters"] in tags and ["injected-parameters"] in tags
    assert not any("pmkit-files" in t for t in tags)  # the seed-file cell is machinery, not the record
    injected = nb.cells[tags.index(["injected-parameters"])].source
    assert f'incident_dir = "{SAMPLE.resolve()}"' in injected
    assert all(c.cell_type != "code" or c.execution_count for c in nb.cells)
    assert not UUID.search(raw) and "plotly.js v" not in raw
    assert nb.metadata.papermill.parameters["incident_dir"] == str(SAMPLE.resolve())


# --- batch: three incidents, two workers, one broken on purpose


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, str, Path, list[Path]]:
    """``pmkit render A B BROKEN --jobs 2``: exit code, stdout, stderr, output folder, incident folders."""
    tmp = tmp_path_factory.mktemp("batch")
    broken = tmp / "broken"
    shutil.copytree(SAMPLES / "INC-20250120-103000", broken, ignore=shutil.ignore_patterns(".pmkit-cache"))
    spec = broken / "incident.yaml"
    text = spec.read_text()
    assert "objective: 99.9" in text and "\nid: INC-20250120-103000\n" in text
    spec.write_text(
        text.replace("\nid: INC-20250120-103000\n", "\nid: INC-BROKEN-0001\n").replace(
            "objective: 99.9", "objective: ninety-nine"
        )
    )
    dirs = [SAMPLE, broken, SAMPLES / "INC-20250120-103000"]
    out = tmp / "out"
    (out / "INC-BROKEN-0001").mkdir(parents=True)
    (out / "INC-BROKEN-0001" / "postmortem.html").write_text("a previous, good render")  # must not survive
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = pmkit_main(["render", *map(str, dirs), "-o", str(out), "--jobs", "2", "--no-progress"])
    return code, stdout.getvalue(), stderr.getvalue(), out, dirs


def test_batch_renders_the_good_and_reports_the_broken(batch) -> None:
    code, stdout, stderr, out, _ = batch
    assert code == 1
    for ident in ("INC-2025-0142", "INC-20250120-103000"):
        for name in ("postmortem.html", "postmortem.md", "postmortem.ipynb", *SEED_FILES):
            assert (out / ident / name).is_file(), (ident, name)
        assert f"  {ident} (" in stdout
    assert "rendered 2 of 3 incident(s)" in stdout
    # the broken one: its failing cell and error, and its executed notebook kept with the traceback
    assert not (out / "INC-BROKEN-0001" / "postmortem.html").exists()  # the stale one is gone
    failed = [ln for ln in stderr.splitlines() if ln.startswith("FAILED ")]
    assert len(failed) == 1 and failed[0].startswith("FAILED INC-BROKEN-0001")
    m = re.search(r"cell (\d+) \(In \[\d+\]: .+\) raised SpecError: .*incident\.yaml", failed[0])
    assert m, failed[0]
    assert "slos[0].objective" in stderr and "ninety-nine" in stderr
    nb = nbformat.read(out / "INC-BROKEN-0001" / "postmortem.ipynb", as_version=4)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert len(errors) == 1 and errors[0].ename == "SpecError"
    cell = int(m.group(1))  # the index papermill reported, before it added its two error-marker cells
    marked = [i for i, c in enumerate(nb.cells) if "papermill-error-cell-tag" in c.metadata.get("tags", [])]
    assert len(marked) == 2 and any(o.output_type == "error" for o in nb.cells[cell + 2].outputs)


def test_same_inputs_give_the_same_bytes(rendered: RenderResult, batch) -> None:
    """Rendered in this process and in a worker, into different folders: identical documents and record."""
    _, _, _, out, _ = batch
    for name in ("postmortem.html", "postmortem.md", "postmortem.ipynb", *SEED_FILES):
        assert (out / "INC-2025-0142" / name).read_bytes() == (rendered.output_dir / name).read_bytes(), name


# --- the pieces


def test_standin_notebook_runs_on_this_interpreter_in_its_folder(tmp_path: Path) -> None:
    """Kernel = this interpreter; cwd = the notebook's folder; plotly's HTML renderer output becomes plotly JSON."""
    record = run(SAMPLE, tmp_path, notebook=STANDIN, seed_files=False, parameters={"convention": "detection"})
    raw = record.read_text()
    nb = nbformat.reads(raw, as_version=4)
    printed = json.loads(nb.cells[-1].outputs[0].text)
    assert printed == {"executable": sys.executable, "cwd": str(STANDIN.parent), "convention": "detection"}
    [fig] = figure_outputs(nb)
    assert fig["data"][PLOTLY_MIME]["data"][0]["y"] == [3, 1, 2]
    assert set(fig["data"]) == {PLOTLY_MIME, "text/plain"}
    assert not UUID.search(raw) and "plotly.js v" not in raw and "cdn." not in raw
    files = export(record, tmp_path, to=("html", "md"), title="stand-in")
    html = files["html"].read_text()
    assert html.count('class="jp-OutputArea-output pmkit-figure"') == 1 and not UUID.search(html)
    assert "A markdown cell of the notebook itself" in html
    md = files["md"].read_text()
    figure = "![Stand-in figure](figures/figure-1.png)" if browser_path() else "*Figure: Stand-in figure (interactive"
    assert figure in md and "A markdown cell of the notebook itself" in md
    assert not any((tmp_path / n).exists() for n in ("incident.md", "timeline.md", "action-items.md"))


@pytest.mark.parametrize("renderer", ["notebook", "notebook_connected", "plotly_mimetype+notebook", "plotly_mimetype"])
def test_normalize_figures_whatever_the_renderer(renderer: str) -> None:
    fig = go.Figure(go.Bar(x=["a", "b"], y=[1, 2]), layout={"title": {"text": "t"}})
    bundle: dict = {}
    for name in renderer.split("+"):
        bundle.update(pio.renderers[name].to_mimebundle(fig.to_dict()))
    loader = {
        "text/html": "<script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script><script>/** plotly.js */</script>"
    }
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "fig.show()",
                outputs=[
                    nbformat.v4.new_output("display_data", data=loader),
                    nbformat.v4.new_output("display_data", data=bundle),
                ],
            )
        ]
    )
    assert normalize_figures(nb) == 1
    [out] = nb.cells[0].outputs
    spec = out["data"][PLOTLY_MIME]
    assert spec["data"][0]["y"] == [1, 2] and spec["layout"]["title"]["text"] == "t"
    assert "text/html" not in out["data"]
    assert normalize_figures(nb) == 1 and nb.cells[0].outputs == [out]  # idempotent


def test_untrusted_text_in_a_figure_cannot_break_out_of_its_script(tmp_path: Path) -> None:
    """A log line in hover text that closes the script element stays data, in HTML and Markdown."""
    hostile = "</SCRIPT><img src=x onerror=alert(1)> & </script><!--"
    fig = go.Figure(go.Scatter(x=[1], y=[1], text=[hostile], name=hostile), layout={"title": {"text": "t"}})
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "fig.show()", outputs=[nbformat.v4.new_output("display_data", data={PLOTLY_MIME: fig.to_plotly_json()})]
            )
        ]
    )
    record = tmp_path / "postmortem.ipynb"
    nbformat.write(nb, record)
    files = export(record, tmp_path, to=("html", "md"))
    html = files["html"].read_text()
    page = parse_html(html)
    assert not [a for tag, _, a in page.tags if tag == "img"]
    [payload] = re.findall(r"<script[^>]*pmkit-figure-json[^>]*>(.*?)</script>", html, flags=re.S | re.I)
    assert "</" not in payload and "<!--" not in payload and "</SCRIPT>" not in html
    assert json.loads(payload)["data"][0]["text"] == [hostile]
    assert hostile not in files["md"].read_text()


def test_seed_files_from_a_fresh_analysis_match_the_notebook(rendered: RenderResult, tmp_path: Path) -> None:
    """A notebook without an Analysis/Document variable gets one analysed from incident_dir: same files."""
    written = write_seed_files({"incident_dir": str(SAMPLE), "convention": "impact"}, tmp_path)
    assert sorted(p.name for p in written) == sorted(SEED_FILES)
    for name in ("incident.md", "timeline.md", "action-items.md"):
        assert (tmp_path / name).read_text() == (rendered.output_dir / name).read_text(), name


def test_duplicate_incident_ids_are_refused(tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(SAMPLE / "incident.yaml", copy / "incident.yaml")
    dups = duplicate_ids([SAMPLE, SAMPLES / "INC-20250120-103000", copy])
    assert list(dups) == [2] and "INC-2025-0142" in dups[2]


def test_bad_arguments_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        pmkit_main(["render", str(SAMPLE), "--to", "docx"])  # pdf is a format since --to pdf (report/pdf.py)
    assert e.value.code == 2 and "expected a comma-separated list of html, md, pdf" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        pmkit_main(["render", str(SAMPLE), "--jobs", "0"])
    assert e.value.code == 2
    assert pmkit_main(["render", str(tmp_path)]) == 1
    assert "no incident.yaml" in capsys.readouterr().err
    with pytest.raises(PmkitError, match="unknown output format"):
        render([SAMPLE], tmp_path, to=("pdf",))


# the bundled sample incidents (data/samples/README.md), in the order pmkit lists them
SAMPLE_NAMES = [
    "INC-2025-0142",
    "INC-2025-0311-checkout",
    "INC-2025-0311-orders",
    "INC-2025-0311-search",
    "INC-20250120-103000",
]


def test_templates_and_samples_are_found() -> None:
    t = templates_dir()
    assert json.loads((t / "pmkit-html" / "conf.json").read_text())["base_template"] == "lab"
    assert json.loads((t / "pmkit-md" / "conf.json").read_text())["base_template"] == "markdown"
    assert [d.name for d in cli_render.sample_dirs()] == SAMPLE_NAMES


def test_demo_renders_the_bundled_samples(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``pmkit demo``: every bundled sample, HTML and Markdown, into -o, and it says where the files are.

    The rendering itself is the batch test's; here ``render`` records its call.
    """
    from pmkit.report import render as render_module

    calls = []

    def fake_render(dirs, out, **kw):
        calls.append((list(dirs), Path(out), kw))
        return [
            RenderResult(d, d.name, Path(out) / d.name, {"html": Path(out) / d.name / "postmortem.html"}, seconds=1.0)
            for d in dirs
        ]

    monkeypatch.setattr(render_module, "render", fake_render)
    assert pmkit_main(["demo", "-o", str(tmp_path / "demo"), "--no-progress"]) == 0
    [(dirs, out, kw)] = calls
    assert [d.name for d in dirs] == SAMPLE_NAMES and out == tmp_path / "demo"
    assert kw["to"] == ("html", "md") and kw["jobs"] >= 1
    printed = capsys.readouterr().out
    assert "rendering the 5 sample incidents" in printed and "rendered 5 of 5 incident(s)" in printed
    assert f"open {tmp_path / 'demo' / 'INC-2025-0142' / 'postmortem.html'} in a browser" in printed
