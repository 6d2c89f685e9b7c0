"""Turning analyses into documents: figures, notebooks, rendered files.

Inside IPython, importing this package registers the notebook views of the result objects
(:func:`pmkit.report.notebook.register`); the objects themselves hold no HTML.
"""

import sys as _sys


def _register_in_ipython() -> None:
    ipython = _sys.modules.get("IPython")
    if ipython is not None and ipython.get_ipython() is not None:
        from pmkit.report import notebook

        notebook.register()


_register_in_ipython()
