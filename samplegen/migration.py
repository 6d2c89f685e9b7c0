"""INC-20250120-103000 (seeds/000): a migration's table lock on ``users`` took the api down.

The story, UTC, 2025-01-20 (evidence window 09:30-11:30):

- 10:00 v2.3.0 of api-server starts as a 10% canary; 10:14:47 it is promoted and migration
  0042 runs ``ALTER TABLE users ADD COLUMN preferences JSONB`` without ``lock_timeout``.
  The ALTER queues for an ACCESS EXCLUSIVE lock behind an analytics transaction open since
  09:47, and every query on ``users`` queues behind the ALTER.
- from 10:15:13 (the first 15 s statement timeout) 80% of requests fail (the seed's table:
  80% 10:15-10:35, 2% 10:35-10:45, 0.05% otherwise); p95 latency 150 ms -> 15,000 ms.
- 10:16:30 APIHighErrorRate fires; 10:17 ack; 10:20 P0 declared; 10:30 ``kubectl rollout
  undo`` (done 10:34:48); 10:34:41 the migration's backend is terminated and the lock queue
  drains; 10:35 service restored (2% errors while connections recover); 10:45 confirmed
  (synthetic tests); 11:00 closed.

At ~520 req/s the requests are not logged one by one: request counts come from Prometheus
(``increase`` per minute by code) and the app logs at most one error line per user per
minute with ``repeats`` = that user's failed requests in that minute, so the sum of
``repeats`` equals the metrics' 5xx count over any whole minutes.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
from dataclasses import dataclass, field
from typing import Any

from samplegen import common
from samplegen.common import (
    MINUTE,
    SECOND,
    Rng,
    Sample,
    dt_of,
    iso_ms,
    iso_ns,
    iso_s,
    median,
    minutes,
    ms_of,
)
from samplegen.writers import (
    GhStatus,
    PdAccount,
    SlackExport,
    SlackUser,
    am_alert,
    am_payload,
    gh_deployment,
    gh_user,
    go_json_bytes,
    gzip_bytes,
    json_bytes,
    jsonl_line,
    lines_bytes,
    prom_generator_url,
    prom_matrix,
    slack_ms,
    slack_us_iso,
    yaml_bytes,
)

ID = "INC-20250120-103000"
SERVICE = "api"


def at(hms: str) -> int:
    """Epoch ms of ``HH:MM:SS[.fff]`` UTC on 2025-01-20."""
    return ms_of(f"2025-01-20T{hms}Z")


WINDOW = (at("09:30:00"), at("11:30:00"))
DEPLOY_CREATED = at("10:00:00")
PROMOTED = at("10:14:47")
MIGRATION_START = at("10:14:58.210")
FIRST_TIMEOUT = MIGRATION_START + 15 * SECOND  # statement_timeout = 15 s
ANALYTICS_TX = (at("09:47:12"), at("10:52:30"))
ROLLBACK_CREATED = at("10:30:00")
ROLLBACK_DONE = at("10:34:48")
MIGRATION_KILLED = at("10:34:41.377")
BAD = (at("10:15:00"), at("10:35:00"))  # 80% errors (the seed's table)
RECOVERING = (at("10:35:00"), at("10:45:00"))  # 2% errors
ALERT_STARTS = at("10:16:30.882")
PD_TRIGGER = at("10:16:41")
PD_ACK = at("10:17:22")
PD_ASSIGN = at("10:20:02")
PD_NOTE = at("10:20:31")
PD_RESOLVE = at("11:00:05")
DECLARE = at("10:20:05")
BASELINE_RATIO = 0.0005
SLICE_THRESHOLD = 0.001  # 1 - 99.9%

OLD_RS, NEW_RS = "7d4b9c6f5", "5f8c7d9b6"
ROUTES = (
    ("GET", "/v1/users/me", 35),
    ("GET", "/v1/orders", 20),
    ("POST", "/v1/auth/token", 15),
    ("GET", "/v1/products", 12),
    ("POST", "/v1/orders", 10),
    ("PATCH", "/v1/users/me/settings", 8),
)
OK_CODES = ((200, 0.925), (201, 0.025), (204, 0.01), (304, 0.01), (401, 0.01), (404, 0.015), (429, 0.005))

TB_TIMEOUT = (
    "Traceback (most recent call last):\n"
    '  File "/usr/local/lib/python3.11/site-packages/sqlalchemy/engine/base.py", line 1910, in _execute_context\n'
    "    self.dialect.do_execute(\n"
    '  File "/usr/local/lib/python3.11/site-packages/sqlalchemy/engine/default.py", line 736, in do_execute\n'
    "    cursor.execute(statement, parameters)\n"
    "psycopg2.errors.QueryCanceled: canceling statement due to statement timeout\n"
    "\n"
    "The above exception was the direct cause of the following exception:\n"
    "\n"
    "Traceback (most recent call last):\n"
    '  File "/app/api/handlers/users.py", line 42, in get_me\n'
    "    user = session.get(User, claims.user_id)\n"
    '  File "/usr/local/lib/python3.11/site-packages/sqlalchemy/orm/session.py", line 3471, in get\n'
    "    return self._get_impl(\n"
    '  File "/usr/local/lib/python3.11/site-packages/sqlalchemy/engine/base.py", line 1910, in _execute_context\n'
    "    self.dialect.do_execute(\n"
    "sqlalchemy.exc.OperationalError: (psycopg2.errors.QueryCanceled) canceling statement due to statement timeout\n"
    "[SQL: SELECT users.id, users.email, users.name, users.created_at FROM users WHERE users.id = %(pk_1)s]\n"
    "[parameters: {{'pk_1': {uid}}}]\n"
    "(Background on this error at: https://sqlalche.me/e/20/e3q8)"
)
TB_POOL = (
    "Traceback (most recent call last):\n"
    '  File "/app/api/db.py", line 31, in session_scope\n'
    "    conn = engine.connect()\n"
    '  File "/usr/local/lib/python3.11/site-packages/sqlalchemy/pool/impl.py", line 168, in _do_get\n'
    "    raise exc.TimeoutError(\n"
    "sqlalchemy.exc.TimeoutError: QueuePool limit of size 20 overflow 10 reached, connection timed out, timeout 5.00 "
    "(Background on this error at: https://sqlalche.me/e/20/3o7r)"
)
TB_CLIENTS = (
    "Traceback (most recent call last):\n"
    '  File "/app/api/db.py", line 31, in session_scope\n'
    "    conn = engine.connect()\n"
    '  File "/usr/local/lib/python3.11/site-packages/psycopg2/__init__.py", line 122, in connect\n'
    "    conn = _connect(dsn, connection_factory=connection_factory, **kwasync)\n"
    'psycopg2.OperationalError: connection to server at "pg-main.db.svc" (10.40.0.12), port 5432 failed: '
    "FATAL:  sorry, too many clients already"
)
TB_AUTH = (
    "Traceback (most recent call last):\n"
    '  File "/app/api/auth.py", line 88, in verify\n'
    "    resp = self.http.post(self.url, json=body, timeout=2.0)\n"
    "httpx.ReadTimeout: auth-service did not respond within 2.0s"
)
ERRORS = {
    "timeout": (500, "QueryCanceled: canceling statement due to statement timeout", TB_TIMEOUT),
    "pool": (503, "TimeoutError: QueuePool limit of size 20 overflow 10 reached", TB_POOL),
    "clients": (503, "OperationalError: FATAL: sorry, too many clients already", TB_CLIENTS),
    "auth": (500, "ReadTimeout: auth-service did not respond within 2.0s", TB_AUTH),
    "billing": (502, "BadGateway: billing-service returned 502", ""),
}


def phase(m: int) -> str:
    """``bad`` (80%), ``recovering`` (2%) or ``baseline`` for the minute starting at ``m``."""
    if BAD[0] <= m < BAD[1]:
        return "bad"
    if RECOVERING[0] <= m < RECOVERING[1]:
        return "recovering"
    return "baseline"


# ============================================================================ traffic


@dataclass
class Minute:
    """One minute ``[start, start+60s)`` of api traffic."""

    start: int
    total: int
    by_code: dict[int, int]
    failed: int
    active: int
    # user -> (failed requests this minute, first failure ms, kind of the first failure)
    users: dict[int, tuple[int, int, str]] = field(default_factory=dict)


def simulate(rng: Rng) -> tuple[list[Minute], set[int]]:
    """Per-minute counts by code and per-user failures; also every user active in the impact window."""
    mean_dur, arrivals = 7.5, 320.0  # sessions: 7.5 min on average, 320 new per minute (~2,400 active)
    population = 250_000
    active: list[list[float]] = []  # [user, weight, minutes left]
    for _ in range(int(arrivals * mean_dur)):
        active.append([rng.randint(0, population - 1), _weight(rng), 1 + int(rng.expo(mean_dur))])
    out: list[Minute] = []
    impact_users: set[int] = set()
    grid = range(WINDOW[0], WINDOW[1], MINUTE)
    for m in grid:
        for _ in range(rng.poisson(arrivals)):
            active.append([rng.randint(0, population - 1), _weight(rng), 1 + int(rng.expo(mean_dur - 1))])
        frac = (m - WINDOW[0]) / (WINDOW[1] - WINDOW[0])
        total = round(60 * (505 + 30 * frac) * (1 + rng.gauss(0, 0.008)))
        ph = phase(m)
        if ph == "bad":
            failed = round(total * rng.uniform(0.796, 0.804))
            kinds = (("timeout", 0.85), ("pool", 0.15))
        elif ph == "recovering":
            failed = round(total * rng.uniform(0.0188, 0.0212))
            kinds = (("clients", 0.6), ("timeout", 0.4))
        else:
            failed = min(rng.poisson(total * BASELINE_RATIO), int(total * SLICE_THRESHOLD))
            kinds = (("auth", 0.7), ("billing", 0.2), ("pool", 0.1))
        minute = Minute(m, total, {}, failed, len(active))
        cum = list(itertools.accumulate(a[1] for a in active))
        lo = max(m, FIRST_TIMEOUT) if ph == "bad" else m
        p_first = kinds[0][1]
        other_cum = list(itertools.accumulate(k[1] for k in kinds[1:]))
        picks: dict[int, list[Any]] = {}
        counts = [0] * len(kinds)
        rnd, bis, top, other_top = rng.random, bisect.bisect_right, cum[-1], other_cum[-1]
        for _ in range(failed):  # one weighted pick of a user (and a failure kind) per failed request
            user = active[bis(cum, rnd() * top)][0]
            k = 0 if rnd() < p_first else 1 + bis(other_cum, rnd() * other_top)
            counts[k] += 1
            got = picks.get(user)
            if got is None:
                picks[user] = [1, kinds[k][0]]
            else:
                got[0] += 1
        for (kind, _), n in zip(kinds, counts, strict=True):
            code = ERRORS[kind][0]
            minute.by_code[code] = minute.by_code.get(code, 0) + n
        for user, (count, kind) in picks.items():
            u = rng.random()
            first = lo + int((m + MINUTE - 1 - lo) * (1 - (1 - u) ** (1 / count)))
            minute.users[user] = (count, first, kind)
        _fill_ok_codes(rng, minute, total - failed)
        if BAD[0] <= m < RECOVERING[1]:
            impact_users.update(a[0] for a in active)
        out.append(minute)
        active = [[a[0], a[1], a[2] - 1] for a in active if a[2] > 1]
    return out, impact_users


def _weight(rng: Rng) -> float:
    return 2.718281828 ** rng.gauss(0, 0.8)


def _fill_ok_codes(rng: Rng, minute: Minute, n: int) -> None:
    """Spread the minute's non-failed requests over the usual codes."""
    left = n
    for code, share in OK_CODES[1:]:
        k = min(left, max(0, round(n * share * (1 + rng.gauss(0, 0.05)))))
        minute.by_code[code] = minute.by_code.get(code, 0) + k
        left -= k
    minute.by_code[200] = minute.by_code.get(200, 0) + left


