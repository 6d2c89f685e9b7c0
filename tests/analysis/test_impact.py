"""Baseline-aware impact: the Poisson tail, failing vs background endpoints, the incident's run, counts in the
stated window, and user ids from query strings or error logs. Hand-made frames whose answer is known."""

from __future__ import annotations

import datetime as dt
import json
import math

import polars as pl
import pytest

from pmkit import schema
from pmkit.analysis.baseline import Rule, compare_groups, incident_run, poisson_upper_tail
from pmkit.analysis.impact import assess, endpoint_expr
from pmkit.analysis.sli import detect_impact, minutes_from_requests, request_frame

UTC = dt.UTC
T0 = dt.datetime(2025, 6, 15, 13, 0, tzinfo=UTC)  # baseline hour 13:00-14:00, impact from 14:00
START = T0 + dt.timedelta(hours=1)


def _exact_tail(k: int, mu: float) -> float:
    return 1.0 - sum(math.exp(i * math.log(mu) - mu - math.lgamma(i + 1)) for i in range(k))


def requests(spec: list[tuple[str, dt.datetime, int, int, int]]) -> pl.DataFrame:
    """(endpoint path, first ts, seconds apart, requests, failures among the first ones) -> request_frame-like rows."""
    frames = []
    for path, first, every, n, failed in spec:
        frames.append(
            pl.DataFrame(
                {
                    "ts": pl.datetime_range(
                        first, first + dt.timedelta(seconds=every * (n - 1)), dt.timedelta(seconds=every), eager=True
                    ).dt.cast_time_unit("us"),
                    "status": [500] * failed + [200] * (n - failed),
                }
            ).with_columns(
                pl.lit("GET").alias("method"),
                pl.lit(path).alias("path"),
                pl.lit("svc").alias("service"),
                pl.lit(None, pl.String).alias("user"),
                pl.lit(None, pl.String).alias("tenant"),
                pl.lit(0.1).alias("duration_s"),
                pl.format("a.log:{}", pl.int_range(pl.len())).alias("origin"),
            )
        )
    df = pl.concat(frames).sort("ts")
    return df.with_columns((pl.col("status") < 500).alias("ok"))


def test_poisson_tail_matches_the_exact_sum_and_stays_a_probability() -> None:
    cases = [(1, 0.5), (5, 3.0), (6, 0.4), (40, 20.0), (151, 100.0), (200, 180.0), (1000, 900.0), (10, 40.0)]
    got = poisson_upper_tail(pl.DataFrame({"k": [k for k, _ in cases], "mu": [m for _, m in cases]}))
    for (k, mu), p in zip(cases, got, strict=True):
        want = _exact_tail(k, mu) if k < 400 else None
        if want is not None and want > 1e-9:
            assert p == pytest.approx(want, rel=0.05), (k, mu)
        assert 0.0 <= p <= 1.0
    # k = 0 is certain; thousands of failures where 3 are expected is not chance
    more = poisson_upper_tail(pl.DataFrame({"k": [0, 3000], "mu": [2.0, 3.0]}))
    assert more.to_list()[0] == 1.0 and more.to_list()[1] < 1e-12


def test_background_endpoints_beside_the_failing_one() -> None:
    """Two endpoints fail 5-6 times an hour as usual and go on so during the impact; one goes from 0 to
    thousands. Only that one is failing; the others are the background, counted apart."""
    spec = [
        ("/pay", T0, 1, 3600, 0),  # baseline: 3600 requests, 0 failures
        ("/lookup", T0, 6, 600, 6),
        ("/search", T0, 7, 500, 5),
        ("/pay", START, 1, 1800, 1500),  # impact: 1500 of 1800 fail
        ("/lookup", START, 6, 300, 3),
        ("/search", START, 7, 250, 3),
    ]
    r = requests(spec)
    end = START + dt.timedelta(minutes=30)
    eps = compare_groups(r, endpoint_expr(), start=START, end=end)
    rows = {x["group"]: x for x in eps.iter_rows(named=True)}
    assert rows["GET /pay"]["failing"] and rows["GET /pay"]["failed"] == 1500
    assert rows["GET /pay"]["baseline_failed"] == 0 and rows["GET /pay"]["baseline_total"] == 3600
    assert not rows["GET /lookup"]["failing"] and not rows["GET /search"]["failing"]
    assert rows["GET /lookup"]["p_value"] > 0.1  # 3 failures where about 3 are expected
    imp = assess(
        minutes_from_requests(r), detect_impact(minutes_from_requests(r)), start=START, end=end, requests=r, sli="x"
    )
    assert imp.failing_endpoints == ["GET /pay"]
    assert imp.background == {"endpoints": 2, "failures": 6, "which": ["GET /lookup", "GET /search"]}
    assert set(imp.endpoints.columns) >= {
        "endpoint",
        "failed",
        "total",
        "baseline_failed",
        "baseline_total",
        "p_value",
        "failing",
    }


