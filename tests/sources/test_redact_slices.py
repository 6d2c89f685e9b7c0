"""Redaction where evidence enters (``pmkit.sources.base._redact``) runs a slice of rows at a time, so its
working memory follows the slice, not the window; the output and the counts are those of one pass."""

from __future__ import annotations

import polars as pl
import pytest

from pmkit.sources import base


def events(n: int) -> pl.DataFrame:
    secrets = [
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ",
        "mail ana.lopez@example.com about card 4111 1111 1111 1111",
        "password=hunter2-very-secret",
        "nothing to hide here",
        "aws key AKIAIOSFODNN7EXAMPLE in the config",
    ]
    return pl.DataFrame(
        {
            "message": [f"{secrets[i % len(secrets)]} #{i}" for i in range(n)],
            "attrs": [f'{{"user":"u{i}","note":"{secrets[(i + 2) % len(secrets)]}"}}' for i in range(n)],
            "origin": [f"x.log:{i + 1}" for i in range(n)],
        }
    )


def test_sliced_redaction_equals_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = events(103)
    rejects = pl.DataFrame({"reason": ["bad line"] * 3, "raw": ["password=abc123secret", "x", "y"]})
    whole = base._redact(frame, rejects, "events", None)
    monkeypatch.setattr(base, "REDACT_SLICE_ROWS", 10)  # 11 slices, the last one of 3 rows
    sliced = base._redact(frame, rejects, "events", None)
    assert sliced[0].equals(whole[0]) and sliced[1].equals(whole[1])
    assert sliced[2] == whole[2] and whole[2] and "redacted: " in whole[2][0]
    assert not whole[0].equals(frame)  # something was redacted: the comparison means something
    assert "ana.lopez@example.com" not in " ".join(sliced[0]["message"])