# ============================================================================ the sample


@dataclass
class Build:
    minutes: list[Minute]
    impact_users: set[int]
    app_lines: int = 0
    error_lines: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    deploys: dict[str, Any] = field(default_factory=dict)
    alerts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    pd: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    slack: SlackExport | None = None
    marks: dict[str, Any] = field(default_factory=dict)


# The generated files name the generator by its former path (pmkit.samplegen): kept, so that
# data/samples stays byte-identical; run it as `python -m samplegen data/samples` from the repository root.
EXPECTED_HEADER = (
    "Ground truth of this sample, computed by pmkit.samplegen from the records it wrote.\n"
    "Regenerate: python -m pmkit.samplegen data/samples. Every key is described in data/samples/README.md."
)


def build() -> Sample:
    """Generate the INC-20250120-103000 folder."""
    mins, impact_users = simulate(Rng(ID, "traffic"))
    b = Build(mins, impact_users)
    s = Sample(ID)
    s.add("logs/api.jsonl.gz", gzip_bytes(write_app_log(b)))
    for name, doc in write_metrics(b).items():
        s.add(f"metrics/{name}.json", json_bytes(doc, indent=None))
    for name, doc in write_deploys(b).items():
        s.add(f"deploys/{name}.json", json_bytes(doc))
    write_alerts(b)
    for name, doc in b.alerts:
        s.add(f"alerts/alertmanager/{name}.json", go_json_bytes(doc))
    write_pagerduty(b)
    for name, doc in b.pd:
        s.add(f"alerts/pagerduty/{name}.json", json_bytes(doc))
    b.slack = write_slack(b)
    for rel, data in b.slack.files("chat/").items():
        s.add(rel, data)
    s.expected = ground_truth(b, s)
    s.add("incident.yaml", incident_yaml(b, s.expected))
    s.add("expected.yaml", yaml_bytes(s.expected, EXPECTED_HEADER))
    return s


# ---------------------------------------------------------------------------- pods and app log


def _pods(rng: Rng) -> dict[str, list[tuple[str, int, int]]]:
    """Pod names by version with their (start, end) serving times."""

    def name(rs: str) -> str:
        return f"api-server-{rs}-{rng.pod_suffix()}"

    old = [(name(OLD_RS), ms_of("2025-01-16T14:12:00Z"), PROMOTED + 8 * SECOND * i) for i in range(12)]
    canary = [(name(NEW_RS), DEPLOY_CREATED + 20 * SECOND, ROLLBACK_CREATED + 20 * SECOND * (i + 1)) for i in range(2)]
    promoted = [(name(NEW_RS), PROMOTED + 8 * SECOND * i, ROLLBACK_CREATED + 20 * SECOND * (i + 3)) for i in range(10)]
    back = [
        (name(OLD_RS), ROLLBACK_CREATED + 20 * SECOND * (i + 1) - 12 * SECOND, WINDOW[1] + MINUTE) for i in range(12)
    ]
    return {"2.2.4": old, "2.3.0": canary + promoted, "2.2.4-rollback": back}