def test_zero_baseline_endpoint_fails_and_a_single_failure_does_not() -> None:
    """A health check never failed in its baseline: 200 of 300 failing is failing (the prior keeps the expected
    count above 0); one failure in 300 of another zero-baseline endpoint is not."""
    r = requests(
        [
            ("/healthz", T0, 6, 600, 0),
            ("/other", T0, 6, 600, 0),
            ("/healthz", START, 6, 300, 200),
            ("/other", START, 6, 300, 1),
        ]
    )
    eps = compare_groups(r, endpoint_expr(), start=START, end=START + dt.timedelta(minutes=30))
    rows = {x["group"]: x for x in eps.iter_rows(named=True)}
    assert rows["GET /healthz"]["failing"] and rows["GET /healthz"]["expected"] > 0
    assert rows["GET /healthz"]["p_value"] < 1e-12
    assert not rows["GET /other"]["failing"] and rows["GET /other"]["p_value"] > 0.01


def test_min_share_and_lookback_are_honoured() -> None:
    """An endpoint significantly above baseline holding under min_share of the failures is background."""
    r = requests(
        [
            ("/pay", T0, 1, 3600, 0),
            ("/rare", T0, 10, 360, 0),
            ("/pay", START, 1, 1800, 1500),
            ("/rare", START, 10, 180, 10),  # 10 of 1510 failures: 0.66% < 1%
        ]
    )
    end = START + dt.timedelta(minutes=30)
    eps = compare_groups(r, endpoint_expr(), start=START, end=end)
    rare = eps.filter(pl.col("group") == "GET /rare").row(0, named=True)
    assert rare["p_value"] < 0.001 and not rare["failing"]
    eps = compare_groups(r, endpoint_expr(), start=START, end=end, rule=Rule(min_share=0.005))
    assert eps.filter(pl.col("group") == "GET /rare").get_column("failing").item()
    short = compare_groups(r, endpoint_expr(), start=START, end=end, rule=Rule(lookback=dt.timedelta(minutes=10)))
    assert short.filter(pl.col("group") == "GET /pay").get_column("baseline_total").item() == 600


def test_incident_run_ignores_background_failures_and_counts_use_the_stated_window() -> None:
    """The run starts and ends at the failing endpoint's first and last failure; a background failure of another
    endpoint after it (still in the SLI's last bad minute) does not extend it; counts are [start, end] inclusive."""
    r = requests(
        [
            ("/pay", T0, 1, 3600, 0),
            ("/lookup", T0, 6, 600, 6),
            ("/pay", START + dt.timedelta(seconds=20), 1, 600, 600),  # 14:00:20-14:10:19, all fail
            ("/pay", START + dt.timedelta(seconds=620), 1, 1200, 0),  # back to normal from 14:10:20
            ("/lookup", START + dt.timedelta(seconds=5), 6, 300, 0),
            ("/lookup", START + dt.timedelta(seconds=623), 1, 1, 1),  # one background failure at 14:10:23
        ]
    )
    window = detect_impact(minutes_from_requests(r))
    assert window.start == START and window.end == START + dt.timedelta(minutes=11)
    run = incident_run(r, endpoint_expr(), start=window.start, end=window.end)
    assert run.first is not None and run.last is not None
    assert run.first["ts"] == START + dt.timedelta(seconds=20)
    assert run.last["ts"] == START + dt.timedelta(seconds=619)
    imp = assess(
        minutes_from_requests(r), window, start=run.first["ts"], end=run.last["ts"], requests=r, sli="request log 'x'"
    )
    inside = r.filter((pl.col("ts") >= run.first["ts"]) & (pl.col("ts") <= run.last["ts"]))
    assert imp.total_requests == inside.height and imp.failed_requests == 600
    assert imp.counted == "request log 'x', all endpoints, 14:00:20-14:10:19 UTC"
    assert imp.duration_minutes == pytest.approx(599 / 60)


def _event(ts: dt.datetime, attrs: dict, *, level: str = "info", source: str = "nginx", message: str = "") -> dict:
    return {
        "ts": ts,
        "source": source,
        "kind": "log",
        "service": "web",
        "level": level,
        "actor": None,
        "message": message,
        "attrs": json.dumps(attrs),
        "origin": f"{source}:1",
    }


