"""Log signatures: new, surging and steady templates; masking; deduplication before drain3."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sourcetest import scaled

from pmkit import schema
from pmkit.analysis import signatures as sig

UTC = dt.UTC
IMPACT = (dt.datetime(2025, 6, 15, 14, 0, tzinfo=UTC), dt.datetime(2025, 6, 15, 14, 30, tzinfo=UTC))
BASE_START = IMPACT[0] - dt.timedelta(minutes=30)


def events(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """An events frame (pmkit.schema contract) from short dicts; logs at level error by default."""
    full = [
        {
            "ts": r["ts"],
            "source": r.get("source", "app"),
            "kind": r.get("kind", "log"),
            "service": r.get("service", "payments-api"),
            "level": r.get("level", "error"),
            "actor": None,
            "message": r["message"],
            "attrs": None,
            "origin": r.get("origin", f"app.log:{i + 1}"),
        }
        for i, r in enumerate(rows)
    ]
    frame = pl.DataFrame(full, schema=schema.EVENTS_SCHEMA) if full else schema.empty("events")
    return schema.validate(frame, "events")


def spread(start: dt.datetime, n: int, make: Any, *, every: float = 10, **extra: Any) -> list[dict[str, Any]]:
    """``n`` log rows, one every ``every`` seconds from ``start``; ``make(i)`` gives each message."""
    return [{"ts": start + dt.timedelta(seconds=every * i), "message": make(i), **extra} for i in range(n)]


NAMES = ["alice", "bob", "carol", "dave", "erin"]
UUIDS = [f"{i:08x}-1b2c-4d5e-8f90-{i:012x}" for i in range(1, 30)]


def incident() -> pl.DataFrame:
    rows = (
        # steady: 10 in the baseline, 10 in impact, one hours earlier
        spread(BASE_START, 10, lambda i: f"user {NAMES[i % 5]} not found in tenant {i}", level="warning")
        + spread(IMPACT[0], 10, lambda i: f"user {NAMES[i % 5]} not found in tenant {i + 40}", level="warning")
        + [{"ts": IMPACT[0] - dt.timedelta(hours=3), "message": "user zed not found in tenant 7", "level": "warning"}]
        # surging: 2 in the baseline, 20 in impact (rate ratio 10)
        + spread(BASE_START, 2, lambda i: f"timeout after {100 + i} ms calling 10.0.0.{i}:5432")
        + spread(
            IMPACT[0] + dt.timedelta(minutes=1), 20, lambda i: f"timeout after {900 + i} ms calling 10.0.1.{i}:5432"
        )
        # new: only in impact, two services
        + spread(
            IMPACT[0] + dt.timedelta(minutes=2),
            6,
            lambda i: f'pool exhausted ({i}/5 in use) for request {UUIDS[i]} db="payments"',
            origin="app.log:pool",
            level="critical",
        )
        + [
            {
                "ts": IMPACT[0] + dt.timedelta(minutes=5),
                "message": 'pool exhausted (5/5 in use) for request 0000001d-1b2c-4d5e-8f90-00000000001d db="ledger"',
                "service": "ledger",
                "source": "ledger-app",
            }
        ]
        # rare: new but below min_count
        + spread(IMPACT[0], 2, lambda i: f"segfault at 0x{i + 10:x}")
        # info noise and a non-log event: not mined by default
        + spread(IMPACT[0], 30, lambda i: f"request {i} served", level="info")
        + [{"ts": IMPACT[0], "kind": "deploy", "message": "deploy v2 failed", "level": None}]
    )
    return events(rows)


def test_new_surging_steady() -> None:
    out = sig.signatures(incident(), impact=IMPACT, all_templates=True)
    by = {r["template"]: r for r in out.iter_rows(named=True)}
    new = by["pool exhausted (<NUM>/<NUM> in use) for request <UUID> db=<STR>"]
    assert new["status"] == "new"
    assert (new["count_impact"], new["count_baseline"]) == (7, 0)
    assert math.isinf(new["rate_ratio"])
    assert new["first_seen_in_impact"] == IMPACT[0] + dt.timedelta(minutes=2)
    assert new["services"] == ["ledger", "payments-api"]
    assert new["sources"] == ["app", "ledger-app"]
    assert new["levels"] == ["critical", "error"]
    assert (
        new["example"] == 'pool exhausted (0/5 in use) for request 00000001-1b2c-4d5e-8f90-000000000001 db="payments"'
    )
    assert new["origins"] == "app.log:pool"

    surging = by["timeout after <NUM> ms calling <IP>"]
    assert surging["status"] == "surging"
    assert (surging["count_impact"], surging["count_baseline"]) == (20, 2)
    assert surging["rate_ratio"] == pytest.approx(10.0)

    steady = by["user <*> not found in tenant <NUM>"]
    assert steady["status"] == "steady"
    assert steady["rate_ratio"] == pytest.approx(1.0)
    assert steady["first_seen"] == IMPACT[0] - dt.timedelta(hours=3)  # first_seen spans all the evidence
    assert steady["last_seen"] == IMPACT[0] + dt.timedelta(seconds=90)

    assert by["segfault at <HEX>"]["status"] == "steady"  # new but under min_count
    assert not any("served" in t for t in by)  # info level is not mined by default
    assert out.get_column("status").to_list() == ["new", "surging", "steady", "steady"]
    assert out.schema == pl.Schema(sig.SIGNATURES_SCHEMA)


def test_default_returns_only_new_and_surging_sorted() -> None:
    out = sig.signatures(incident(), impact=IMPACT)
    assert out.get_column("status").to_list() == ["new", "surging"]
    lowered = sig.signatures(incident(), impact=IMPACT, min_count=2)
    assert lowered.get_column("status").to_list() == ["new", "new", "surging"]
    assert lowered.get_column("count_impact").to_list() == [7, 2, 20]


def test_levels_none_mines_every_log_and_baseline_can_be_given() -> None:
    out = sig.signatures(incident(), impact=IMPACT, levels=None)
    assert "request <NUM> served" in out.get_column("template").to_list()
    # a baseline that saw the pool message makes it steady-or-surging, not new
    far = (IMPACT[0] - dt.timedelta(hours=4), IMPACT[0] - dt.timedelta(hours=2))
    out = sig.signatures(incident(), impact=IMPACT, baseline=far, all_templates=True)
    user = out.filter(pl.col("template") == "user <*> not found in tenant <NUM>").row(0, named=True)
    assert user["count_baseline"] == 1
    assert user["rate_ratio"] == pytest.approx((10 / 30) / (1 / 120))
    assert user["status"] == "surging"


def test_drain3_sees_each_distinct_message_once(monkeypatch: pytest.MonkeyPatch) -> None:
    fed: list[str] = []
    real = sig.template_miner

    def counting(**kw: Any) -> Any:
        miner = real(**kw)
        add = miner.drain.add_log_message

        def wrapped(message: str) -> Any:
            fed.append(message)
            return add(message)

        miner.drain.add_log_message = wrapped  # type: ignore[method-assign]
        return miner

    monkeypatch.setattr(sig, "template_miner", counting)
    rows = spread(IMPACT[0], 1000, lambda i: "upstream connect error or disconnect/reset before headers", every=1)
    rows += spread(IMPACT[0], 1000, lambda i: f"retry {i % 7} of request {i} failed", every=1)
    rows += spread(BASE_START, 3, lambda i: "upstream connect error or disconnect/reset before headers")
    out = sig.signatures(events(rows), impact=IMPACT, all_templates=True)
    assert sorted(fed) == [
        "retry <NUM> of request <NUM> failed",
        "upstream connect error or disconnect/reset before headers",
    ]
    counts = dict(zip(out.get_column("template"), out.get_column("count_impact"), strict=True))
    assert counts == {
        "retry <NUM> of request <NUM> failed": 1000,
        "upstream connect error or disconnect/reset before headers": 1000,
    }


def test_templates_mask_variable_parts() -> None:
    rows = [
        {"ts": IMPACT[0], "message": "GET /orders/123 from 192.168.1.20:51234 took 85ms"},
        {"ts": IMPACT[0], "message": "GET /orders/98765 from 10.1.2.3:443 took 1200ms"},
        {"ts": IMPACT[0], "message": "commit a1b2c3d4e5f6 pushed by 'ci-bot' to fe80::1ff:fe23:4567:890a"},
        {"ts": IMPACT[0], "message": "commit 0123456789abcdef pushed by 'deployer' to 2001:db8::8a2e:370:7334"},
        {"ts": IMPACT[0], "message": 'lock wait 0x7f3a on "users" table, tx 550e8400-e29b-41d4-a716-446655440000'},
        {"ts": IMPACT[0], "message": "can't reach db::primary"},
    ]
    templates = set(sig.signatures(events(rows), impact=IMPACT, min_count=1).get_column("template"))
    assert templates == {
        "GET /orders/<NUM> from <IP> took <NUM>ms",
        "commit <HEX> pushed by <STR> to <IP>",
        "lock wait <HEX> on <STR> table, tx <UUID>",
        "can't reach db::primary",
    }
    assert not any(re.search(r"\d", t) for t in templates)


def test_template_of_aligns_with_rows_and_signatures() -> None:
    frame = incident()
    tmpl = sig.template_of(frame)
    assert tmpl.len() == frame.height and tmpl.name == "template"
    mined = (frame.get_column("kind") == "log") & frame.get_column("level").is_in(list(sig.DEFAULT_LEVELS))
    assert tmpl.is_null().to_list() == (~mined).to_list()
    assert set(tmpl.drop_nulls()) == set(
        sig.signatures(frame, impact=IMPACT, all_templates=True).get_column("template")
    )
    per_minute = (
        frame.with_columns(tmpl)
        .drop_nulls("template")
        .sort("ts")
        .group_by_dynamic("ts", every="10m", group_by="template")
    )
    assert per_minute.agg(pl.len()).height > 0
    assert sig.template_of(frame, levels=None).null_count() == 1  # only the deploy event


def test_row_order_does_not_change_the_result() -> None:
    frame = incident()
    a = sig.signatures(frame, impact=IMPACT, all_templates=True)
    b = sig.signatures(frame.sample(fraction=1.0, shuffle=True, seed=7), impact=IMPACT, all_templates=True)
    assert a.equals(b)


def test_empty_input_and_bad_windows() -> None:
    for frame in (schema.empty("events"), events([{"ts": IMPACT[0], "kind": "chat", "message": "hi", "level": None}])):
        out = sig.signatures(frame, impact=IMPACT)
        assert out.height == 0 and out.schema == pl.Schema(sig.SIGNATURES_SCHEMA)
    assert sig.template_of(schema.empty("events")).len() == 0
    with pytest.raises(ValueError, match="impact window must end after it starts"):
        sig.signatures(incident(), impact=(IMPACT[1], IMPACT[0]))


def test_naive_windows_are_utc() -> None:
    naive = tuple(t.replace(tzinfo=None) for t in IMPACT)
    assert sig.signatures(incident(), impact=naive).equals(sig.signatures(incident(), impact=IMPACT))  # type: ignore[arg-type]


@settings(max_examples=scaled(200), deadline=None)
@given(st.text(alphabet=st.characters(codec="ascii"), max_size=80))
def test_vectorised_mask_matches_the_miners_masker_and_is_idempotent(text: str) -> None:
    miner = sig.template_miner()
    once = pl.DataFrame({"message": [text]}).select(sig.mask_expr()).item()
    assert once == miner.masker.mask(text)
    assert pl.DataFrame({"message": [once]}).select(sig.mask_expr()).item() == once
