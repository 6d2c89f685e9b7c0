"""Test-session set-up that must be in place before anything is collected (``tests/`` and the nbval notebooks).

The load cache (:mod:`pmkit.cache`) goes to a temporary folder for the whole session, never to the
user's cache folder: ``PMKIT_CACHE_DIR`` is set when pytest starts, so the notebook kernels, the
render workers and every subprocess a test starts inherit it. (An autouse fixture would come too
late for nbval, which starts a notebook's kernel before any fixture of its cells.)
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

_SAVED = "_pmkit_saved_cache_env"


def pytest_configure(config: pytest.Config) -> None:
    setattr(config, _SAVED, os.environ.get("PMKIT_CACHE_DIR"))
    os.environ["PMKIT_CACHE_DIR"] = tempfile.mkdtemp(prefix="pmkit-test-cache-")


def pytest_unconfigure(config: pytest.Config) -> None:
    path = os.environ.pop("PMKIT_CACHE_DIR", None)
    if path:
        shutil.rmtree(path, ignore_errors=True)
    saved = getattr(config, _SAVED, None)
    if saved is not None:
        os.environ["PMKIT_CACHE_DIR"] = saved
