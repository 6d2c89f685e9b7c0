"""Helpers shared by the loader tests (on ``sys.path`` through pytest's ``pythonpath`` setting)."""

from __future__ import annotations

import os
import re
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import strategies as st

T = TypeVar("T")

BUDGET_S = 20.0
"""The time one load of a broken or adversarial input may take before the harness calls it a hang."""


def scaled(n: int) -> int:
    """A property test's example budget: ``n`` in CI, times ``PMKIT_HYPOTHESIS_SCALE`` in the release run."""
    return n * int(os.environ.get("PMKIT_HYPOTHESIS_SCALE", "1"))


def physical_lines(text: str) -> int:
    """How many lines the loaders count in ``text``: lines end at LF, CRLF or a lone CR (pmkit.sources.textio)."""
    return len(re.split(r"\r\n|\r|\n", re.sub(r"(?:\r\n|\r|\n)\Z", "", text))) if text else 0


def within_budget(func: Callable[[], T], what: str, seconds: float = BUDGET_S) -> T:
    """``func()``'s result (or its exception), failing the test if it runs past ``seconds``: a budget, not a speed test.

    The call runs in a daemon thread (polars releases the GIL), so a load that never returns fails the test with
    the stack where it was stuck instead of hanging the run; the stuck thread is abandoned.
    """
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = func()
        except BaseException as exc:  # handed back to the caller as it was raised
            box["error"] = exc

    worker = threading.Thread(target=target, name=f"budget: {what}", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        frame = sys._current_frames().get(worker.ident or -1)
        stack = "".join(traceback.format_stack(frame)[-8:]) if frame is not None else "(no stack)"
        pytest.fail(f"{what}: still running after the {seconds:.0f} s budget (a hang?); stuck in:\n{stack}")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    """A file ``name`` in ``tmp_path`` holding ``text`` (UTF-8) or ``bytes`` as given."""
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


@st.composite
def mutated(draw: st.DrawFn, base: str, alphabet: str, edits: int = 5) -> str:
    """``base`` with up to ``edits`` random edits (delete, insert, duplicate a line): mostly valid, sometimes broken."""
    text = base
    for _ in range(draw(st.integers(0, edits))):
        op = draw(st.sampled_from(["del", "ins", "dup"]))
        pos = draw(st.integers(0, max(len(text) - 1, 0)))
        if op == "del":
            text = text[:pos] + text[pos + 1 :]
        elif op == "ins":
            text = text[:pos] + draw(st.sampled_from(alphabet)) + text[pos:]
        else:
            lines = text.split("\n")
            k = draw(st.integers(0, len(lines) - 1))
            text = "\n".join([*lines[: k + 1], lines[k], *lines[k + 1 :]])
    return text