def write_app_log(b: Build) -> bytes:
    """The api's JSON lines (UTC): rate-limited error lines, migration and startup lines."""
    rng = Rng(ID, "applog")
    pods = _pods(rng)
    all_pods = [p for group in pods.values() for p in group]
    b.marks["pods"] = pods
    recs: list[tuple[int, int, dict[str, Any]]] = []
    seq = itertools.count()

    def emit(ms: int, level: str, msg: str, logger: str, pod: str | None, **extra: Any) -> None:
        rec: dict[str, Any] = {"ts": iso_ms(ms), "level": level, "msg": msg, "service": SERVICE, "logger": logger}
        if pod is not None:
            rec["pod"] = pod
        rec.update(extra)
        recs.append((ms, next(seq), rec))

    route_cum = list(itertools.accumulate(r[2] for r in ROUTES))
    traced: set[tuple[str, int]] = set()  # (pod, minute) that already logged a stack trace
    for minute in b.minutes:
        for user in sorted(minute.users):
            count, first, kind = minute.users[user]
            serving = [p for p in all_pods if p[1] <= first < p[2]]
            pod = serving[rng.randint(0, len(serving) - 1)][0]
            method, route, _ = ROUTES[bisect.bisect_right(route_cum, rng.random() * route_cum[-1])]
            code, error, tb = ERRORS[kind]
            dur = {"timeout": 15000, "pool": 5000, "auth": 2000}.get(kind, 0) + rng.randint(3, 60)
            rec = {
                "trace_id": rng.hex(32),
                "user_id": f"u_{100000 + user}",
                "method": method,
                "route": route,
                "status": code,
                "duration_ms": dur,
                "error": error,
                "repeats": count,
            }
            if tb and (pod, minute.start) not in traced:
                traced.add((pod, minute.start))
                rec["exc"] = tb.format(uid=100000 + user) if kind == "timeout" else tb
            emit(first, "error", "request failed", "api.http", pod, **rec)
            b.error_lines.append({"ms": first, "user": user, "repeats": count, "status": code})
    for version, group in pods.items():
        v = version.split("-")[0]
        for pname, start, _ in group:
            if start >= WINDOW[0]:
                emit(start + 1830, "info", f"starting api-server {v}", "api.main", pname, version=v)
                emit(start + 2410, "info", "listening on 0.0.0.0:8000", "uvicorn.error", pname)
    mig = f"api-migrate-v2-3-0-{rng.pod_suffix()}"
    emit(MIGRATION_START - 640, "info", "Context impl PostgresqlImpl.", "alembic.runtime.migration", mig)
    emit(MIGRATION_START - 633, "info", "Will assume transactional DDL.", "alembic.runtime.migration", mig)
    emit(
        MIGRATION_START,
        "info",
        "Running upgrade 0041_order_indexes -> 0042_add_user_preferences, add users.preferences",
        "alembic.runtime.migration",
        mig,
    )
    emit(MIGRATION_START + 4, "info", "ALTER TABLE users ADD COLUMN preferences JSONB", "sqlalchemy.engine.Engine", mig)
    for k in (5, 10, 15):
        emit(
            MIGRATION_START + k * MINUTE,
            "warning",
            f"migration 0042 still running after {k * 60}s",
            "api.migrate",
            mig,
            migration="0042_add_user_preferences",
        )
    emit(
        MIGRATION_KILLED + 35,
        "error",
        "migration 0042 failed",
        "api.migrate",
        mig,
        migration="0042_add_user_preferences",
        exc="Traceback (most recent call last):\n"
        '  File "/usr/local/lib/python3.11/site-packages/sqlalchemy/engine/base.py", line 1910, in _execute_context\n'
        "    self.dialect.do_execute(\n"
        "psycopg2.errors.AdminShutdown: terminating connection due to administrator command\n"
        "[SQL: ALTER TABLE users ADD COLUMN preferences JSONB]",
    )
    recs.sort(key=lambda x: (x[0], x[1]))
    b.app_lines = len(recs)
    return lines_bytes(jsonl_line(r) for _, _, r in recs)


# ---------------------------------------------------------------------------- metrics

QUERIES = {
    "http_requests_by_code": 'sum by (code) (increase(http_requests_total{service="api"}[1m]))',
    "http_latency_p95": 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{service="api"}'
    "[1m])))",
    "postgres": '{__name__=~"pg_locks_count|pg_stat_activity_max_tx_duration",datname="app"}',
}
METRIC_SEMANTICS = {
    "http_requests_by_code": "requests the api completed in [t-60s, t) with that status code, exact integers (the "
    "increase over the step ending at t); summing the samples over (a, b] gives the requests of [a, b)",
    "http_latency_p95": "p95 request latency in seconds over [t-60s, t); no label, no __name__ (the metric name "
    "comes from options.metric)",
    "postgres": "postgres_exporter gauges every 30 s: locks held or awaited by mode, and the age in seconds of the "
    "oldest active transaction",
}
METRIC_STEP_SECONDS = {"http_requests_by_code": 60, "http_latency_p95": 60, "postgres": 30}


def write_metrics(b: Build) -> dict[str, dict[str, Any]]:
    rng = Rng(ID, "metrics")
    codes = sorted({c for m in b.minutes for c in m.by_code})
    series = [({"code": str(c)}, [(m.start + MINUTE, m.by_code.get(c, 0)) for m in b.minutes]) for c in codes]
    docs = {"http_requests_by_code": prom_matrix(series)}
    lat = []
    for m in b.minutes:
        ph = phase(m.start)
        if ph == "bad":
            v = 15.0 + rng.uniform(0.002, 0.03)
        elif ph == "recovering":
            v = 0.9 - 0.07 * (m.start - RECOVERING[0]) / MINUTE + rng.uniform(-0.03, 0.03)
        else:
            v = rng.gauss(0.150, 0.005)
        lat.append((m.start + MINUTE, round(v, 3)))
    b.marks["p95"] = lat
    docs["http_latency_p95"] = prom_matrix([({}, lat)])
    pg: list[tuple[dict[str, str], list[tuple[int, float]]]] = []
    base = {"datname": "app", "instance": "pg-main-exporter.db.svc:9187", "job": "postgres-exporter"}
    grid = range(WINDOW[0], WINDOW[1] + 1, 30 * SECOND)
    locked = (MIGRATION_START, MIGRATION_KILLED)
    for mode in ("accessexclusivelock", "accesssharelock", "rowexclusivelock"):
        pts = []
        for t in grid:
            held = locked[0] <= t < locked[1]
            if mode == "accessexclusivelock":
                v = 1 if held else 0
            elif mode == "accesssharelock":
                v = rng.randint(380, 470) if held else rng.randint(18, 42)
            else:
                v = rng.randint(55, 95) if held else rng.randint(2, 8)
            pts.append((t, float(v)))
        pg.append(({"__name__": "pg_locks_count", **base, "mode": mode}, pts))
        b.marks.setdefault("pg", {})[mode] = pts
    pts = []
    for t in grid:
        in_tx = ANALYTICS_TX[0] <= t < ANALYTICS_TX[1]
        pts.append((t, (t - ANALYTICS_TX[0]) / 1000 if in_tx else round(rng.uniform(0.2, 2.5), 3)))
    pg.append(({"__name__": "pg_stat_activity_max_tx_duration", **base, "state": "active"}, pts))
    docs["postgres"] = prom_matrix(sorted(pg, key=lambda s: sorted(s[0].items())))
    b.metrics.update(common.metric_records(docs, QUERIES))
    return docs


# ---------------------------------------------------------------------------- deploys

_BOT = gh_user("acme-deploy[bot]", 149123456, bot=True)


