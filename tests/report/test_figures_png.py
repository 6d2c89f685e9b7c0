"""PNG figures for the Markdown: kaleido's browser, with its page kept between figures."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import plotly.graph_objects as go
import pytest

from pmkit.report.figures_png import browser_path
from pmkit.report.kaleido_compat import keep_page_class

pytestmark = pytest.mark.skipif(browser_path() is None, reason="no Chromium/Chrome on this machine for kaleido")


def _figures() -> list[go.Figure]:
    a = go.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2], name="errors"), layout={"title": "first"})
    b = go.Figure(go.Bar(x=["a", "b"], y=[5, 2]), layout={"title": "second", "shapes": [{"type": "line", "x0": 0}]})
    c = go.Figure(go.Scatter(x=[1, 2], y=[2, 2], fill="tozeroy"), layout={"title": "third"})
    return [a, b, c]


def _draw(cls: type, out: Path) -> list[bytes]:
    """The figures as PNG bytes, drawn one after another in one tab of a browser built by ``cls``."""
    os.environ.setdefault("BROWSER_PATH", browser_path() or "")
    paths = [out / f"f{i}.png" for i in range(3)]

    async def go_() -> None:
        async with cls(n=1) as k:
            await k.write_fig_from_object(
                [
                    {"fig": f, "path": p, "opts": {"width": 500, "height": 300}}
                    for f, p in zip(_figures(), paths, strict=True)
                ]
            )

    asyncio.run(go_())
    return [p.read_bytes() for p in paths]


def test_keeping_the_page_draws_the_same_bytes(tmp_path: Path) -> None:
    import kaleido

    keep = keep_page_class()
    assert keep is not None, "this kaleido no longer hands tabs back through _return_kaleido_tab"
    (tmp_path / "stock").mkdir()
    (tmp_path / "keep").mkdir()
    stock = _draw(kaleido.Kaleido, tmp_path / "stock")
    kept = _draw(keep, tmp_path / "keep")
    assert all(png.startswith(b"\x89PNG") for png in stock)
    assert kept == stock