def test_user_ids_from_the_query_string_and_attrs_first() -> None:
    ev = pl.DataFrame(
        [
            _event(START, {"status": 500, "method": "GET", "path": "/search?q=shoes&uid=u_1"}),
            _event(START, {"status": 500, "method": "GET", "path": "/search?user_id=u_2&q=x"}),
            _event(START, {"status": 500, "method": "GET", "path": "/search?uid=u_3", "user": "u_9"}),
            _event(START, {"status": 200, "method": "GET", "path": "/search?q=a&xuid=7"}),
            _event(START, {"status": 200, "method": "GET", "path": "/search?uid=-"}),
        ],
        schema=schema.EVENTS_SCHEMA,
    )
    users = request_frame(ev).get_column("user").to_list()
    assert users == ["u_1", "u_2", "u_9", None, None]


def test_affected_users_from_error_logs_when_the_request_log_names_none() -> None:
    """The request log has no user id at all; the app's error lines in the window carry uid= in the message
    or a user field: those are counted and the basis says so. Lines outside the window are not."""
    reqs = [
        _event(START + dt.timedelta(seconds=s), {"status": 500, "method": "GET", "path": "/pay"}) for s in range(10)
    ]
    app = [
        _event(START + dt.timedelta(seconds=1), {}, level="error", source="app", message="charge failed uid=u_1"),
        _event(START + dt.timedelta(seconds=2), {"user_id": "u_2"}, level="error", source="app", message="failed"),
        _event(START + dt.timedelta(seconds=3), {}, level="error", source="app", message="charge failed uid=u_1"),
        _event(START + dt.timedelta(hours=1), {}, level="error", source="app", message="later uid=u_3"),
    ]
    events = pl.DataFrame(reqs + app, schema=schema.EVENTS_SCHEMA)
    r = request_frame(events, source="nginx")
    m = minutes_from_requests(r)
    imp = assess(m, detect_impact(m), start=START, end=START + dt.timedelta(seconds=9), requests=r, events=events)
    assert imp.affected_users == 2
    assert "error-level log events" in imp.basis and "request log names no user" in imp.basis


def _access_line(t: dt.datetime, path: str, status: int, method: str = "GET") -> str:
    stamp = t.strftime("%d/%b/%Y:%H:%M:%S +0000")
    return f'10.0.0.1 - - [{stamp}] "{method} {path} HTTP/1.1" {status} 12 "-" "curl/8"'


def _write_folder(root: object, *, uid_in_query: bool) -> None:
    """A small incident folder: 2 h of an access log (one request a second, 13:00-15:00) where /search fails
    14:00:00-14:19:59 for 80% of requests, /cart fails once every 10 minutes all along (background), and an
    app log whose error lines name the user (``uid=``) during the failure."""
    from pathlib import Path

    root = Path(str(root))
    (root / "logs").mkdir(parents=True)
    lines, app = [], []
    for s in range(7200):
        t = T0 + dt.timedelta(seconds=s)
        user = f"u_{s % 97}"
        if s % 2:
            failing = 3600 <= s < 4800 and s % 5 != 0
            query = f"/search?q=shoes&uid={user}" if uid_in_query else "/search?q=shoes"
            lines.append(_access_line(t, query, 503 if failing else 200))
            if failing and s % 3 == 0:
                app.append(json.dumps({"ts": t.isoformat(), "level": "error", "msg": f"search failed uid={user}"}))
        else:
            lines.append(_access_line(t, "/cart", 500 if s % 600 == 0 else 200, "POST"))
    (root / "logs" / "access.log").write_text("\n".join(lines) + "\n")
    (root / "logs" / "app.jsonl").write_text("\n".join(app) + "\n")
    (root / "incident.yaml").write_text(
        "id: INC-TEST-1\ntitle: search failing\nservices: [web]\nimpact: {baseline: 30m, min_share: 0.01}\n"
        "sources:\n"
        "- {name: nginx, kind: logs, format: combined, path: logs/access.log, service: web}\n"
        "- {name: app, kind: logs, format: jsonl, path: logs/app.jsonl, service: web,"
        " fields: {ts: ts, level: level, message: msg}}\n"
    )


