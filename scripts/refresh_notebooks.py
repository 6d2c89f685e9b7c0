"""Re-execute the notebooks whose stored outputs nbval checks, after the analyses change.

Run from the repository root: ``python scripts/refresh_notebooks.py``. Widget cells (marked
``# NBVAL_IGNORE_OUTPUT``) are stored without output: a stored widget shows only "model not
found" when the notebook is opened later.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from pmkit.report.run import KERNEL_ARGUMENTS, KERNEL_NAME, _kernel_manager_class

NOTEBOOKS = ("notebooks/explore.ipynb", "notebooks/portfolio.ipynb")


def refresh(path: str) -> None:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name=KERNEL_NAME,
        # the kernel pmkit renders with: this interpreter (not the first python3 kernelspec found), same arguments
        kernel_manager_class=_kernel_manager_class(),
        extra_arguments=KERNEL_ARGUMENTS,
        resources={"metadata": {"path": str(Path(path).parent)}},
        store_widget_state=False,
        record_timing=False,
    )
    client.execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code" and cell.source.startswith("# NBVAL_IGNORE_OUTPUT"):
            cell.outputs, cell.execution_count = [], None
    nbformat.write(nb, path)
    print(f"refreshed {path}")


if __name__ == "__main__":
    for nb_path in sys.argv[1:] or NOTEBOOKS:
        refresh(nb_path)
