"""One level table for every log format."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from pmkit.sources.base import LoadRequest, run
from pmkit.sources.levels import level_expr


@pytest.mark.parametrize(
    ("raw", "level"),
    [
        ("WARN", "warning"),
        (" Warning ", "warning"),
        ("WRN", "warning"),  # Serilog {Level:u3}, zerolog console
        ("INF", "info"),
        ("Information", "info"),  # .NET
        ("VRB", "debug"),
        ("FTL", "critical"),
        ("SEVERE", "error"),  # java.util.logging
        ("CONFIG", "info"),
        ("notice", "info"),  # syslog, nginx
        ("emerg", "critical"),
        ("A", "critical"),  # Android assert
        ("30", "info"),  # pino as text
        ("verbosity", None),
        ("", None),
    ],
)
def test_level_words(raw: str, level: str | None) -> None:
    assert pl.select(level_expr(pl.lit(raw))).item() == level


def test_numeric_levels_are_pino() -> None:
    got = pl.DataFrame({"v": [10, 30, 40, 50, 60, 5]}).select(level_expr(pl.col("v"), pl.Int64)).to_series()
    assert got.to_list() == ["debug", "info", "warning", "error", "critical", None]


@pytest.mark.parametrize("fmt", ["jsonl", "logfmt"])
def test_same_words_in_every_format(tmp_path: Path, fmt: str) -> None:
    words = ["WRN", "INF", "FTL", "notice"]
    path = tmp_path / "app.log"
    if fmt == "jsonl":
        text = "\n".join(json.dumps({"ts": "2025-03-14T13:05:02Z", "level": w, "msg": "m"}) for w in words)
    else:
        text = "\n".join(f"ts=2025-03-14T13:05:02Z level={w} msg=m" for w in words)
    path.write_text(text + "\n")
    res = run(LoadRequest(kind="logs", format=fmt, path=str(path)))
    assert res.frame.get_column("level").to_list() == ["warning", "info", "critical", "info"]
