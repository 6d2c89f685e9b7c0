"""JSON lines with fields mapped deep inside one object: the cost grows with the number of mapped fields, not
exponentially (four fields mapped under one object once did not finish in 300 s), and the columns are right."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sourcetest import scaled, within_budget, write

from pmkit.sources.base import LoadRequest, LoadResult, run
from pmkit.sources.fieldmap import _mask

UTC = dt.UTC
COLUMNS = {"ts": "ts", "message": "msg", "level": "lvl", "service": "svc", "actor": "who"}


def load(path: Path, fields: dict[str, str]) -> LoadResult:
    req = LoadRequest(kind="logs", format="jsonl", path=str(path), fields=fields)
    return within_budget(lambda: run(req), f"jsonl {path.name} with fields {fields}")


def _line(i: int, width: int) -> dict[str, Any]:
    """A ~1 KB line: ``width`` keys under ``a.b`` (the five column fields first), a sibling object, padding."""
    b: dict[str, Any] = {
        "ts": f"2025-03-14T13:05:{i:02d}Z",
        "msg": f"payment authorisation failed #{i}",
        "lvl": "error",
        "svc": "payments",
        "who": "deployer",
    }
    b |= {f"k{j:02d}": f"value {j}" for j in range(width - len(b))}
    rec: dict[str, Any] = {"a": {"b": b, "c": i, "d": {"e": "f"}}, "x": True}
    rec["pad"] = "p" * max(0, 1000 - len(json.dumps(rec)))
    return rec


@pytest.mark.parametrize("width", [4, 8, 16])
@pytest.mark.parametrize("mapped", [4, 5])
def test_many_fields_mapped_under_one_object(tmp_path: Path, width: int, mapped: int) -> None:
    """4 or 5 columns mapped to ``a.b.*`` with 4, 8 and 16 keys under ``a.b``: loads within the budget, right columns.

    (pmkit has five columns a field can fill, so at most five fields are mapped; the object's width is what
    multiplied the expression per mapped field.)
    """
    width = max(width, 5)
    recs = [_line(i, width) for i in range(30)]
    path = write(tmp_path, "deep.jsonl", "".join(json.dumps(r) + "\n" for r in recs))
    cols = list(COLUMNS)[:mapped]
    res = load(path, {c: f"a.b.{COLUMNS[c]}" for c in cols})
    assert (res.inputs, res.parsed, res.rejected) == (30, 30, 0)
    f = res.frame
    assert f.get_column("ts").to_list() == [dt.datetime(2025, 3, 14, 13, 5, i, tzinfo=UTC) for i in range(30)]
    assert f.get_column("message").to_list() == [r["a"]["b"]["msg"] for r in recs]
    assert f.get_column("level").to_list() == ["error"] * 30
    assert f.get_column("service").to_list() == ["payments"] * 30
    assert f.get_column("actor").to_list() == (["deployer"] * 30 if mapped == 5 else [None] * 30)
    for rec, text in zip(recs, f.get_column("attrs").to_list(), strict=True):
        want = json.loads(json.dumps(rec))
        for c in cols:
            del want["a"]["b"][COLUMNS[c]]
        assert json.loads(text) == want


def test_mask_grows_linearly_with_mapped_paths() -> None:
    """The masking expression for n paths under one object is about n times one path's, never a power of it."""
    width = 32
    dtype = pl.Struct({"b": pl.Struct({f"k{j}": pl.String for j in range(width)}), "c": pl.Int64})

    def size(n: int) -> int:
        keeps = {("b", f"k{j}"): pl.col(f"__keep_{j}") for j in range(n)}
        return len(_mask(pl.col("a"), dtype, keeps).meta.serialize(format="json"))

    one, eight, sixteen = size(1), size(8), size(16)
    assert sixteen < 2.2 * eight
    assert sixteen < 16 * one


# ---------------------------------------------------------------------------- property: random nesting, mappings

_KEYS = st.sampled_from(["a", "b", "c", "d", "e", "f", "g", "h"])  # none is a default column name
_SHAPE = st.recursive(
    st.just("leaf"),
    lambda inner: st.dictionaries(_KEYS, inner, min_size=1, max_size=4),
    max_leaves=14,
).filter(lambda s: isinstance(s, dict))


def _leaves(shape: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for k, v in shape.items():
        out += _leaves(v, (*prefix, k)) if isinstance(v, dict) else [(*prefix, k)]
    return out


def _fill(shape: dict[str, Any], values: dict[tuple[str, ...], Any], prefix: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        k: _fill(v, values, (*prefix, k)) if isinstance(v, dict) else values[(*prefix, k)] for k, v in shape.items()
    }


_TEXT = st.text(st.sampled_from('abcxyz 09-_é"\\/'), min_size=1, max_size=12).filter(lambda s: s.strip() == s)


@st.composite
def _case(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, tuple[str, ...]], list[dict[str, Any]]]:
    """A nested shape, a mapping of columns to distinct leaves (ts always), and records of that shape."""
    shape = draw(_SHAPE)
    leaves = _leaves(shape)
    cols = ["ts", *draw(st.lists(st.sampled_from(["message", "level", "service", "actor"]), unique=True))]
    picked = draw(st.lists(st.sampled_from(leaves), min_size=1, max_size=len(cols), unique=True))
    mapping = dict(zip(cols, picked, strict=False))
    ints = {leaf: draw(st.booleans()) for leaf in leaves}  # one JSON type per field, so no type conflicts
    records = []
    for i in range(draw(st.integers(1, 4))):
        values: dict[tuple[str, ...], Any] = {}
        for leaf in leaves:
            col = next((c for c, p in mapping.items() if p == leaf), None)
            if col == "ts":
                values[leaf] = f"2025-03-14T13:05:{i:02d}Z"
            elif col == "level":
                values[leaf] = draw(st.sampled_from(["error", "warn", "info", "debug"]))
            elif col is not None:
                values[leaf] = draw(_TEXT)
            else:
                values[leaf] = draw(st.integers(-1000, 1000) if ints[leaf] else _TEXT)
        records.append(_fill(shape, values))
    return shape, mapping, records


def _get(rec: dict[str, Any], path: tuple[str, ...]) -> Any:
    for p in path:
        rec = rec[p]
    return rec


def _without(rec: dict[str, Any], paths: list[tuple[str, ...]]) -> dict[str, Any]:
    out = json.loads(json.dumps(rec))
    for path in paths:
        del _get(out, path[:-1])[path[-1]]
    return out


@settings(max_examples=scaled(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=_case())
def test_random_nesting_and_mappings(tmp_path: Path, case: Any) -> None:
    """Every mapped leaf fills its column and leaves attrs; every other value stays in attrs where it was."""
    _shape, mapping, records = case
    path = write(tmp_path, "n.jsonl", "".join(json.dumps(r) + "\n" for r in records))
    res = load(path, {c: ".".join(p) for c, p in mapping.items()})
    assert (res.inputs, res.parsed, res.rejected) == (len(records), len(records), 0)
    f = res.frame
    want_level = {"warn": "warning"}
    for col, leaf in mapping.items():
        got = f.get_column(col).to_list()
        values = [_get(r, leaf) for r in records]
        if col == "ts":
            values = [dt.datetime.fromisoformat(v) for v in values]
        elif col == "level":
            values = [want_level.get(v, v) for v in values]
        assert got == values, col
    for rec, text in zip(records, f.get_column("attrs").to_list(), strict=True):
        assert json.loads(text) == _without(rec, list(mapping.values()))