@pytest.mark.parametrize("uid_in_query", [True, False])
def test_a_small_incident_folder_end_to_end(tmp_path: object, uid_in_query: bool) -> None:
    """The run, the failing endpoint, the background apart, the lookback from incident.yaml, and the users:
    from the query string, else from the app's error lines (the basis says which)."""
    import pmkit as pm
    from pmkit.pipeline import analyze

    _write_folder(tmp_path, uid_in_query=uid_in_query)
    a = analyze(pm.Incident.load(tmp_path, cache=False))
    imp = a.impact
    assert imp.start == START + dt.timedelta(seconds=1)  # the first failing /search request
    last_failing = max(s for s in range(3601, 4800, 2) if s % 5 != 0)
    assert a.milestones["mitigated"].ts == T0 + dt.timedelta(seconds=last_failing)
    assert a.milestones["mitigated"].evidence["origin"].endswith(f"access.log:{last_failing + 1}")
    assert imp.failing_endpoints == ["GET /search"]
    # /cart fails at 14:00:00 (before the first /search failure, 14:00:01) and 14:10:00 (inside): one background
    assert imp.background["which"] == ["POST /cart"] and imp.background["failures"] == 1
    assert imp.rule.lookback == dt.timedelta(minutes=30)
    search = imp.endpoints.filter(pl.col("endpoint") == "GET /search").row(0, named=True)
    assert search["baseline_total"] == 900 and search["baseline_failed"] == 0
    failing_users = {f"u_{s % 97}" for s in range(3601, 4800, 2) if s % 5 != 0}
    if uid_in_query:
        assert imp.affected_users == len(failing_users)
        assert imp.basis.startswith("request logs")
    else:
        assert imp.affected_users == len({f"u_{s % 97}" for s in range(3601, 4800, 2) if s % 5 != 0 and s % 3 == 0})
        assert "error-level log events" in imp.basis


@pytest.mark.parametrize(
    ("impact", "says"),
    [
        ({"baseline": "0m"}, "impact.baseline"),
        ({"baseline": "soon"}, "is not a duration"),
        ({"min_share": 2}, "impact.min_share"),
        ({"lookback": "1h"}, "did you mean|expected one of"),
    ],
)
def test_impact_settings_are_checked_with_their_key(impact: dict, says: str) -> None:
    import re

    from pmkit.errors import SpecError
    from pmkit.spec import parse_spec

    with pytest.raises(SpecError) as err:
        parse_spec({"id": "X", "impact": impact})
    assert re.search(says, str(err.value))


def test_endpoint_masks_random_tokens_but_keeps_words() -> None:
    """Product ids such as ``0kczpjaxyr`` are one endpoint; ``v1beta1``, ``healthz`` and ``checkout`` stay."""
    paths = [
        "/api/v2/products/0kczpjaxyr",
        "/api/v2/products/tnvvz2owj7?uid=u_1",
        "/apis/v1beta1/checkout",
        "/healthz",
        "/orders/12345/items/a1b2c3d4e5f6",
        "/users/cus_12345",
    ]
    got = pl.DataFrame({"method": ["GET"] * len(paths), "path": paths}).select(endpoint_expr()).to_series().to_list()
    assert got == [
        "GET /api/v2/products/{id}",
        "GET /api/v2/products/{id}",
        "GET /apis/v1beta1/checkout",
        "GET /healthz",
        "GET /orders/{id}/items/{id}",
        "GET /users/{id}",
    ]


def test_a_grouping_key_is_computed_once_per_distinct_path() -> None:
    """compare_groups computes a row-wise key (an endpoint) per distinct path and joins it back: the same
    groups, figures and order as the key evaluated on every row, nulls and odd paths included."""
    import random

    from pmkit.analysis import baseline

    rnd = random.Random(13)
    paths = ["/api/v1/payments/8812", "/api/v1/users/77/orders?page=2", "/healthz", None, "", "/pay/cus_1234abcd"]
    t0 = dt.datetime(2025, 6, 15, 13, 0, tzinfo=dt.UTC)
    n = 20_000
    requests = pl.DataFrame(
        {
            "ts": [t0 + dt.timedelta(seconds=i * 7200 / n) for i in range(n)],
            "method": [rnd.choice(["GET", "POST", None]) for _ in range(n)],
            "path": [rnd.choice(paths) for _ in range(n)],
            "ok": [rnd.random() > (0.4 if i > n // 2 else 0.01) for i in range(n)],
        }
    )
    start, end = t0 + dt.timedelta(hours=1), t0 + dt.timedelta(minutes=100)
    fast = compare_groups(requests, endpoint_expr(), start=start, end=end)
    every_row = requests.with_columns(endpoint_expr().alias("_ep"))
    slow = compare_groups(every_row, pl.col("_ep"), start=start, end=end)  # a plain column: no join
    assert fast.equals(slow) and fast.height >= 5
    keyed = baseline.with_key(requests, endpoint_expr())
    assert keyed.get_column("group").to_list() == every_row.get_column("_ep").to_list()  # rows kept in order
