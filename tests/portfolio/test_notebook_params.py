"""notebooks/portfolio.ipynb run by papermill with its parameters (folder, period, services, as_of): the
stored outputs are checked by nbval (the notebook is under testpaths); here the parameters must take effect."""

from __future__ import annotations

from pathlib import Path

import nbformat
import papermill

from pmkit.report.run import KERNEL_ARGUMENTS, KERNEL_NAME, _kernel_manager_class

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "portfolio.ipynb"


def test_parameters_take_effect(tmp_path: Path) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for name in ("folder", "period", "services", "as_of"):
        assert f"{name} = " in tagged[0].source
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOK),
        str(out),
        parameters={
            "folder": str(ROOT / "data" / "portfolio"),
            "period": "quarter",
            "services": ["auth"],
            "as_of": "2025-12-01",
        },
        kernel_name=KERNEL_NAME,
        kernel_manager_class=_kernel_manager_class(),
        extra_arguments=KERNEL_ARGUMENTS,
        progress_bar=False,
        cwd=str(NOTEBOOK.parent),
    )
    text = "\n".join(
        o.get("text", "") for c in nbformat.read(out, as_version=4).cells if c.cell_type == "code" for o in c.outputs
    )
    assert "12 incidents, opened" in text and "judged on 2025-12-01" in text
    assert "2025-Q1" in text and "2025-01 " not in text  # counts per quarter
    assert "checkout" not in text.split("Most recurring")[0]  # only auth's SLO rows
