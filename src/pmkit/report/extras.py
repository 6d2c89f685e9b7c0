"""The ``render`` extra: what the render path imports, and one clear error where it is not installed.

``pip install pmkit`` loads and analyses; ``pmkit render``, ``pmkit demo``, ``pm.render`` and
``pm.run`` need ``pip install 'pmkit[render]'``. :func:`require` looks the modules up without
importing them (no cost on the render path) and raises :class:`MissingExtraError` naming the extra
and the missing packages; the commands print it as one line and exit 2, no traceback.
"""

from __future__ import annotations

import importlib.util

from pmkit.errors import MissingExtraError

__all__ = ["RENDER_MODULES", "MissingExtraError", "missing", "require"]

# module imported by the render path (pmkit's code, its templates, the postmortem notebook) -> the package
# that provides it, as pyproject.toml's `render` extra lists it. kaleido is left out: without it the
# Markdown names each figure instead of drawing a PNG, and the rest renders.
RENDER_MODULES = {
    "papermill": "papermill",
    "nbconvert": "nbconvert",
    "nbformat": "nbformat",
    "jupyter_client": "jupyter_client",
    "ipykernel": "ipykernel",
    "IPython": "ipython",
    "zmq": "pyzmq",
    "traitlets": "traitlets",
    "tqdm": "tqdm",
    "nh3": "nh3",
    "plotly": "plotly",
}


def _absent(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):  # a broken or half-imported package is as good as missing
        return True


def missing(modules: dict[str, str] = RENDER_MODULES) -> list[str]:
    """The packages (pip names) whose modules cannot be imported, in the order given."""
    return list(dict.fromkeys(pkg for mod, pkg in modules.items() if _absent(mod)))


def require(what: str = "pmkit render", extra: str = "render") -> None:
    """Raise :class:`MissingExtraError` when a package of ``extra`` is missing; ``what`` names the caller."""
    absent = missing()
    if absent:
        raise MissingExtraError(
            f"{what} needs the {extra!r} extra: pip install 'pmkit[{extra}]' (missing: {', '.join(absent)})"
        )