def write_deploys(b: Build) -> dict[str, list[dict[str, Any]]]:
    rng = Rng(ID, "deploys")
    john = gh_user("john", 70456123)
    plan = [
        (
            "api-server",
            "v2.2.4",
            "2025-01-16T14:10:00Z",
            [("in_progress", 4, "Rolling out v2.2.4"), ("success", 230, "Rollout complete")],
            "jane",
            731,
        ),
        (
            "web-frontend",
            "v8.12.0",
            "2025-01-20T09:20:00Z",
            [("in_progress", 4, "Rolling out v8.12.0"), ("success", 118, "Rollout complete")],
            "marco",
            2290,
        ),
        (
            "worker",
            "v1.9.3",
            "2025-01-20T09:52:00Z",
            [("in_progress", 3, "Rolling out v1.9.3"), ("success", 96, "Rollout complete")],
            "john",
            412,
        ),
        (
            "api-server",
            "v2.3.0",
            iso_s(DEPLOY_CREATED),
            [
                ("in_progress", 4, "Canary 10% (15 min bake)"),
                (
                    "in_progress",
                    (PROMOTED - DEPLOY_CREATED) // 1000,
                    "Canary healthy; promoting to 100% and running migrations",
                ),
                ("failure", (ROLLBACK_CREATED - DEPLOY_CREATED) // 1000 + 2, f"Rolled back ({ID})"),
            ],
            "jane",
            768,
        ),
        (
            "api-server",
            "v2.2.4",
            iso_s(ROLLBACK_CREATED),
            [
                ("in_progress", 3, "kubectl rollout undo deployment/api-server"),
                ("success", (ROLLBACK_DONE - ROLLBACK_CREATED) // 1000, "Rollback complete: 12/12 pods on v2.2.4"),
            ],
            "john",
            None,
        ),
        (
            "billing",
            "v3.4.1",
            "2025-01-20T11:15:00Z",
            [("in_progress", 4, "Rolling out v3.4.1"), ("success", 140, "Rollout complete")],
            "marco",
            988,
        ),
    ]
    dep_id, status_id = 1987400000, 2310500000
    shas: dict[tuple[str, str], str] = {}
    made: list[dict[str, Any]] = []
    live: dict[str, dict[str, Any]] = {}
    for repo, ver, created, states, who, pr in plan:
        dep_id += rng.randint(40_000, 900_000)
        c = ms_of(created)
        rollback = pr is None
        svc = "api" if repo == "api-server" else repo
        payload: dict[str, Any] = {"service": svc, "version": ver, "image": f"ghcr.io/acme/{repo}:{ver}"}
        if rollback:
            payload.update(
                rollback_of=b.marks["culprit"]["id"],
                method="kubectl rollout undo deployment/api-server",
                reason=ID,
                requested_by=who,
            )
            desc = f"Rollback to {ver}"
        else:
            payload.update(strategy="canary" if repo == "api-server" else "rolling", requested_by=who, pull_request=pr)
            desc = f"{repo} {ver}"
            if ver == "v2.3.0":
                payload["migrations"] = ["0042_add_user_preferences"]
                desc = "api-server v2.3.0: user preferences (migration 0042 adds users.preferences)"
        run = f"https://github.com/acme/{repo}/actions/runs/{12850000000 + rng.randint(0, 9_999_999)}"
        rec = {
            "repo": repo,
            "svc": svc,
            "ver": ver,
            "id": dep_id,
            "sha": shas.setdefault((repo, ver), rng.hex(40)),
            "task": "deploy:rollback" if rollback else "deploy",
            "payload": payload,
            "desc": desc,
            "creator": john if rollback else _BOT,
            "created": c,
            "statuses": [],
        }
        for state, after, text in states:
            status_id += rng.randint(1000, 90_000)
            rec["statuses"].append(GhStatus(status_id, state, c + after * SECOND, text, _BOT, run))
        done = next((s.ms for s in rec["statuses"] if s.state == "success"), None)
        prev = live.get(repo)
        if done is not None and prev is not None and not any(s.state == "failure" for s in prev["statuses"]):
            status_id += rng.randint(1000, 90_000)
            prev["statuses"].append(GhStatus(status_id, "inactive", done, "", _BOT, ""))
        if done is not None or ver == "v2.3.0":
            live[repo] = rec
        if ver == "v2.3.0":
            b.marks["culprit"] = rec
        if rollback:
            b.marks["rollback"] = rec
        made.append(rec)
    files: dict[str, list[dict[str, Any]]] = {}
    for rec in sorted(made, key=lambda r: -r["created"]):
        files.setdefault(f"acme-{rec['repo']}", []).append(
            gh_deployment(
                repo=f"acme/{rec['repo']}",
                dep_id=rec["id"],
                sha=rec["sha"],
                ref=rec["ver"],
                task=rec["task"],
                payload=rec["payload"],
                environment="production",
                description=rec["desc"],
                creator=rec["creator"],
                created_ms=rec["created"],
                statuses=rec["statuses"],
            )
        )
    b.deploys = {"records": made, "files": {k: len(v) for k, v in files.items()}}
    return dict(sorted(files.items()))


# ---------------------------------------------------------------------------- alerts

AM_URL = "http://alertmanager.monitoring.svc:9093"
PROM_URL = "http://prometheus-0.monitoring.svc:9090"
PAGE_ROUTE = '{}/{severity="critical"}'
CHAT_ROUTE = '{}/{severity=~"^(?:warning|info)$"}'
RUNBOOK = "https://runbooks.acme.example/api-server"
ERR_EXPR = (
    'sum(rate(http_requests_total{service="api",code=~"5.."}[1m])) / sum(rate(http_requests_total{service="api"}[1m]))'
    " > 0.05"
)


def _minute(b: Build, start: int) -> Minute:
    return next(m for m in b.minutes if m.start == start)


def write_alerts(b: Build) -> None:
    rng = Rng(ID, "alerts")

    def ns() -> int:
        return rng.randint(0, 999_999)

    def send(ms: int, payload: dict[str, Any]) -> None:
        name = payload["alerts"][0]["labels"]["alertname"]
        b.alerts.append((f"{len(b.alerts) + 1:02d}-{dt_of(ms):%Y%m%dT%H%M%S}Z-{name}-{payload['status']}", payload))

    chat = {
        "receiver": "slack-sre",
        "route_key": CHAT_ROUTE,
        "group_by": ["alertname", "service"],
        "external_url": AM_URL,
    }
    page = {
        "receiver": "pagerduty-api",
        "route_key": PAGE_ROUTE,
        "group_by": ["alertname", "service"],
        "external_url": AM_URL,
    }
    fs_labels = {
        "alertname": "NodeFilesystemSpaceFillingUp",
        "device": "/dev/nvme0n1p1",
        "instance": "batch-node-3",
        "job": "node-exporter",
        "mountpoint": "/var/log",
        "service": "batch",
        "severity": "warning",
    }
    fs_ann = {
        "summary": "Filesystem is predicted to run out of space within the next 24 hours.",
        "description": "Filesystem on /dev/nvme0n1p1 at batch-node-3 has only 14.2% available space left and "
        "is filling up.",
        "runbook_url": "https://runbooks.prometheus-operator.dev/runbooks/node/nodefilesystemspacefillingup",
    }
    fs_gen = prom_generator_url(
        PROM_URL, 'predict_linear(node_filesystem_avail_bytes{mountpoint="/var/log"}[6h], 24*60*60) < 0'
    )
    fs = {
        "labels": fs_labels,
        "annotations": fs_ann,
        "starts": iso_ns(at("09:41:02.113"), ns()),
        "generator_url": fs_gen,
    }
    send(at("09:41:12"), am_payload(alerts=[am_alert(status="firing", ends=None, **fs)], **chat))
    fs_end = iso_ns(at("09:58:32.113"), ns())
    send(at("09:58:42"), am_payload(alerts=[am_alert(status="resolved", ends=fs_end, **fs)], **chat))
    m = _minute(b, at("10:15:00"))
    ratio = m.failed / m.total
    b.marks["alert_ratio"] = ratio
    err_labels = {"alertname": "APIHighErrorRate", "service": SERVICE, "severity": "critical", "team": "sre"}
    err_ann = {
        "summary": "api 5xx ratio above 5%",
        "description": f"{ratio:.1%} of api requests failed over the last minute (threshold 5% for 1m).",
        "runbook_url": RUNBOOK,
    }
    err_gen = prom_generator_url(PROM_URL, ERR_EXPR)
    err_start = iso_ns(ALERT_STARTS, ns())
    b.marks["alert_starts"] = err_start
    err = {"labels": err_labels, "annotations": err_ann, "starts": err_start, "generator_url": err_gen}
    firing = am_alert(status="firing", ends=None, **err)
    send(at("10:16:40.9"), am_payload(alerts=[firing], **page))
    b.marks["group_key"] = b.alerts[-1][1]["groupKey"]
    lat_alerts = []
    for route in ("/v1/orders", "/v1/users/me"):
        labels = {
            "alertname": "APIHighLatencyP95",
            "route": route,
            "service": SERVICE,
            "severity": "warning",
            "team": "sre",
        }
        ann = {"summary": "api p95 latency above 1s", "description": f"p95 latency of {route} is 15.0s (threshold 1s)."}
        gen = prom_generator_url(
            PROM_URL,
            f"histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_"
            f'bucket{{service="api",route="{route}"}}[5m]))) > 1',
        )
        lat_alerts.append((labels, ann, gen))
    lat_start = iso_ns(at("10:17:40.882"), ns())
    send(
        at("10:17:50.9"),
        am_payload(
            alerts=[
                am_alert(status="firing", labels=lb, annotations=an, starts=lat_start, ends=None, generator_url=g)
                for lb, an, g in lat_alerts
            ],
            **chat,
        ),
    )
    send(at("10:31:40.9"), am_payload(alerts=[firing], **page))
    err_end = iso_ns(at("10:36:30.882"), ns())
    send(at("10:36:50.9"), am_payload(alerts=[am_alert(status="resolved", ends=err_end, **err)], **page))
    lat_end = iso_ns(at("10:37:10.882"), ns())
    send(
        at("10:37:20.9"),
        am_payload(
            alerts=[
                am_alert(status="resolved", labels=lb, annotations=an, starts=lat_start, ends=lat_end, generator_url=g)
                for lb, an, g in lat_alerts
            ],
            **chat,
        ),
    )


# ---------------------------------------------------------------------------- PagerDuty (legacy v2 webhooks)

PD = PdAccount("acme")
PD_USERS = {"john": ("PJM2R7Q", "John Miller"), "priya": ("PPN5T3K", "Priya Nair")}


def _v2ref(kind: str, pd_id: str, summary: str) -> dict[str, Any]:
    r = PD.ref(kind, pd_id, summary)
    return {"id": r["id"], "type": r["type"], "summary": summary, "self": r["self"], "html_url": r["html_url"]}


def write_pagerduty(b: Build) -> None:
    """PagerDuty legacy v2 webhooks for incident #1187 (one delivery holds two messages)."""
    rng = Rng(ID, "pagerduty")
    inc_id, number = "PT4KX9Z", 1187
    title = "[FIRING:1] APIHighErrorRate api (critical)"
    svc = _v2ref("service", "PAPI7Q2", "api (production)")
    team = _v2ref("team", "PSRE001", "SRE")
    policy = _v2ref("escalation_policy", "PEPSRE1", "SRE primary")
    users = {k: _v2ref("user", v[0], v[1]) for k, v in PD_USERS.items()}
    inc_ref = {
        "id": inc_id,
        "type": "incident_reference",
        "summary": f"[#{number}] {title}",
        "self": f"https://api.pagerduty.com/incidents/{inc_id}",
        "html_url": f"https://acme.pagerduty.com/incidents/{inc_id}",
    }
    webhook = {
        "endpoint_url": "https://hooks.acme.example/pagerduty",
        "name": "incident-bot",
        "description": None,
        "webhook_object": svc,
        "config": {},
        "outbound_integration": {
            "id": "PJFWPEP",
            "type": "outbound_integration_reference",
            "summary": "Generic V2 Webhook",
            "self": "https://api.pagerduty.com/outbound_integrations/PJFWPEP",
            "html_url": None,
        },
        "accounts_addon": None,
        "id": "PKT9NNX",
        "type": "webhook",
        "summary": "incident-bot",
        "self": "https://api.pagerduty.com/webhooks/PKT9NNX",
        "html_url": None,
    }

    def incident(status: str, ms: int, assignee: str, acked: bool) -> dict[str, Any]:
        return {
            "incident_number": number,
            "title": title,
            "description": title,
            "created_at": iso_s(PD_TRIGGER),
            "status": status,
            "pending_actions": [],
            "incident_key": hashlib.sha256(b.marks["group_key"].encode()).hexdigest(),
            "service": {
                "id": svc["id"],
                "name": svc["summary"],
                "type": "service",
                "summary": svc["summary"],
                "self": svc["self"],
                "html_url": svc["html_url"],
                "escalation_policy": policy,
                "teams": [team],
            },
            "assignments": [] if status == "resolved" else [{"at": iso_s(ms), "assignee": users[assignee]}],
            "acknowledgements": [{"at": iso_s(PD_ACK), "acknowledger": users["john"]}] if acked else [],
            "last_status_change_at": iso_s(ms),
            "last_status_change_by": users[assignee] if status != "triggered" else svc,
            "escalation_policy": policy,
            "teams": [team],
            "urgency": "high",
            "id": inc_id,
            "type": "incident",
            "summary": f"[#{number}] {title}",
            "self": inc_ref["self"],
            "html_url": inc_ref["html_url"],
        }

    def message(
        event: str,
        ms: int,
        entry_type: str,
        summary: str,
        agent: dict[str, Any] | None,
        inc: dict[str, Any],
        **entry: Any,
    ) -> dict[str, Any]:
        le_id = "R" + rng.alnum(25).upper()
        log_entry = {
            "id": le_id,
            "type": entry_type,
            "summary": summary,
            "self": f"https://api.pagerduty.com/log_entries/{le_id}",
            "html_url": None,
            "created_at": iso_s(ms),
            "agent": agent,
            "channel": entry.pop("channel", {"type": "website"}),
            "service": svc,
            "incident": inc_ref,
            "teams": [team],
            "contexts": [],
        }
        log_entry.update(entry)
        return {
            "event": event,
            "log_entries": [log_entry],
            "webhook": webhook,
            "incident": inc,
            "id": rng.uuid4(),
            "created_on": iso_s(ms),
        }

    integ = _v2ref("generic_events_api_inbound_integration", "PAMINT1", "Alertmanager")
    deliveries = [
        (
            PD_TRIGGER,
            [
                message(
                    "incident.trigger",
                    PD_TRIGGER,
                    "trigger_log_entry",
                    "Triggered through the API",
                    integ,
                    incident("triggered", PD_TRIGGER, "john", False),
                    channel={"type": "api", "summary": title, "description": title},
                    event_details={"description": title},
                )
            ],
        ),
        (
            PD_ACK,
            [
                message(
                    "incident.acknowledge",
                    PD_ACK,
                    "acknowledge_log_entry",
                    "Acknowledged by John Miller",
                    users["john"],
                    incident("acknowledged", PD_ACK, "john", True),
                    acknowledgement_timeout=1800,
                    event_details={},
                )
            ],
        ),
        (
            PD_ASSIGN,
            [
                message(
                    "incident.assign",
                    PD_ASSIGN,
                    "assign_log_entry",
                    "Assigned to Priya Nair by John Miller",
                    users["john"],
                    incident("acknowledged", PD_ASSIGN, "priya", True),
                    assignees=[users["priya"]],
                    event_details={},
                ),
                message(
                    "incident.annotate",
                    PD_NOTE,
                    "annotate_log_entry",
                    "Note added by Priya Nair",
                    users["priya"],
                    incident("acknowledged", PD_ASSIGN, "priya", True),
                    channel={
                        "type": "note",
                        "summary": "P0 declared. IC: Priya Nair. Coordination in #incident-inc-20250120-103000.",
                    },
                    event_details={},
                ),
            ],
        ),
        (
            PD_RESOLVE,
            [
                message(
                    "incident.resolve",
                    PD_RESOLVE,
                    "resolve_log_entry",
                    "Resolved by Priya Nair",
                    users["priya"],
                    incident("resolved", PD_RESOLVE, "priya", True),
                    event_details={},
                )
            ],
        ),
    ]
    for i, (ms, msgs) in enumerate(deliveries, 1):
        b.pd.append((f"{i:02d}-{dt_of(ms):%Y%m%dT%H%M%S}Z-{msgs[0]['event']}", {"messages": msgs}))


# ---------------------------------------------------------------------------- Slack


def _users_so_far(b: Build, until: int) -> int:
    seen: set[int] = set()
    for m in b.minutes:
        if BAD[0] <= m.start < until:
            seen.update(m.users)
    return len(seen)


def write_slack(b: Build) -> SlackExport:
    rng = Rng(ID, "slack")
    sx = SlackExport(team="T01ACME42", domain="acme.example", rng=rng)
    sx.users = [
        SlackUser("U02PN8R4SAB", "priya", "Priya Nair", "SRE Lead"),
        SlackUser("U03JM5T2WCD", "john", "John Miller", "Site Reliability Engineer"),
        SlackUser("U04JP7K1DEF", "jane", "Jane Park", "Backend Engineer, Data"),
        SlackUser("U05MR3V9GHI", "marco", "Marco Rossi", "Site Reliability Engineer"),
        SlackUser("U06AC2N6JKL", "alex", "Alex Chen", "Engineering Manager"),
        SlackUser("U0PDAPP1XYZ", "pagerduty", "PagerDuty", bot_id="B0PDAPP01"),
        SlackUser("U0DEPLOY1AB", "deploybot", "deploybot", bot_id="B0DEPLOY02"),
    ]
    m = sx.mention
    inc = "incident-inc-20250120-103000"
    opened = at("10:19:12")
    sx.channel("C01INCDNT01", "incidents", ms_of("2022-03-01T09:00:00Z"), "priya", purpose="Incident coordination")
    sx.channel("C02DEPLOYS2", "deploys", ms_of("2022-03-01T09:05:00Z"), "john", purpose="Deploy notifications")
    sx.channel("C08INC1030Z", inc, opened, "john", purpose=f"{ID}: api errors")
    link = f"<#C08INC1030Z|{inc}>"
    for rec in sorted(b.deploys["records"], key=lambda r: r["created"]):
        if rec["created"] < WINDOW[0]:
            continue
        for st in sorted(rec["statuses"], key=lambda s: s.ms):
            if st.state == "inactive":
                continue
            icon = {"in_progress": ":rocket:", "success": ":white_check_mark:", "failure": ":x:"}[st.state]
            title = f"{icon} {rec['repo']} {rec['ver']}: {st.description}"
            if rec["task"] == "deploy:rollback" and st.state == "in_progress":
                title = f":rewind: Rolling back {rec['repo']} to {rec['ver']} ({st.description})"
            sx.bot(
                "deploys",
                st.ms + 1100,
                "deploybot",
                "",
                [{"fallback": title, "title": title, "text": rec["desc"], "color": "#439FE0"}],
            )
    sx.post(
        "incidents", at("09:42:00"), "marco", "batch-node-3 /var/log filling up again, logrotate stuck. cleaning up"
    )
    pd_title = "#1187 [FIRING:1] APIHighErrorRate api (critical)"
    pd_link = "https://acme.pagerduty.com/incidents/PT4KX9Z"
    for ms, verb, color in (
        (PD_TRIGGER + 1300, "Triggered", "danger"),
        (PD_ACK + 700, "Acknowledged by John Miller", "warning"),
        (PD_RESOLVE + 800, "Resolved by Priya Nair", "good"),
    ):
        sx.bot(
            "incidents",
            ms,
            "pagerduty",
            "",
            [
                {
                    "fallback": f"{verb}: {pd_title}",
                    "title": f"{verb}: {pd_title}",
                    "title_link": pd_link,
                    "color": color,
                }
            ],
        )
    sx.post("incidents", at("10:17:40"), "john", "ack, looking. api 5xx ~80%")
    sx.post("incidents", at("10:19:30"), "john", f"opened {link}")
    sx.post(
        "incidents",
        at("10:20:20"),
        "priya",
        f"P0 declared for api: ~80% of requests failing since 10:15 UTC. IC "
        f"{m('priya')}. Updates every 15 min in {link}",
    )
    sx.post("incidents", at("11:01:00"), "priya", f"{ID} closed at 11:00 UTC. Postmortem to follow.")

    c = inc
    sx.event(c, opened, "john", "channel_join", f"{m('john')} has joined the channel")
    sx.post(
        c,
        at("10:19:40"),
        "john",
        "80% 5xx on api since 10:15, p95 at 15s (statement timeouts). checking recent changes",
    )
    for ms, who in (
        (at("10:19:50"), "priya"),
        (at("10:20:30"), "jane"),
        (at("10:20:40"), "marco"),
        (at("10:23:00"), "alex"),
    ):
        sx.event(c, ms, who, "channel_join", f"{m(who)} has joined the channel")
    declare = sx.post(
        c,
        DECLARE,
        "priya",
        f"Declaring *P0*: api returns errors for ~80% of requests since 10:15 UTC. "
        f"I'm IC. {m('john')} tech lead, {m('jane')} database, {m('marco')} scribe/comms. Status updates "
        "every 15 min.",
    )
    topic = "P0 | api ~80% errors | IC @priya | updates every 15 min"
    sx.event(c, at("10:20:15"), "priya", "channel_topic", f"{m('priya')} set the channel topic: {topic}", topic=topic)
    sx.post(
        c,
        at("10:22:10"),
        "john",
        "recent changes: v2.3.0 deployed 10:00 as a 10% canary, promoted to 100% with migrations at 10:14:47",
    )
    logs = sx.post(
        c,
        at("10:25:30"),
        "john",
        "`kubectl logs deploy/api-server`: `canceling statement due to statement "
        "timeout` on every query that touches `users`",
    )
    waiting = next(v for t, v in _pg_points(b, "accesssharelock") if t >= at("10:26:00"))
    sx.post(c, at("10:26:10"), "jane", f"pg_locks: ~{int(waiting)} locks on `users` waiting", thread=logs)
    sx.post(
        c,
        at("10:27:05"),
        "jane",
        "found it: migration 0042 `ALTER TABLE users ADD COLUMN preferences JSONB` is "
        "waiting for an AccessExclusiveLock behind an analytics transaction open since 09:47. no lock_timeout, so "
        "every query on users is queued behind the ALTER",
        thread=logs,
    )
    sx.post(
        c,
        at("10:27:40"),
        "priya",
        "Decision: roll back v2.3.0 now (`kubectl rollout undo`), then deal with the migration",
    )
    sx.post(c, ROLLBACK_CREATED + 200, "john", "`kubectl rollout undo deployment/api-server` running (back to v2.2.4)")
    sx.post(
        c,
        at("10:33:50"),
        "jane",
        "the migration job is still waiting on the lock; rollout undo doesn't stop it. terminating its backend",
    )
    sx.post(
        c,
        MIGRATION_KILLED + 600,
        "jane",
        "terminated the migration backend (pid 48211, `pg_terminate_backend`). lock queue draining",
    )
    sx.post(c, at("10:34:55"), "john", "rollback complete, all 12 pods on v2.2.4")
    sx.post(
        c,
        at("10:36:20"),
        "john",
        "error rate down to ~2%: connection storm after the queue drained (`too many clients already`), recovering",
    )
    sx.post(c, at("10:45:10"), "john", "synthetic tests all passing, error rate back at the 0.05% baseline")
    sx.post(
        c,
        at("10:52:40"),
        "jane",
        "the analytics transaction finished on its own at 10:52. migration 0042 stays "
        "out until it has `SET lock_timeout = '5s'`",
    )
    n10 = _users_so_far(b, at("10:20:00"))
    n35 = _users_so_far(b, at("10:35:00"))
    n45 = _users_so_far(b, at("10:45:00"))
    updates = [
        (
            at("10:20:50"),
            "INVESTIGATING",
            "10:20 AM",
            "10:35 AM",
            "API service experiencing high error rate (80%). Requests that read user data time out.",
            [
                f"~{round(n10, -3):,} users affected so far",
                "Login, profile and checkout failing for most requests",
                "Estimated revenue impact: $2K/minute",
            ],
            ["Incident declared (P0), team assembled", "Reviewing the 10:00 deployment of v2.3.0"],
        ),
        (
            at("10:35:40"),
            "MITIGATED",
            "10:35 AM",
            "10:50 AM",
            "API error rate dropped from 80% to ~2% after rollback; recovering.",
            [f"~{round(n35, -3):,} users affected", "Errors between 10:15 and 10:35 UTC"],
            [
                "Root cause identified: migration in v2.3.0 held a lock on the users table",
                "Rolled back to v2.2.4 (kubectl rollout undo) and terminated the migration",
                "Monitoring recovery",
            ],
        ),
        (
            at("10:45:30"),
            "MONITORING",
            "10:45 AM",
            "11:00 AM",
            "API error rate back to normal (0.05%). Synthetic tests passing.",
            [f"~{round(n45, -3):,} users affected in total", "No data lost"],
            ["Confirmed resolution with synthetic tests", "Migration 0042 on hold until it sets a lock timeout"],
        ),
    ]
    msgs = []
    for ms, status, upd, nxt, summary, impact, progress in updates:
        text = (
            f"**Incident**: {ID}\n**Severity**: P0\n**Status**: {status}\n**Updated**: {upd}\n\n"
            f"**Summary**: {summary}\n\n**Impact**:\n"
            + "\n".join(f"- {x}" for x in impact)
            + "\n\n**Progress**:\n"
            + "\n".join(f"- {x}" for x in progress)
            + f"\n\n**Next Update**: {nxt}"
        )
        msgs.append(sx.post(c, ms, "marco", text))
    resolution = (
        "**RESOLVED: API Service Degraded**\n*Resolved: 11:00 AM | Duration: 45 minutes*\n\n"
        "**Issue**: A database migration in v2.3.0 locked the users table; most API requests failed\n\n"
        "**Resolution**: Rolled back the deployment and terminated the migration\n\n"
        f"**Impact**: Approximately {round(n45, -3):,} users experienced errors between 10:15 AM and 10:45 AM UTC\n\n"
        "**Next Steps**: We are conducting a full postmortem and will implement additional safeguards to prevent "
        "recurrence.\n\nWe apologize for the inconvenience."
    )
    final = sx.post(c, at("11:00:10"), "marco", resolution)
    sx.post(c, at("11:00:30"), "priya", f"Closing the incident. Postmortem owner {m('jane')}, action items in the doc.")
    b.marks.update(declare_msg=declare, update_msgs=msgs, resolution_msg=final)
    return sx


def _pg_points(b: Build, mode: str) -> list[tuple[int, float]]:
    return b.marks["pg"][mode]


# ---------------------------------------------------------------------------- ground truth


def ground_truth(b: Build, s: Sample) -> dict[str, Any]:
    mins = b.minutes
    impact_start = min(ms for m in mins if m.start == BAD[0] for _, ms, _ in m.users.values())
    elevated = [m for m in mins if m.total and m.failed / m.total > SLICE_THRESHOLD]
    mitigated = max(m.start for m in elevated) + MINUTE
    if any(m.failed / m.total > SLICE_THRESHOLD for m in mins if m.start >= mitigated):
        raise AssertionError("error ratio above baseline after mitigation")
    lo = BAD[0]
    win = [m for m in mins if lo <= m.start < mitigated]
    total, failed = sum(m.total for m in win), sum(m.failed for m in win)
    by_code: dict[str, int] = {}
    for m in win:
        for code, n in m.by_code.items():
            if code >= 500:
                by_code[str(code)] = by_code.get(str(code), 0) + n
    lines_in = [x for x in b.error_lines if lo <= x["ms"] < mitigated]
    affected = len({x["user"] for x in lines_in})
    active = len(b.impact_users)
    peak = max(win, key=lambda m: (m.failed / m.total, -m.start))
    p95 = dict(b.marks["p95"])

    def lat(a: int, z: int) -> float:
        return round(median([v for t, v in p95.items() if a < t <= z]) * 1000, 1)

    all_total = sum(m.total for m in mins)
    rate = all_total / len(mins)
    bad_minutes = len(elevated)
    detected = common.ns_to_us_iso(b.marks["alert_starts"])
    det_ms = ms_of(detected)
    dec_ms = slack_ms(b.marks["declare_msg"]["ts"])
    culprit, rollback = b.marks["culprit"], b.marks["rollback"]
    upd_ms = [slack_ms(u["ts"]) for u in b.marks["update_msgs"]]
    res_ms = slack_ms(b.marks["resolution_msg"]["ts"])
    gaps = common.gaps_minutes([dec_ms, *upd_ms, res_ms])
    samples = {k: v["samples"] for k, v in b.metrics.items()}

    def phase_sum(a: int, z: int) -> dict[str, Any]:
        sel = [m for m in mins if a <= m.start < z]
        t, f = sum(m.total for m in sel), sum(m.failed for m in sel)
        return {
            **common.span(a, z),
            "minutes": len(sel),
            "total_requests": t,
            "failed_requests": f,
            "error_ratio": round(f / t, 4),
        }

    return {
        "id": ID,
        "generator": {"module": "pmkit.samplegen.migration", "seed": ID},
        "window": common.span(*WINDOW),
        "severity": {
            "declared": "P0",
            "policy": "p",
            "expected": "P0",
            "expected_sev": "SEV1",
            "reasons": [
                "revenue-generating feature down: revenue impact stated and most requests failing (mean error ratio "
                f"{failed / total:.3f} >= 0.5 over the impact window)",
                f"affected users {affected:,} of {active:,} active during the impact ({affected / active:.1%})",
            ],
            "cadence_minutes": 15,
        },
        "milestones": {
            "impact_start": iso_ms(impact_start),
            "detected": detected,
            "acknowledged": iso_s(PD_ACK),
            "declared": slack_us_iso(b.marks["declare_msg"]["ts"]),
            "mitigated": iso_s(mitigated),
            "resolved": iso_s(PD_RESOLVE),
        },
        "milestone_evidence": {
            "impact_start": "app log: first error line of the incident (a users query cancelled by the 15 s "
            "statement_timeout); metrics: first minute at 80% is [10:15, 10:16)",
            "detected": "alertmanager: startsAt of APIHighErrorRate (firing)",
            "acknowledged": "pagerduty (legacy v2 webhook): incident.acknowledge created_on",
            "declared": "slack: 'Declaring *P0*' in #incident-inc-20250120-103000",
            "mitigated": "metrics: start of the first minute after the last minute with 5xx ratio > 0.1%; every "
            "later minute is at the 0.05% baseline",
            "resolved": "pagerduty: incident.resolve created_on",
        },
        "mitigation_action": {
            **common.rollback_mitigation(rollback),
            "migration_terminated": iso_ms(MIGRATION_KILLED),
            "service_restored": iso_s(RECOVERING[0]),
            "confirmed": iso_s(RECOVERING[1]),
        },
        "mttx_minutes": common.mttx_minutes(impact_start, det_ms, PD_ACK, dec_ms, mitigated, PD_RESOLVE),
        "sources": {
            "app": common.source_count("lines", b.app_lines),
            "requests": common.source_count("samples", samples["http_requests_by_code"]),
            "latency_p95": common.source_count("samples", samples["http_latency_p95"]),
            "postgres": common.source_count("samples", samples["postgres"]),
            **common.deploy_chat_alert_sources(b.deploys, b.slack.count() if b.slack else 0, s, b.alerts),
            "pagerduty": common.source_count("records", sum(len(d["messages"]) for _, d in b.pd), len(b.pd)),
        },
        "impact": {
            **common.impact_totals(lo, mitigated, total, failed),
            "failed_by_code": dict(sorted(by_code.items())),
            "phases": {"errors_80pct": phase_sum(*BAD), "errors_2pct": phase_sum(*RECOVERING)},
            "affected_users": affected,
            "active_users": active,
            "peak_error_ratio": round(peak.failed / peak.total, 4),
            "peak_minute": iso_s(peak.start),
            "impact_minutes": minutes(impact_start, mitigated),
            "p95_latency_ms": common.latency_phases(
                "median of the per-minute p95 samples (metrics/http_latency_p95.json)",
                lat,
                WINDOW,
                DEPLOY_CREATED,
                lo,
                mitigated,
            ),
            "baseline_error_ratio": round(
                sum(m.failed for m in mins if m.start < lo) / sum(m.total for m in mins if m.start < lo), 5
            ),
        },
        "log_cross_check": {
            "what": "sum of repeats of the app's error lines vs the 5xx samples of metrics/http_requests_by_code.json",
            "error_lines_in_impact": len(lines_in),
            "sum_repeats_in_impact": sum(x["repeats"] for x in lines_in),
            "metrics_failed_in_impact": failed,
            "error_lines_total": len(b.error_lines),
            "sum_repeats_total": sum(x["repeats"] for x in b.error_lines),
            "metrics_failed_total": sum(m.failed for m in mins),
        },
        "slo": {
            **common.availability_slo("requests"),
            "budget_minutes": common.SLO_BUDGET_MINUTES,
            "slice_threshold": SLICE_THRESHOLD,
            **common.time_slice_budget(bad_minutes, bad_minutes),
            "remaining_minutes_time_slice": round(common.SLO_BUDGET_MINUTES - bad_minutes, 1),
            "over_budget_minutes_measured": round(max(0.0, bad_minutes - common.SLO_BUDGET_MINUTES), 1),
            **common.request_budget(failed, rate, rate_digits=1, budget_digits=None),
            "declared_bad_minutes": 45,
            "declared_consumed_fraction": round(45 / common.SLO_BUDGET_MINUTES, 4),
            "declared_over_budget_minutes": 1.8,
            "note": "the seed's report counts 45 minutes of downtime (10:15-11:00) and a 1.8-minute violation; its own "
            "error-rate table (generated here) gives 30 bad minutes (20 at 80%, 10 at 2%), inside the 43.2-minute budget",
        },
        "culprit": {
            **common.culprit_deployment(culprit, SERVICE),
            "promoted_at": iso_s(PROMOTED),
            "migration_started": iso_ms(MIGRATION_START),
            "minutes_before_impact": minutes(culprit["created"], impact_start),
            "change": "migration 0042: ALTER TABLE users ADD COLUMN preferences JSONB (no lock_timeout)",
        },
        "rollback": common.rollback_deployment(rollback),
        "changes_before_impact": common.changes_before_impact(
            b.deploys["records"], WINDOW[0], impact_start, "created_at", lambda r: r["created"]
        ),
        "cadence": common.cadence(
            slack_us_iso(b.marks["declare_msg"]["ts"]),
            [slack_us_iso(u["ts"]) for u in b.marks["update_msgs"]],
            slack_us_iso(b.marks["resolution_msg"]["ts"]),
            gaps,
            required_minutes=15,
        ),
        "alerts": {
            **common.alert_summary("APIHighErrorRate", detected, len(b.alerts), repeat_notifications=1),
            "error_ratio_at_firing": round(b.marks["alert_ratio"], 4),
            "unrelated": ["NodeFilesystemSpaceFillingUp"],
        },
        "metrics": common.metrics_block(b.metrics, METRIC_SEMANTICS, METRIC_STEP_SECONDS),
    }


# ---------------------------------------------------------------------------- incident.yaml


def incident_yaml(b: Build, exp: dict[str, Any]) -> bytes:
    imp = exp["impact"]
    users, failed = imp["affected_users"], imp["failed_requests"]
    spec: dict[str, Any] = {
        "id": ID,
        "title": "API outage: database migration locked the users table",
        "services": [SERVICE],
        "severity": "P0",
        "severity_policy": "p",
        "status": "resolved",
        "facts": {
            "total_users": imp["active_users"],
            "revenue_impact": "Estimated $50,000 in lost transactions",
            "data_loss": False,
            "workaround": False,
        },
        "window": common.span(*WINDOW),
        "roles": {
            "incident_commander": "@priya",
            "technical_lead": "@john",
            "database_lead": "@jane",
            "scribe": "@marco",
        },
        "runbook": RUNBOOK,
        "authors": ["@jane", "@priya"],
        "date": "2025-01-21",
        "tags": ["api", "database", "migration"],
        "sources": [
            {
                "name": "app",
                "kind": "logs",
                "format": "jsonl",
                "path": "logs/api.jsonl.gz",
                "service": SERVICE,
                "fields": {"ts": "ts", "level": "level", "message": "msg", "service": "service", "actor": "user_id"},
            },
            {
                "name": "requests",
                "kind": "metrics",
                "format": "prometheus",
                "path": "metrics/http_requests_by_code.json",
                "service": SERVICE,
                "options": {"metric": "http_requests_increase_1m"},
            },
            {
                "name": "latency_p95",
                "kind": "metrics",
                "format": "prometheus",
                "path": "metrics/http_latency_p95.json",
                "service": SERVICE,
                "options": {"metric": "http_request_duration_p95_seconds"},
            },
            {
                "name": "postgres",
                "kind": "metrics",
                "format": "prometheus",
                "path": "metrics/postgres.json",
                "service": "postgres",
            },
            *common.incident_tail_sources(),
        ],
        "slos": [{**common.availability_slo("requests"), "declared_bad_minutes": 45}],
        "narrative": {
            "leadup": (
                "api-server v2.3.0 went out at 10:00 UTC as a 10% canary with a 15-minute bake. At 10:14 UTC the "
                "pipeline promoted it to 100% and ran its database migration 0042 (ALTER TABLE users ADD COLUMN "
                "preferences JSONB, with no lock timeout) while an analytics transaction had been open since 09:47."
            ),
            "summary": (
                "On January 20, 2025, the API service experienced a complete outage for 45 minutes due to a failed "
                f"database migration. Approximately {round(users, -3):,} users were unable to access the service. "
                "The issue was resolved by rolling back the deployment. No data was lost."
            ),
            "root_cause": (
                "The database migration script included in v2.3.0 ran `ALTER TABLE users ADD COLUMN preferences JSONB` "
                "without `SET lock_timeout`, which caused an indefinite lock on the `users` table. This prevented all "
                "API requests requiring user authentication from completing, resulting in 80% of requests failing. "
                "The migration was not tested in a staging environment that mirrored production load, so the locking "
                "behavior was not discovered until production deployment."
            ),
            "trigger": (
                "Promotion of v2.3.0 to 100% at 10:14:47 UTC ran migration 0042; the ALTER TABLE waited for an ACCESS "
                "EXCLUSIVE lock behind a long-running analytics transaction, and every query on `users` queued behind it."
            ),
            "resolution": (
                "Rolled back the deployment (kubectl rollout undo) and terminated the migration's database session; "
                "the lock queue drained and the service recovered."
            ),
            "customer_impact": (
                f"About {round(failed, -4):,} failed requests from about {round(users, -3):,} users; 80% of requests "
                "failed from 10:15 to 10:35 UTC and 2% until 10:45 UTC. Estimated $50,000 in lost transactions; "
                "support ticket volume increased 500%."
            ),
            "contributing_factors": [
                "Insufficient Testing: Database migration not tested in staging with production-like load",
                "Deployment Timing: Deployment occurred during peak traffic hours (10 AM)",
                "Missing Validation: No pre-deploy validation of migration scripts",
                "Lack of Monitoring: No alerting on long-running database locks",
            ],
            "went_well": [
                "Fast Detection: Alert fired within 2 minutes of issue starting",
                "Quick Response: SRE acknowledged and began investigation within 2 minutes",
                "Clear Communication: Incident Commander provided regular updates",
                "Effective Rollback: Rollback procedure executed smoothly",
                "Good Collaboration: Team worked together efficiently",
                "Documentation: Timeline was well-documented in real-time",
            ],
            "went_wrong": [
                "Insufficient Testing: Database migration not tested in staging with production-like load",
                "No Automated Rollback: Failed migrations did not trigger automatic rollback",
                "Deployment Timing: Deployment occurred during peak traffic hours (10 AM)",
                "Missing Validation: No pre-deploy validation of migration scripts",
                "Lack of Monitoring: No alerting on long-running database locks",
                "Incomplete Runbook: Runbook didn't cover database migration failures",
            ],
            "lucky": [
                "No data was lost: the ALTER TABLE never acquired its lock, so terminating it left the table unchanged",
            ],
            "lessons": [
                "Always test migrations under load: staging environment must mirror production traffic patterns",
                "Use migration timeouts: all ALTER TABLE statements should include lock timeouts",
                "Implement automated rollback: detect failed migrations and roll back automatically",
                "Add lock monitoring: alert on database locks exceeding threshold",
                "Establish deployment windows: deploy during low-traffic periods",
                "Require migration review: all database migrations must be reviewed by DBA",
                "Use blue-green deployments: minimize risk by deploying to subset first",
                "Improve runbooks: cover all common failure scenarios",
            ],
        },
        "five_whys": [
            {
                "why": "Why did 80% of API requests fail?",
                "answer": "Queries on the users table waited until the 15 s statement timeout cancelled them.",
            },
            {
                "why": "Why did queries on the users table wait?",
                "answer": "They queued behind `ALTER TABLE users ADD COLUMN preferences JSONB`, which was waiting for an "
                "ACCESS EXCLUSIVE lock (an indefinite lock during the migration).",
            },
            {
                "why": "Why could the ALTER TABLE wait indefinitely?",
                "answer": "The migration did not set `lock_timeout`, so it kept its place in the lock queue behind a "
                "long-running transaction instead of failing fast.",
            },
            {
                "why": "Why was the missing lock timeout not caught before production?",
                "answer": "The migration was not tested in a staging environment that mirrored production load, and "
                "there is no pre-deploy validation of migration scripts.",
            },
            {
                "why": "Why did it hit users at peak traffic?",
                "answer": "There are no deployment windows: the deployment ran during peak traffic hours (10 AM), and "
                "failed migrations do not trigger an automatic rollback.",
            },
        ],
        "action_items": [
            {
                "action": "Add database migration tests to CI pipeline",
                "owner": "@jane",
                "due": "2025-01-27",
                "priority": "P0",
                "status": "open",
            },
            {
                "action": "Implement automatic migration rollback on failure",
                "owner": "@john",
                "due": "2025-02-03",
                "priority": "P0",
                "status": "open",
            },
            {
                "action": "Establish deployment windows (off-peak hours only)",
                "owner": "@sre-lead",
                "due": "2025-01-22",
                "priority": "P0",
                "status": "open",
            },
            {
                "action": "Add migration script validation to pre-deploy checklist",
                "owner": "@jane",
                "due": "2025-01-27",
                "priority": "P0",
                "status": "open",
            },
            {
                "action": "Set up database lock duration monitoring and alerts",
                "owner": "@john",
                "due": "2025-01-30",
                "priority": "P1",
                "status": "open",
            },
            {
                "action": "Update runbook with migration failure procedures",
                "owner": "@john",
                "due": "2025-01-24",
                "priority": "P1",
                "status": "open",
            },
            {
                "action": "Implement blue-green deployment for API service",
                "owner": "@sre-lead",
                "due": "2025-02-15",
                "priority": "P1",
                "status": "open",
            },
            {
                "action": "Conduct migration best practices training",
                "owner": "@jane",
                "due": "2025-02-10",
                "priority": "P2",
                "status": "open",
            },
            {
                "action": "Review and update all runbooks",
                "owner": "@sre-team",
                "due": "2025-02-28",
                "priority": "P2",
                "status": "open",
            },
            {
                "action": "Add synthetic monitoring for critical paths",
                "owner": "@john",
                "due": "2025-02-05",
                "priority": "P2",
                "status": "open",
            },
        ],
    }
    header = (
        f"{ID}: migration 0042 locked the users table and took the api down (seeds/000).\n"
        "Generated by pmkit.samplegen (python -m pmkit.samplegen data/samples); edit the generator, not this file.\n"
        "Ground truth: expected.yaml beside this file; data/samples/README.md explains both.\n"
        "Request counts come from metrics/http_requests_by_code.json; the app log is rate-limited (repeats)."
    )
    return yaml_bytes(spec, header)
