"""INC-2025-0142 (seeds/004): payments-api v2.14.3 cut the DB connection pool from 50 to 5.

The story, UTC, 2025-06-15 (evidence window 13:30-16:30):

- 14:16:24-14:18:04 v2.14.3 rolls out (config refactor: ``DB_MAX_CONNS`` 50 -> 5; the
  intended change was ``DB_MAX_IDLE_CONNS``).
- from 14:19:20 the 5-connection pools saturate: payment POSTs wait 10 s for a connection
  and fail with 500 (phase A, failure share ramping up); from ~14:23 liveness probes fail,
  pods crash-loop and nginx answers 502/503 for nearly everything (phase B).
- 14:23 PaymentsAvailabilityBudgetBurn fires, PagerDuty pages; 14:25 ack; 14:28 SEV1.
- 14:32 CrashLoopBackOff noticed; 14:35 correlated with the deploy; 14:38-14:42 rollback.
- 14:42-14:47 nginx still holds the upstreams as failed (``fail_timeout=300s``): 502
  (phase C); 14:47 first successful payment; until 15:00 the client retry surge is partly
  shed with 503 (phase D); 15:00 error rate back to baseline; 15:47 resolved.

Every figure in ``expected.yaml`` is computed from the records as they are written.
"""

from __future__ import annotations

import hashlib
import heapq
from dataclasses import dataclass, field
from typing import Any

from samplegen import common
from samplegen.common import (
    MINUTE,
    SECOND,
    LocalClock,
    Rng,
    Sample,
    dt_of,
    floor_minute,
    iso_ms,
    iso_ns,
    iso_s,
    minutes,
    ms_of,
    p95,
)
from samplegen.writers import (
    GhStatus,
    PdAccount,
    SlackExport,
    SlackUser,
    am_alert,
    am_payload,
    combined_line,
    gh_deployment,
    gh_user,
    go_json_bytes,
    gzip_bytes,
    json_bytes,
    jsonl_line,
    lines_bytes,
    pd_v3_event,
    prom_generator_url,
    prom_matrix,
    slack_ms,
    slack_us_iso,
    yaml_bytes,
)

ID = "INC-2025-0142"
SERVICE = "payments-api"
LOCAL_TZ = "Europe/Berlin"


def at(hms: str) -> int:
    """Epoch ms of ``HH:MM:SS[.fff]`` UTC on 2025-06-15."""
    return ms_of(f"2025-06-15T{hms}Z")


WINDOW = (at("13:30:00"), at("16:30:00"))
DEPLOY_CREATED = at("14:16:20")
DEPLOY_STARTED = at("14:16:24")
DEPLOY_DONE = at("14:18:04")
PHASE_A = at("14:19:20")  # pools saturate
PHASE_B = at("14:23:40")  # crash loop: nginx has no healthy upstream
ROLLBACK_CREATED = at("14:38:10")
ROLLBACK_STARTED = at("14:38:14")
ROLLBACK_DONE = at("14:42:05")
NGINX_OK = at("14:47:12")  # nginx's fail_timeout expires: first success possible
DECAY_END = at("15:00:00")  # retry surge drained
QUIET = (at("14:10:00"), DECAY_END)  # no background 5xx here: every failure in it is the incident's
ALERT_STARTS = at("14:23:01.734")
PD_TRIGGER = at("14:23:05.123")
PD_ACK = at("14:25:02.417")
DECLARE = at("14:28:05")
PD_PRIORITY = at("14:28:31.902")
PD_RESOLVE = at("15:47:05.281")
BASELINE_THRESHOLD = 0.01  # per-minute 5xx share at or under which the service is "at baseline"

POST_RATE = 57.0  # new payment attempts per minute (scale 1)
GET_BG_RATE = 8.0  # background payment lookups per minute
SCAN_RATE = 0.3  # scanner probes per minute
RETRY_P = 0.27  # a failed payment is retried by the customer with this probability
MAX_ATTEMPTS = 4

OLD_RS, NEW_RS = "6f7b9c8d5", "7c9d5b8f4"
_UAS = (
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
        1,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
        1,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        1,
    ),
    ("AcmeShop/7.4.2 (Android 14; Pixel 8) okhttp/4.12.0", 0),
    ("AcmeShop/7.4.1 (iPhone; iOS 17.5.1; Scale/3.00)", 0),
    (
        "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.6422.113 Mobile Safari/537.36",
        1,
    ),
)
_FIRST_OCTETS = (
    31,
    37,
    46,
    62,
    77,
    78,
    79,
    80,
    81,
    82,
    84,
    85,
    87,
    88,
    89,
    90,
    91,
    92,
    93,
    94,
    95,
    109,
    176,
    178,
    185,
    188,
    193,
    194,
    195,
    212,
    213,
    217,
)
_SCANS = (
    "/.env",
    "/wp-login.php",
    "/.git/config",
    "/admin/config.php",
    "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
    "/actuator/health",
    "/server-status",
)
_SCANNERS = (
    ("45.148.10.81", "Mozilla/5.0 zgrab/0.x"),
    ("185.242.226.17", "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)"),
    ("167.94.138.44", "Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)"),
)
_LBS = ("10.20.0.11", "10.20.1.12", "10.20.2.13", "10.20.3.14")

POOL_TB = (
    "Traceback (most recent call last):\n"
    '  File "/app/payments/api/routes.py", line {line}, in {func}\n'
    "    with session_scope() as session:\n"
    '  File "/usr/local/lib/python3.12/contextlib.py", line 137, in __enter__\n'
    "    return next(self.gen)\n"
    "           ^^^^^^^^^^^^^^\n"
    '  File "/app/payments/db.py", line 58, in session_scope\n'
    "    conn = engine.connect()\n"
    "           ^^^^^^^^^^^^^^^^\n"
    '  File "/usr/local/lib/python3.12/site-packages/sqlalchemy/engine/base.py", line 3278, in connect\n'
    "    return self._connection_cls(self)\n"
    "           ^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
    '  File "/usr/local/lib/python3.12/site-packages/sqlalchemy/pool/impl.py", line 168, in _do_get\n'
    "    raise exc.TimeoutError(\n"
    "sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 0 reached, connection timed out, "
    "timeout 10.00 (Background on this error at: https://sqlalche.me/e/20/3o7r)"
)
PSP_TB = (
    "Traceback (most recent call last):\n"
    '  File "/app/payments/api/routes.py", line 121, in create_payment\n'
    "    auth = psp.authorize(intent, timeout=8.0)\n"
    "           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
    '  File "/app/payments/psp/client.py", line 77, in authorize\n'
    '    raise GatewayTimeout(f"acquirer did not respond within {timeout:.0f}s")\n'
    "payments.psp.errors.GatewayTimeout: acquirer did not respond within 8s"
)


# ============================================================================ traffic


@dataclass(slots=True)
class Req:
    """One request as nginx logs it (``t_c``: completion time, the log's time) and what the app did."""

    t_a: int
    t_c: int
    seq: int
    kind: str  # post, get, health, scan
    path: str
    proto: str
    status: int
    size: int
    rt: float
    urt: str
    uid: str
    ip: str
    ua: str
    referer: str
    cause: str | None  # "incident", "background" (a background 5xx) or None
    app: str | None  # what the app logs for it (None: nothing reached / nothing logged)
    pay_id: str


@dataclass(slots=True)
class Pod:
    name: str
    version: str
    ip: str
    uid: str
    created: int
    ready: int
    terminated: int
    up: list[tuple[int, int]] = field(default_factory=list)  # container running intervals
    restarts: list[int] = field(default_factory=list)
    kills: list[int] = field(default_factory=list)

    def is_up(self, t: int) -> bool:
        return any(a <= t < b for a, b in self.up)


def _device(idx: int) -> tuple[str, str, str]:
    """A customer's stable IP, user agent and referer (a hash of the customer number)."""
    h = (idx * 0x9E3779B1 + 0x7F4A7C15) & 0xFFFFFFFF
    ip = f"{_FIRST_OCTETS[h % 32]}.{(h >> 5) & 255}.{(h >> 13) & 255}.{1 + (h >> 21) % 254}"
    ua, web = _UAS[(h >> 7) % len(_UAS)]
    return ip, ua, ("https://shop.acme.example/checkout" if web else "-")


class Traffic:
    """Simulates the requests nginx sees in the window, in arrival order (one RNG stream)."""

    def __init__(self, rng: Rng, scale: float) -> None:
        self.rng = rng
        self.scale = scale
        self.population = max(1000, int(400_000 * scale))
        self.seq = 0
        self.heap: list[tuple[int, int, str, int, int, str]] = []
        self.done: list[Req] = []
        self.background_minutes: set[int] = set()

    def push(self, t: int, kind: str, cust: int, attempt: int = 1, pay_id: str = "") -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, kind, cust, attempt, pay_id))

    def poisson_stream(self, kind: str, per_minute: float, wobble: float = 0.0) -> None:
        start, end = WINDOW[0], WINDOW[1] - 15 * SECOND
        t = start
        while True:
            frac = (t - start) / (end - start)
            rate = per_minute * self.scale * (1 + wobble * (0.5 - abs(frac - 0.55)))
            t += max(1, int(self.rng.expo(MINUTE / rate)))
            if t >= end:
                return
            self.push(t, kind, self.rng.randint(0, self.population - 1) if kind != "scan" else 0)

    def run(self) -> list[Req]:
        rng = self.rng
        self.poisson_stream("post", POST_RATE, wobble=0.25)
        self.poisson_stream("get", GET_BG_RATE)
        self.poisson_stream("scan", SCAN_RATE)
        lbs = max(2, round(2 * self.scale))
        for i in range(lbs):
            t = WINDOW[0] + 1234 + i * 4567
            while t < WINDOW[1] - 15 * SECOND:
                self.push(t, "health", i)
                t += 10 * SECOND + rng.randint(-15, 15)
        while self.heap:
            t, _, kind, cust, attempt, pay_id = heapq.heappop(self.heap)
            self.done.append(self.request(t, kind, cust, attempt, pay_id))
        self.done.sort(key=lambda r: (r.t_c, r.seq))
        return self.done

    # -- outcomes ----------------------------------------------------------------------

    def _post_fail_share(self, t: int) -> float:
        if PHASE_A <= t < PHASE_B:
            return 0.35 + 0.6 * (t - PHASE_A) / (PHASE_B - PHASE_A)
        if NGINX_OK <= t < DECAY_END:
            return 0.55 - 0.43 * (t - NGINX_OK) / (DECAY_END - NGINX_OK)
        return 1.0 if PHASE_B <= t < NGINX_OK else 0.0

    def _background_5xx(self, t: int, p: float) -> bool:
        """A rare background failure, at most one a minute and never near the incident."""
        if QUIET[0] <= t < QUIET[1] or not self.rng.chance(p):
            return False
        minute = floor_minute(t + 9 * SECOND)  # the minute it will be logged in, near enough
        if minute in self.background_minutes or minute - MINUTE in self.background_minutes:
            return False
        self.background_minutes.add(minute)
        return True

    def request(self, t: int, kind: str, cust: int, attempt: int, pay_id: str) -> Req:
        rng = self.rng
        uid = f"cus_{100000 + cust}"
        ip, ua, ref = _device(cust)
        proto = "HTTP/2.0"
        path, app, cause = "", None, None
        if kind == "scan":
            ip, ua = rng.choice(_SCANNERS)
            path, status, size, rt, urt, uid, ref, proto = rng.choice(_SCANS), 404, 153, 0.0, "-", "-", "-", "HTTP/1.1"
        elif kind == "health":
            ip, ua, uid, ref, proto, path = _LBS[cust % 4], "ELB-HealthChecker/2.0", "-", "-", "HTTP/1.1", "/healthz"
            status, size, rt, urt, cause = self._proxied_failure(t, kind)
            if status == 0:
                status, size, rt = 200, 15, 0.001 + rng.expo(0.001)
                urt = f"{rt:.3f}"
        else:
            if kind == "get":
                pay_id = pay_id or "pay_" + rng.b62(14)
                path = f"/api/v1/payments/{pay_id}"
            else:
                path = "/api/v1/payments"
            status, size, rt, urt, cause = self._proxied_failure(t, kind)
            if status in (500, 503) and urt != "-":
                app = "pool_timeout" if status == 500 else "shed"
            if status == 0:
                status, size, rt, app, cause, uid = self._normal(t, kind, uid)
                urt = f"{max(0.0, rt - 0.001):.3f}"
        rt = round(rt, 3)
        t_c = t + int(rt * 1000) + (1 if rt == 0 else 0)
        if kind == "post" and status == 201:
            pay_id = "pay_" + rng.b62(14)
        self.seq += 1
        req = Req(t, t_c, self.seq, kind, path, proto, status, size, rt, urt, uid, ip, ua, ref, cause, app, pay_id)
        if kind == "post" and status >= 500 and attempt < MAX_ATTEMPTS and rng.chance(RETRY_P):
            self.push(t_c + 5 * SECOND + int(rng.expo(40 * SECOND)), "post", cust, attempt + 1)
        if kind == "post" and status == 201 and rng.chance(0.8):
            self.push(t_c + int(rng.uniform(1500, 6000)), "get", cust, 1, pay_id)
            if rng.chance(0.3):
                self.push(t_c + int(rng.uniform(8000, 20000)), "get", cust, 1, pay_id)
        return req

    def _proxied_failure(self, t: int, kind: str) -> tuple[int, int, float, str, str | None]:
        """The incident's failure for a proxied request arriving at ``t``; status 0 when it does not fail."""
        rng = self.rng
        share = self._post_fail_share(t)
        if kind == "get":
            share *= 0.6 if t < PHASE_B else (0.5 if t >= NGINX_OK else 1.0)
        elif kind == "health" and t >= NGINX_OK:
            share = 0.0
        if share <= 0.0 or not rng.chance(share):
            return 0, 0, 0.0, "", None
        if t < PHASE_B:  # pool saturated: the app waits 10 s for a connection
            if kind == "health":
                return 503, 54, 2.0 + rng.uniform(0.001, 0.004), "2.001", "incident"
            rt = 10.0 + rng.uniform(0.002, 0.04)
            return 500, 87, rt, f"{rt - 0.001:.3f}", "incident"
        if t < ROLLBACK_DONE:  # crash loop
            r = rng.random()
            if r < 0.55:
                return 503, 190, 0.0, "-", "incident"
            if r < 0.85 or kind == "health":
                rt = rng.uniform(0.001, 0.004)
                return 502, 157, rt, f"{rt:.3f}", "incident"
            rt = 10.0 + rng.uniform(0.002, 0.04)
            return 500, 87, rt, f"{rt - 0.001:.3f}", "incident"
        if t < NGINX_OK:  # nginx: no live upstreams
            return 502, 157, 0.0, "-", "incident"
        rt = rng.uniform(0.002, 0.009)  # retry surge: load shedding
        return 503, 58, rt, f"{rt:.3f}", "incident"

    def _normal(self, t: int, kind: str, uid: str) -> tuple[int, int, float, str | None, str | None, str]:
        """A request the incident did not fail: success, the usual 4xx, or a rare background 5xx."""
        rng = self.rng
        r = rng.random()
        slow = rng.uniform(1.5, 9.5) if PHASE_A <= t < PHASE_B else 0.0  # waited for a pool connection
        if kind == "post":
            if self._background_5xx(t, 0.0015):
                return 500, 95, 8.0 + rng.uniform(0.003, 0.03), "psp_timeout", "background", uid
            if r < 0.025:
                return 402, 212 + rng.randint(0, 20), 0.25 + rng.expo(0.15) + slow, "declined", None, uid
            if r < 0.033:
                return 422, 164, 0.004 + rng.expo(0.004), "invalid", None, uid
            if r < 0.036:
                return 409, 131, 0.005 + rng.expo(0.004), "conflict", None, uid
            if r < 0.041:
                return 401, 61, 0.001 + rng.expo(0.001), None, None, "-"
            return 201, 420 + rng.randint(0, 60), 0.18 + min(rng.expo(0.12), 2.5) + slow, "ok", None, uid
        if self._background_5xx(t, 0.001):
            return 502, 157, rng.uniform(0.02, 0.5), None, "background", uid
        if r < 0.015:
            return 404, 88, 0.006 + rng.expo(0.005), None, None, uid
        if r < 0.02:
            return 401, 61, 0.001 + rng.expo(0.001), None, None, "-"
        return 200, 380 + rng.randint(0, 80), 0.008 + rng.expo(0.012) + slow * 0.5, None, None, uid


def trim_to(reqs: list[Req], n: int, rng: Rng) -> list[Req]:
    """Drop background lookups, health checks and scans (never payments) until ``n`` lines remain."""
    extra = len(reqs) - n
    if extra < 0:
        raise ValueError(f"simulated {len(reqs)} lines, fewer than the {n} asked for")
    removable = [i for i, r in enumerate(reqs) if r.kind != "post"]
    if extra > len(removable):
        raise ValueError(f"cannot trim {extra} lines: only {len(removable)} are not payments")
    drop: set[int] = set()
    while len(drop) < extra:
        drop.add(removable[rng.randint(0, len(removable) - 1)])
    return [r for i, r in enumerate(reqs) if i not in drop]


def simulate(scale: float = 1.0, lines: int | None = None) -> list[Req]:
    """The window's requests; ``lines``: exactly that many (the large benchmark variant)."""
    if lines is None:
        return Traffic(Rng(ID, "traffic"), scale).run()
    base = len(Traffic(Rng(ID, "traffic"), 1.0).run())
    factor = lines / base * 1.03 + 0.01
    while True:
        reqs = Traffic(Rng(ID, "traffic", f"{lines}"), factor).run()
        if len(reqs) >= lines:
            return trim_to(reqs, lines, Rng(ID, "trim", f"{lines}"))
        factor *= 1.05


# ============================================================================ pods


def build_pods(rng: Rng) -> list[Pod]:
    """The payments-api pods: 6 old, 6 of v2.14.3 (crash-looping), 6 of the rollback."""
    pods: list[Pod] = []

    def pod(rs: str, version: str, created: int, ready: int, terminated: int) -> Pod:
        p = Pod(
            name=f"payments-api-{rs}-{rng.pod_suffix()}",
            version=version,
            ip=f"10.42.{rng.randint(0, 7)}.{rng.randint(2, 250)}",
            uid=rng.uuid4(),
            created=created,
            ready=ready,
            terminated=terminated,
        )
        pods.append(p)
        return p

    for i in range(6):
        old = pod(OLD_RS, "2.14.2", ms_of("2025-06-12T10:05:00Z") + i * 20 * SECOND, 0, 0)
        new_created = DEPLOY_STARTED + 16 * SECOND * i + 2 * SECOND
        old.ready = old.created + 12 * SECOND
        old.terminated = new_created + 10 * SECOND
        old.up = [(old.created + 3 * SECOND, old.terminated)]
        end = ROLLBACK_STARTED + 38 * SECOND * i + 20 * SECOND
        new = pod(NEW_RS, "2.14.3", new_created, new_created + 10 * SECOND, end)
        kill = at("14:22:50") + 17 * SECOND * i + rng.randint(0, 4000)
        new.up.append((new_created + 3 * SECOND, kill))
        backoff = 10 * SECOND
        while kill < end:
            new.kills.append(kill)
            start = kill + backoff
            if start >= end:
                break
            new.restarts.append(start)
            kill = start + 32 * SECOND + rng.randint(0, 6000)
            new.up.append((start, min(kill, end)))
            backoff = min(backoff * 2, 300 * SECOND)
    for i in range(6):
        created = ROLLBACK_STARTED + 38 * SECOND * i + 5 * SECOND
        p = pod(OLD_RS, "2.14.2", created, created + 15 * SECOND, WINDOW[1] + 3600 * SECOND)
        p.up = [(created + 3 * SECOND, p.terminated)]
    return pods


def serving(pods: list[Pod], t: int) -> list[Pod]:
    return [p for p in pods if p.is_up(t) and p.ready <= t]


# ============================================================================ the sample


@dataclass
class Build:
    """Everything generated, kept to compute the ground truth."""

    reqs: list[Req]
    app_reqs: list[Req]
    pods: list[Pod]
    app_lines: int = 0
    slack: SlackExport | None = None
    deploys: dict[str, Any] = field(default_factory=dict)
    alerts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    pd_events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)
    marks: dict[str, Any] = field(default_factory=dict)


def build(large_lines: int | None = None) -> Sample:
    """Generate the INC-2025-0142 folder (``large_lines``: the benchmark variant's access-log size)."""
    normal = simulate()
    reqs = normal if large_lines is None else simulate(lines=large_lines)
    pods = build_pods(Rng(ID, "pods"))
    b = Build(reqs=reqs, app_reqs=normal, pods=pods)
    s = Sample(ID)
    access = write_access_log(reqs)
    if large_lines is None:
        s.add("logs/access.log.gz", gzip_bytes(access))
    else:
        s.add("logs/access.log", access)
    app = write_app_log(b)
    s.add("logs/payments-api.jsonl.gz", gzip_bytes(app))
    for name, doc in write_metrics(b).items():
        s.add(f"metrics/{name}.json", json_bytes(doc, indent=None))
    for name, doc in write_deploys(b).items():
        s.add(f"deploys/{name}.json", json_bytes(doc))
    write_alerts(b)
    plan_updates(b)
    for name, doc in b.alerts:
        s.add(f"alerts/alertmanager/{name}.json", go_json_bytes(doc))
    write_pagerduty(b)
    for name, doc in b.pd_events:
        s.add(f"alerts/pagerduty/{name}.json", json_bytes(doc))
    b.slack = write_slack(b)
    for rel, data in b.slack.files("chat/").items():
        s.add(rel, data)
    s.expected = ground_truth(b, s)
    s.add("incident.yaml", incident_yaml(b, s.expected, large_lines))
    s.add("expected.yaml", yaml_bytes(s.expected, EXPECTED_HEADER))
    return s


# The generated files name the generator by its former path (pmkit.samplegen): kept, so that
# data/samples stays byte-identical; run it as `python -m samplegen data/samples` from the repository root.
EXPECTED_HEADER = (
    "Ground truth of this sample, computed by pmkit.samplegen from the records it wrote.\n"
    "Regenerate: python -m pmkit.samplegen data/samples. Every key is described in data/samples/README.md."
)


# ---------------------------------------------------------------------------- access log


def write_access_log(reqs: list[Req]) -> bytes:
    """nginx ``combined`` lines plus ``rt= uid= urt=``, in log (completion) order."""
    clock = LocalClock(LOCAL_TZ)
    return lines_bytes(
        combined_line(
            r.ip,
            clock.clf(r.t_c),
            f"{'POST' if r.kind == 'post' else 'GET'} {r.path} {r.proto}",
            r.status,
            r.size,
            r.referer,
            r.ua,
            (("rt", f"{r.rt:.3f}"), ("uid", r.uid), ("urt", r.urt)),
        )
        for r in reqs
    )


# ---------------------------------------------------------------------------- app log


def write_app_log(b: Build) -> bytes:
    """payments-api's JSON lines: naive Europe/Berlin times, stack traces inside ``exc``."""
    rng = Rng(ID, "applog")
    clock = LocalClock(LOCAL_TZ)
    recs: list[tuple[int, int, dict[str, Any]]] = []
    n = 0

    def emit(ms: int, level: str, msg: str, logger: str, pod: Pod | None, **extra: Any) -> None:
        nonlocal n
        n += 1
        rec: dict[str, Any] = {
            "ts": clock.naive_ms(ms),
            "level": level,
            "msg": msg,
            "service": SERVICE,
            "logger": logger,
        }
        if pod is not None:
            rec["pod"] = pod.name
        rec.update(extra)
        recs.append((ms, n, rec))

    pods = b.pods
    for r in b.app_reqs:
        if r.app is None:
            continue
        ms = r.t_c - rng.randint(1, 4)
        cands = serving(pods, r.t_a) or [p for p in pods if p.version == "2.14.3"]
        pod = rng.choice(cands)
        base = {"trace_id": rng.hex(32), "user_id": r.uid, "method": "POST" if r.kind == "post" else "GET"}
        route = "/api/v1/payments" if r.kind == "post" else "/api/v1/payments/{payment_id}"
        dur = int(r.rt * 1000)
        if r.app == "ok":
            emit(
                ms,
                "INFO",
                "payment authorized",
                "payments.api.routes",
                pod,
                **base,
                route=route,
                status=201,
                payment_id=r.pay_id,
                amount=rng.randint(5, 400) * 100 - 1 + rng.randint(0, 1),
                currency="EUR",
                duration_ms=dur,
            )
        elif r.app == "declined":
            emit(
                ms,
                "INFO",
                "payment declined",
                "payments.api.routes",
                pod,
                **base,
                route=route,
                status=402,
                decline_code=rng.choice(("card_declined", "insufficient_funds", "do_not_honor", "expired_card")),
                duration_ms=dur,
            )
        elif r.app == "invalid":
            emit(
                ms,
                "WARNING",
                "validation failed",
                "payments.api.routes",
                pod,
                **base,
                route=route,
                status=422,
                errors=rng.choice(
                    ("amount: must be greater than 0", "currency: unsupported value", "payment_method: required")
                ),
                duration_ms=dur,
            )
        elif r.app == "conflict":
            emit(
                ms,
                "WARNING",
                "idempotency key reused with a different request",
                "payments.api.routes",
                pod,
                **base,
                route=route,
                status=409,
                duration_ms=dur,
            )
        elif r.app == "pool_timeout":
            what = "payment failed" if r.kind == "post" else "request failed"
            func, line = ("create_payment", 112) if r.kind == "post" else ("get_payment", 140)
            emit(
                ms,
                "ERROR",
                f"{what}: could not acquire a database connection",
                "payments.api.routes",
                pod,
                **base,
                route=route,
                status=500,
                duration_ms=dur,
                exc=POOL_TB.format(line=line, func=func),
            )
        elif r.app == "psp_timeout":
            emit(
                ms,
                "ERROR",
                "payment failed: acquirer timeout",
                "payments.api.routes",
                pod,
                **base,
                route=route,
                status=500,
                duration_ms=dur,
                exc=PSP_TB,
            )
        elif r.app == "shed":
            emit(
                ms,
                "WARNING",
                "request shed: concurrency limit reached",
                "payments.api.middleware",
                pod,
                **base,
                route=route,
                status=503,
                in_flight=rng.randint(200, 260),
                limit=200,
            )
    for p in pods:
        _pod_lifecycle(p, emit, rng)
    for k, t in enumerate(range(WINDOW[0] + 150 * SECOND, WINDOW[1], 5 * MINUTE)):
        up = serving(pods, t)
        if not up:
            continue
        pod = up[k % len(up)]
        if pod.version == "2.14.3" and t >= PHASE_A:
            emit(
                t + rng.randint(0, 999),
                "ERROR",
                "reconciliation batch failed: could not acquire a database connection",
                "payments.reconcile",
                pod,
                batch=k,
                exc=POOL_TB.format(line=64, func="reconcile_batch"),
            )
        else:
            emit(
                t + rng.randint(0, 999),
                "INFO",
                "reconciliation batch complete",
                "payments.reconcile",
                pod,
                batch=k,
                settled=rng.randint(40, 160),
                mismatches=0,
            )
    recs.sort(key=lambda x: (x[0], x[1]))
    b.app_lines = len(recs)
    b.marks["app_first_pool_error"] = next(
        (ms for ms, _, r in recs if r["level"] == "ERROR" and "database connection" in r["msg"]), None
    )
    b.marks["app_crashloop_event"] = next(
        (ms for ms, _, r in recs if r.get("reason") == "BackOff" and ms >= at("14:32:00")), None
    )
    return lines_bytes(jsonl_line(r) for _, _, r in recs)


def _pod_lifecycle(p: Pod, emit: Any, rng: Rng) -> None:
    """Startup, pool configuration, liveness failures, kills and back-off events of one pod."""
    max_conns = 5 if p.version == "2.14.3" else 50
    kube = {"object": f"pod/{p.name}", "namespace": "payments"}
    starts = ([p.up[0][0]] if p.created >= WINDOW[0] else []) + p.restarts
    for i, s in enumerate(starts):
        emit(
            s + 850,
            "INFO",
            f"starting payments-api {p.version}",
            "payments.main",
            p,
            version=p.version,
            restart_count=i,
        )
        emit(
            s + 910,
            "INFO",
            "db pool configured",
            "payments.db",
            p,
            max_conns=max_conns,
            max_idle_conns=10,
            acquire_timeout_s=10,
        )
        emit(s + 1460, "INFO", "listening on 0.0.0.0:8080", "uvicorn.error", p)
    for j, k in enumerate(p.kills):
        for d in (20, 10, 0):
            t = k - d * SECOND - 900
            emit(
                t,
                "WARNING",
                "liveness check failed: timed out acquiring a database connection after 1.0s",
                "payments.health",
                p,
            )
            emit(
                t + 1000 + rng.randint(0, 20),
                "WARNING",
                f'Liveness probe failed: Get "http://{p.ip}:8080/healthz/live": context deadline exceeded '
                "(Client.Timeout exceeded while awaiting headers)",
                "kubernetes.events",
                None,
                reason="Unhealthy",
                type="Warning",
                **kube,
            )
        emit(
            k + 120,
            "INFO",
            "Container payments-api failed liveness probe, will be restarted",
            "kubernetes.events",
            None,
            reason="Killing",
            type="Normal",
            **kube,
        )
        emit(k + 180, "INFO", "received SIGTERM; shutting down", "uvicorn.error", p)
        if j >= 1:
            emit(
                k + 2100,
                "WARNING",
                f"Back-off restarting failed container payments-api in pod {p.name}_payments({p.uid})",
                "kubernetes.events",
                None,
                reason="BackOff",
                type="Warning",
                **kube,
            )
    if WINDOW[0] <= p.terminated < WINDOW[1]:
        emit(
            p.terminated,
            "INFO",
            "Stopping container payments-api",
            "kubernetes.events",
            None,
            reason="Killing",
            type="Normal",
            **kube,
        )
        if p.is_up(p.terminated - 1):
            emit(p.terminated + 60, "INFO", "received SIGTERM; shutting down", "uvicorn.error", p)


# ---------------------------------------------------------------------------- metrics

QUERIES = {
    "ingress_requests_by_status": 'sum by (status) (increase(nginx_ingress_controller_requests{namespace="payments",'
    'ingress="payments-api"}[1m]))',
    "payments_post_latency_p95": "histogram_quantile(0.95, sum by (le) (rate(nginx_ingress_controller_request_duration"
    '_seconds_bucket{ingress="payments-api",path="/api/v1/payments",method="POST"}[1m])))',
    "db_pool_connections": '{__name__=~"db_pool_connections_(in_use|max)",namespace="payments",app="payments-api"}',
    "pod_restarts": 'kube_pod_container_status_restarts_total{namespace="payments",container="payments-api"}',
}


METRIC_SEMANTICS = {
    "ingress_requests_by_status": "requests nginx logged in [t-60s, t) with that status (exact integers); sum over "
    "samples = access-log lines. A status's series starts at the first minute it occurs",
    "payments_post_latency_p95": "nearest-rank p95 of rt (seconds) of the POST /api/v1/payments lines logged in "
    "[t-60s, t); no label, no __name__ (the metric name comes from options.metric)",
    "db_pool_connections": "gauges per pod, sampled every 30 s while the container runs (gaps: crash-looping)",
    "pod_restarts": "restart counter per pod, sampled every 30 s while the pod exists",
}
METRIC_STEP_SECONDS = {
    "ingress_requests_by_status": 60,
    "payments_post_latency_p95": 60,
    "db_pool_connections": 30,
    "pod_restarts": 30,
}


def minute_counts(reqs: list[Req]) -> dict[int, dict[int, int]]:
    """Lines per minute (``[m, m+60s)`` of the log time, whole seconds) and status."""
    out: dict[int, dict[int, int]] = {}
    for r in reqs:
        m = floor_minute(r.t_c - r.t_c % SECOND)
        per = out.setdefault(m, {})
        per[r.status] = per.get(r.status, 0) + 1
    return out


def write_metrics(b: Build) -> dict[str, dict[str, Any]]:
    """Prometheus ``query_range`` responses, one file per query."""
    rng = Rng(ID, "metrics")
    grid = list(range(WINDOW[0], WINDOW[1], MINUTE))
    counts = minute_counts(b.reqs)
    codes = sorted({c for per in counts.values() for c in per})
    series = []
    for code in codes:
        first = min(m for m in grid if counts.get(m, {}).get(code))
        series.append(
            ({"status": str(code)}, [(m + MINUTE, counts.get(m, {}).get(code, 0)) for m in grid if m >= first])
        )
    docs = {"ingress_requests_by_status": prom_matrix(series)}
    lat: dict[int, list[float]] = {}
    for r in b.reqs:
        if r.kind == "post":
            lat.setdefault(floor_minute(r.t_c - r.t_c % SECOND), []).append(r.rt)
    docs["payments_post_latency_p95"] = prom_matrix([({}, [(m + MINUTE, p95(lat[m])) for m in grid if m in lat])])
    step = 30 * SECOND
    pool, restarts = [], []
    for p in b.pods:
        base = {"app": SERVICE, "instance": f"{p.ip}:9102", "job": SERVICE, "namespace": "payments", "pod": p.name}
        cap = 5 if p.version == "2.14.3" else 50
        in_use, maxc, rs = [], [], []
        for t in range(WINDOW[0], WINDOW[1] + 1, step):
            if p.created <= t < p.terminated:
                rs.append((t, float(sum(1 for x in p.restarts if x <= t))))
            if not p.is_up(t):
                continue
            if p.version == "2.14.3":
                v = 5 if t >= PHASE_A else rng.randint(1, 4)
            elif p.created >= WINDOW[0] and t < NGINX_OK:
                v = rng.randint(0, 2)
            elif p.created >= WINDOW[0] and t < DECAY_END:
                v = int(45 - 27 * (t - NGINX_OK) / (DECAY_END - NGINX_OK)) + rng.randint(-3, 3)
            else:
                v = rng.randint(2, 9)
            in_use.append((t, float(v)))
            maxc.append((t, float(cap)))
        pool.append(({"__name__": "db_pool_connections_in_use", **base}, in_use))
        pool.append(({"__name__": "db_pool_connections_max", **base}, maxc))
        ksm = {
            "__name__": "kube_pod_container_status_restarts_total",
            "container": SERVICE,
            "instance": "kube-state-metrics.monitoring.svc:8080",
            "job": "kube-state-metrics",
            "namespace": "payments",
            "pod": p.name,
            "uid": p.uid,
        }
        restarts.append((ksm, rs))
    key = lambda s: sorted(s[0].items())  # noqa: E731
    docs["db_pool_connections"] = prom_matrix(sorted(pool, key=key))
    docs["pod_restarts"] = prom_matrix(sorted(restarts, key=key))
    b.metrics.update(common.metric_records(docs, QUERIES))
    return docs


# ---------------------------------------------------------------------------- deploys

_BOT = gh_user("acme-deploy[bot]", 149123456, bot=True)


def write_deploys(b: Build) -> dict[str, list[dict[str, Any]]]:
    """GitHub deployments (REST list with statuses), one file per repository, newest first."""
    rng = Rng(ID, "deploys")
    raj = gh_user("raj-patel", 81234567)
    plan = [
        # repo, version, env, created, duration s, requested_by, pr, task, description
        ("payments-api", "v2.14.2", "staging", "2025-06-11T15:10:00Z", 131, "luis-garcia", 1469, "deploy", None),
        ("payments-api", "v2.14.2", "production", "2025-06-12T10:03:00Z", 122, "luis-garcia", 1469, "deploy", None),
        ("checkout-web", "v5.8.0", "production", "2025-06-15T11:20:00Z", 95, "ana-silva", 3310, "deploy", None),
        ("payments-api", "v2.14.3", "staging", "2025-06-15T13:20:00Z", 100, "luis-garcia", 1482, "deploy", None),
        ("ledger-service", "v1.31.0", "production", "2025-06-15T13:41:00Z", 143, "kofi-mensah", 877, "deploy", None),
        ("notifications-worker", "v3.2.7", "production", "2025-06-15T14:02:00Z", 71, "ana-silva", 512, "deploy", None),
        (
            "payments-api",
            "v2.14.3",
            "production",
            iso_s(DEPLOY_CREATED),
            (DEPLOY_DONE - DEPLOY_STARTED) // 1000,
            "luis-garcia",
            1482,
            "deploy",
            None,
        ),
        (
            "payments-api",
            "v2.14.2",
            "production",
            iso_s(ROLLBACK_CREATED),
            (ROLLBACK_DONE - ROLLBACK_STARTED) // 1000,
            "raj-patel",
            None,
            "deploy:rollback",
            "Rollback to v2.14.2",
        ),
        ("search-api", "v4.0.2", "production", "2025-06-15T15:52:00Z", 88, "kofi-mensah", 2051, "deploy", None),
        ("checkout-web", "v5.8.1", "production", "2025-06-15T16:05:00Z", 97, "ana-silva", 3318, "deploy", None),
    ]
    shas: dict[tuple[str, str], str] = {}
    dep_id = 2571104000
    status_id = 3088210000
    made: list[dict[str, Any]] = []
    live: dict[tuple[str, str], dict[str, Any]] = {}  # (repo, env) -> current deployment record
    for repo, ver, env, created, dur, who, pr, task, desc in plan:
        dep_id += rng.randint(40_000, 900_000)
        sha = shas.setdefault((repo, ver), rng.hex(40))
        c = ms_of(created)
        start, done = c + 4 * SECOND, c + 4 * SECOND + dur * SECOND
        payload: dict[str, Any] = {"service": repo, "version": ver, "image": f"ghcr.io/acme/{repo}:{ver}"}
        if task == "deploy:rollback":
            payload.update(rollback_of=b.marks["culprit_id"], reason=ID, requested_by=who)
        else:
            payload.update(strategy="rolling", requested_by=who, pull_request=pr)
        if repo == "payments-api" and ver == "v2.14.3":
            desc = "payments-api v2.14.3: config refactor (env var cleanup), retry tuning"
        run = f"https://github.com/acme/{repo}/actions/runs/{9520000000 + rng.randint(0, 9_999_999)}"
        rec = {
            "repo": repo,
            "ver": ver,
            "env": env,
            "id": dep_id,
            "sha": sha,
            "task": task,
            "payload": payload,
            "desc": desc or f"{repo} {ver}",
            "creator": raj if task == "deploy:rollback" else _BOT,
            "created": c,
            "statuses": [],
        }
        for ms, state, text in ((start, "in_progress", f"Rolling out {ver}"), (done, "success", "Rollout complete")):
            status_id += rng.randint(1000, 90_000)
            rec["statuses"].append(GhStatus(status_id, state, ms, text, _BOT, run))
        prev = live.get((repo, env))
        if prev is not None:
            status_id += rng.randint(1000, 90_000)
            prev["statuses"].append(GhStatus(status_id, "inactive", done, "", _BOT, ""))
        live[(repo, env)] = rec
        if repo == "payments-api" and ver == "v2.14.3" and env == "production":
            b.marks["culprit_id"] = dep_id
            b.marks["culprit"] = rec
        if task == "deploy:rollback":
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
                environment=rec["env"],
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
PROM_URL = "http://prometheus-k8s-0.monitoring.svc:9090"
PAGE_ROUTE = '{}/{severity="critical"}'
CHAT_ROUTE = '{}/{severity=~"^(?:warning|info)$"}'
RUNBOOK = "https://runbooks.acme.example/payments/availability-budget-burn"
BURN_EXPR = (
    '(sum(rate(nginx_ingress_controller_requests{ingress="payments-api",status=~"5.."}[1h])) / '
    'sum(rate(nginx_ingress_controller_requests{ingress="payments-api"}[1h])) > (14.4 * 0.001)) and '
    '(sum(rate(nginx_ingress_controller_requests{ingress="payments-api",status=~"5.."}[5m])) / '
    'sum(rate(nginx_ingress_controller_requests{ingress="payments-api"}[5m])) > (14.4 * 0.001))'
)


def _ratio(reqs: list[Req], a: int, z: int) -> float:
    sel = [r for r in reqs if a <= r.t_c < z]
    return sum(1 for r in sel if r.status >= 500) / max(1, len(sel))


def write_alerts(b: Build) -> None:
    """Alertmanager webhook notifications: the SLO burn page, crash loops, and unrelated noise."""
    rng = Rng(ID, "alerts")

    def ns() -> int:
        return rng.randint(0, 999_999)

    out = b.alerts

    def send(ms: int, payload: dict[str, Any]) -> None:
        name = payload["alerts"][0]["labels"]["alertname"]
        out.append((f"{len(out) + 1:02d}-{dt_of(ms):%Y%m%dT%H%M%S}Z-{name}-{payload['status']}", payload))

    es_labels = {
        "alertname": "ElasticsearchDiskUsageHigh",
        "cluster": "logs-es",
        "instance": "es-data-2:9114",
        "job": "elasticsearch-exporter",
        "service": "logging",
        "severity": "warning",
    }
    es_ann = {
        "summary": "Elasticsearch data node disk usage above 85%",
        "description": "es-data-2 disk usage is 87.4% (threshold 85%).",
        "runbook_url": "https://runbooks.acme.example/platform/elasticsearch-disk",
    }
    es_gen = prom_generator_url(PROM_URL, 'elasticsearch_filesystem_data_used_percent{cluster="logs-es"} > 85')
    es = {
        "labels": es_labels,
        "annotations": es_ann,
        "starts": iso_ns(at("13:48:21.204"), ns()),
        "generator_url": es_gen,
    }
    platform = {
        "receiver": "slack-platform",
        "route_key": CHAT_ROUTE,
        "group_by": ["alertname", "service"],
        "external_url": AM_URL,
    }
    send(at("13:48:51"), am_payload(alerts=[am_alert(status="firing", ends=None, **es)], **platform))
    es_end = iso_ns(at("14:09:51.204"), ns())
    send(at("14:10:21"), am_payload(alerts=[am_alert(status="resolved", ends=es_end, **es)], **platform))
    burn_labels = {
        "alertname": "PaymentsAvailabilityBudgetBurn",
        "long_window": "1h",
        "service": SERVICE,
        "severity": "critical",
        "short_window": "5m",
        "slo": "payments-availability",
        "team": "payments",
    }
    ratio5 = _ratio([r for r in b.reqs if r.kind == "post"], ALERT_STARTS - 5 * MINUTE, ALERT_STARTS)
    burn_ann = {
        "summary": "payments-api is burning its 30-day availability error budget faster than 14.4x",
        "description": f"5xx ratio of POST /api/v1/payments is {ratio5:.1%} over the last 5m "
        f"(burn rate {ratio5 / 0.001:.0f}x; page threshold 14.4x over 1h and 5m).",
        "runbook_url": RUNBOOK,
    }
    burn_gen = prom_generator_url(PROM_URL, BURN_EXPR)
    burn_start = iso_ns(ALERT_STARTS, ns())
    b.marks["alert_starts"] = burn_start
    b.marks["alert_ratio5"] = ratio5
    burn = {"labels": burn_labels, "annotations": burn_ann, "starts": burn_start, "generator_url": burn_gen}
    firing = am_alert(status="firing", ends=None, **burn)
    page = {
        "receiver": "pagerduty-payments",
        "route_key": PAGE_ROUTE,
        "group_by": ["alertname", "service"],
        "external_url": AM_URL,
    }
    send(at("14:23:04.8"), am_payload(alerts=[firing], **page))
    b.marks["group_key"] = out[-1][1]["groupKey"]
    crash_start = at("14:39:12.377")
    crash_pods = [p for p in b.pods if p.version == "2.14.3" and p.terminated > crash_start]
    crash = []
    for p in crash_pods:
        labels = {
            "alertname": "KubePodCrashLooping",
            "container": SERVICE,
            "job": "kube-state-metrics",
            "namespace": "payments",
            "pod": p.name,
            "service": SERVICE,
            "severity": "warning",
        }
        ann = {
            "description": f'Pod payments/{p.name} ({SERVICE}) is in waiting state (reason: "CrashLoopBackOff").',
            "runbook_url": "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping",
            "summary": "Pod is crash looping.",
        }
        gen = prom_generator_url(
            PROM_URL,
            'max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoop'
            'BackOff",job="kube-state-metrics",namespace=~".*"}[5m]) >= 1',
        )
        crash.append((labels, ann, gen, p))
    starts = iso_ns(crash_start, ns())
    chat = {
        "receiver": "slack-payments",
        "route_key": CHAT_ROUTE,
        "group_by": ["alertname", "service"],
        "external_url": AM_URL,
    }
    send(
        at("14:39:42.4"),
        am_payload(
            alerts=[
                am_alert(status="firing", labels=lb, annotations=an, starts=starts, ends=None, generator_url=g)
                for lb, an, g, _ in crash
            ],
            **chat,
        ),
    )
    send(
        at("14:44:12.4"),
        am_payload(
            alerts=[
                am_alert(
                    status="resolved",
                    labels=lb,
                    annotations=an,
                    starts=starts,
                    ends=iso_ns(p.terminated + 95 * SECOND, ns()),
                    generator_url=g,
                )
                for lb, an, g, p in crash
            ],
            **chat,
        ),
    )
    send(at("14:53:04.8"), am_payload(alerts=[firing], **page))
    burn_end = iso_ns(at("15:04:31.734"), ns())
    send(at("15:05:01.9"), am_payload(alerts=[am_alert(status="resolved", ends=burn_end, **burn)], **page))
    cert_labels = {
        "alertname": "CertificateExpiringSoon",
        "certificate": "shop-acme-example-tls",
        "namespace": "checkout",
        "service": "checkout-web",
        "severity": "warning",
    }
    cert_ann = {
        "summary": "TLS certificate expires in less than 14 days",
        "description": "Certificate checkout/shop-acme-example-tls expires on 2025-06-28T09:00:00Z.",
    }
    send(
        at("16:06:03"),
        am_payload(
            alerts=[
                am_alert(
                    status="firing",
                    labels=cert_labels,
                    annotations=cert_ann,
                    starts=iso_ns(at("16:05:33.051"), ns()),
                    ends=None,
                    generator_url=prom_generator_url(
                        PROM_URL, "certmanager_certificate_expiration_timestamp_seconds - time() < 14 * 86400"
                    ),
                )
            ],
            receiver="slack-platform",
            route_key=CHAT_ROUTE,
            group_by=["alertname", "service"],
            external_url=AM_URL,
        ),
    )


# ---------------------------------------------------------------------------- PagerDuty

PD = PdAccount("acme")
PD_USERS = {
    "raj-patel": ("PRAJ7K1", "Raj Patel"),
    "jane-doe": ("PJANE4D", "Jane Doe"),
    "mei-chen": ("PMEI8C2", "Mei Chen"),
}


def write_pagerduty(b: Build) -> None:
    """PagerDuty v3 webhook events for incident #4821, one file per event."""
    rng = Rng(ID, "pagerduty")
    inc_id, number = "Q2P7K4NX8W1ZRT", 4821
    title = "[FIRING:1] PaymentsAvailabilityBudgetBurn payments-api (critical)"
    user = {k: PD.ref("user", v[0], v[1]) for k, v in PD_USERS.items()}
    service = PD.ref("service", "PSV9P4Y", SERVICE)
    integration = PD.ref("inbound_integration", "PIN2AM7", "Alertmanager")
    base = {
        "id": inc_id,
        "type": "incident",
        "self": f"https://api.pagerduty.com/incidents/{inc_id}",
        "html_url": f"https://acme.pagerduty.com/incidents/{inc_id}",
        "number": number,
        "status": "triggered",
        "incident_key": hashlib.sha256(b.marks["group_key"].encode()).hexdigest(),
        "created_at": iso_s(PD_TRIGGER),
        "title": title,
        "service": service,
        "assignees": [user["raj-patel"]],
        "escalation_policy": PD.ref("escalation_policy", "PEP3Q8M", "Payments on-call"),
        "teams": [PD.ref("team", "PT5PAY1", "Payments")],
        "priority": None,
        "urgency": "high",
        "conference_bridge": None,
        "resolve_reason": None,
    }
    p1 = {
        "html_url": "https://acme.pagerduty.com/account/incident_priorities",
        "id": "PSO75BM",
        "self": "https://api.pagerduty.com/priorities/PSO75BM",
        "summary": "P1",
        "type": "priority_reference",
    }
    ref = {
        "html_url": base["html_url"],
        "id": inc_id,
        "self": base["self"],
        "summary": title,
        "type": "incident_reference",
    }

    def add(ms: int, event_type: str, agent: dict[str, Any] | None, data: dict[str, Any]) -> None:
        name = f"{len(b.pd_events) + 1:02d}-{dt_of(ms):%Y%m%dT%H%M%S}Z-{event_type}"
        b.pd_events.append(
            (
                name,
                pd_v3_event(
                    event_id=rng.uuid4(), event_type=event_type, occurred_at=iso_ms(ms), agent=agent, data=data
                ),
            )
        )
        b.marks.setdefault("pd", []).append((event_type, ms))

    add(PD_TRIGGER, "incident.triggered", integration, dict(base))
    add(PD_ACK, "incident.acknowledged", user["raj-patel"], dict(base, status="acknowledged"))
    add(PD_PRIORITY, "incident.priority_updated", user["jane-doe"], dict(base, status="acknowledged", priority=p1))
    # the IC mirrors the first two Slack updates to PagerDuty, half a minute after each
    for ms, text in (
        (b.updates[0]["ms"] + 30_554, b.updates[0]["summary"]),
        (b.updates[1]["ms"] + 31_018, b.updates[1]["summary"]),
    ):
        add(
            ms,
            "incident.status_update_published",
            user["jane-doe"],
            {
                "incident": ref,
                "id": "P" + rng.alnum(6).upper(),
                "message": text,
                "trimmed": False,
                "type": "incident_status_update",
            },
        )
    for ms, who, text in (
        (
            at("14:35:40.311"),
            "mei-chen",
            "Correlated with deploy v2.14.3 at 14:18 UTC: DB_MAX_CONNS changed 50 -> 5. Rolling back to v2.14.2.",
        ),
        (at("14:42:31.870"), "raj-patel", "Rollback to v2.14.2 complete, 6/6 pods Ready, pool max_conns=50."),
    ):
        add(
            ms,
            "incident.annotated",
            user[who],
            {
                "incident": ref,
                "id": "P" + rng.alnum(6).upper(),
                "content": text,
                "trimmed": False,
                "type": "incident_note",
            },
        )
    add(
        PD_RESOLVE,
        "incident.resolved",
        user["jane-doe"],
        dict(base, status="resolved", priority=p1, resolve_reason=None),
    )
    b.pd_events.sort(key=lambda x: x[0][3:])
    b.pd_events[:] = [(f"{i + 1:02d}{name[2:]}", doc) for i, (name, doc) in enumerate(b.pd_events)]


# ---------------------------------------------------------------------------- status updates and Slack


def _round100(n: int) -> str:
    return f"{round(n, -2):,}"


def plan_updates(b: Build) -> None:
    """The SEV1 status updates (every 15 min, seeds/004 template), with figures taken from the access log."""
    posts = [r for r in b.reqs if r.kind == "post"]
    failed_1423_1447 = sum(1 for r in posts if r.status >= 500 and at("14:23:00") <= r.t_c < at("14:47:00"))
    first_ok = min(r.t_c - r.t_c % SECOND for r in posts if r.status == 201 and r.t_c >= ROLLBACK_DONE)
    b.marks["first_success"] = first_ok
    b.marks["first_success_req"] = next(r for r in posts if r.status == 201 and r.t_c - r.t_c % SECOND == first_ok)
    failed = [r for r in posts if r.status >= 500 and r.cause == "incident"]
    b.marks["failed_tx_all"] = len(failed)
    b.marks["customers_all"] = len({r.uid for r in failed})
    fs = f"{dt_of(first_ok):%H:%M}"
    common_what = (
        "A configuration error in today's deployment caused payment transaction failures starting at 14:23 UTC."
    )
    plan = [
        (
            at("14:30:10"),
            "14:30",
            "Investigating",
            "14:45",
            "Payment transactions are failing for all customers; customers see an error at checkout.",
            "Declared SEV1 at 14:28 UTC; payments, backend and SRE on-call engaged; executives notified.",
            "Investigating payments-api errors (database connection timeouts) and recent changes.",
            "All payment attempts are failing since about 14:20 UTC. Number of affected transactions being established.",
            "SEV1: all payment transactions failing; investigating payments-api database connection timeouts.",
        ),
        (
            at("14:44:55"),
            "14:45",
            "Identified — rollback complete, recovering",
            "15:00",
            common_what,
            "Identified the 14:18 UTC deployment of payments-api v2.14.3 as the cause and rolled it back "
            "(14:38-14:42 UTC).",
            "Waiting for the load balancer to route traffic to the restored pods again (expected by 14:47 UTC).",
            "Payment transactions are still failing; customers can retry shortly.",
            "Cause identified (deploy v2.14.3); rollback complete at 14:42 UTC, recovery in progress.",
        ),
        (
            at("14:59:50"),
            "15:00",
            "Mitigated — monitoring for stability",
            "15:15",
            common_what,
            f"Rolled back the deployment at 14:38 UTC. Payments resumed processing normally at {fs} UTC.",
            "Monitoring transaction success rates and error logs to confirm full recovery. No customer action required.",
            f"Approximately {_round100(failed_1423_1447)} transactions failed between 14:23–14:47 UTC. Affected customers "
            "will be able to retry their transactions. We are identifying affected orders for proactive outreach.",
            f"Mitigated: payments processing normally since {fs} UTC; monitoring.",
        ),
        (
            at("15:14:40"),
            "15:15",
            "Mitigated — monitoring",
            "15:30",
            common_what,
            "Rolled back to v2.14.2; error rate back to baseline since 15:00 UTC.",
            "Monitoring; preparing the fix of the connection pool setting.",
            f"About {_round100(b.marks['failed_tx_all'])} failed transactions from about "
            f"{_round100(b.marks['customers_all'])} customers.",
            "Monitoring; error rate at baseline since 15:00 UTC.",
        ),
        (
            at("15:29:35"),
            "15:30",
            "Monitoring",
            "15:45",
            common_what,
            "Rolled back to v2.14.2; error rate at baseline since 15:00 UTC.",
            "Monitoring until 15:45 UTC before resolving.",
            "No new failures since 15:00 UTC.",
            "Monitoring.",
        ),
        (
            at("15:44:30"),
            "15:45",
            "Monitoring — window ending",
            "15:47 (resolution)",
            common_what,
            "Rolled back to v2.14.2; 45 minutes at baseline.",
            "Closing the monitoring window and resolving.",
            "No new failures since 15:00 UTC.",
            "Monitoring window ending.",
        ),
    ]
    for n, (ms, hm, status, nxt, what, did, doing, impact, summary) in enumerate(plan, 1):
        text = (
            f"**[SEV1] Payment Processing — Update #{n} ({hm} UTC)**\n\n"
            f"**Current status:** {status}\n"
            f"**Next update:** {nxt} UTC or sooner if status changes\n\n"
            f"**What happened:** {what}\n\n"
            f"**What we did:** {did}\n\n"
            f"**What we're doing now:** {doing}\n\n"
            f"**Impact:** {impact}"
        )
        b.updates.append({"n": n, "ms": ms, "text": text, "summary": summary})


def write_slack(b: Build) -> SlackExport:
    """The Slack export: #incidents, #deploys and the incident channel, with the seed's timeline."""
    rng = Rng(ID, "slack")
    sx = SlackExport(team="T01ACME42", domain="acme.example", rng=rng)
    sx.users = [
        SlackUser("U04JD8Q2LMA", "jane-doe", "Jane Doe", "Engineering Manager, Payments"),
        SlackUser("U03RP6T1KXB", "raj-patel", "Raj Patel", "Site Reliability Engineer"),
        SlackUser("U05MC2H9PZC", "mei-chen", "Mei Chen", "Staff Engineer, Payments"),
        SlackUser("U02TB7N4QWD", "tom-becker", "Tom Becker", "Incident Communications"),
        SlackUser("U06LG3R8VNE", "luis-garcia", "Luis Garcia", "Backend Engineer, Payments"),
        SlackUser("U01SV5K2JHF", "sara-vance", "Sara Vance", "VP Engineering"),
        SlackUser("U07NK4W6BTG", "nina-kowalski", "Nina Kowalski", "Customer Support Lead"),
        SlackUser("U06KM1S3DQH", "kofi-mensah", "Kofi Mensah", "Backend Engineer, Ledger"),
        SlackUser("U0PDAPP1XYZ", "pagerduty", "PagerDuty", bot_id="B0PDAPP01"),
        SlackUser("U0DEPLOY1AB", "deploybot", "deploybot", bot_id="B0DEPLOY02"),
    ]
    m = sx.mention
    inc = "inc-2025-0142-payments"
    sx.channel("C01INCDNT01", "incidents", ms_of("2022-03-01T09:00:00Z"), "jane-doe", purpose="Incident coordination")
    sx.channel("C02DEPLOYS2", "deploys", ms_of("2022-03-01T09:05:00Z"), "raj-patel", purpose="Deploy notifications")
    opened = at("14:25:40")
    sx.channel("C07PAY0142Q", inc, opened, "raj-patel", purpose="INC-2025-0142: payment processing failures")
    link = f"<#C07PAY0142Q|{inc}>"

    # deploys
    for rec in sorted(b.deploys["records"], key=lambda r: r["created"]):
        if rec["created"] < WINDOW[0] - 4 * 3600 * SECOND or rec["env"] != "production":
            continue
        started = next(s.ms for s in rec["statuses"] if s.state == "in_progress")
        done = next(s.ms for s in rec["statuses"] if s.state == "success")
        who = rec["payload"]["requested_by"]
        if rec["task"] == "deploy:rollback":
            title = f":rewind: Rolling back {rec['repo']} to {rec['ver']} (rollback of deployment {rec['payload']['rollback_of']})"
        else:
            title = f":rocket: Deploying {rec['repo']} {rec['ver']} to production"
        fields = [
            {"title": "Requested by", "value": who, "short": True},
            {"title": "Commit", "value": rec["sha"][:7], "short": True},
        ]
        sx.bot(
            "deploys",
            started + 1200,
            "deploybot",
            "",
            [{"fallback": title, "color": "#439FE0", "title": title, "text": rec["desc"], "fields": fields}],
        )
        done_title = f":white_check_mark: {rec['repo']} {rec['ver']} is live in production"
        sx.bot("deploys", done + 900, "deploybot", "", [{"fallback": done_title, "color": "good", "title": done_title}])
    sx.post("deploys", at("13:44:12"), "kofi-mensah", "ledger 1.31.0 is out, settlement job looks healthy")
    sx.post(
        "deploys",
        at("14:18:41"),
        "luis-garcia",
        "payments-api v2.14.3 is out (config cleanup + retry tuning). canary was green in staging",
    )

    # #incidents
    sx.post(
        "incidents",
        at("13:52:30"),
        "raj-patel",
        "ES disk warning on logs-es again (87%), it's the retention job lagging. bumping it, no user impact",
    )
    sx.post("incidents", at("14:11:02"), "raj-patel", "ES disk back under threshold")
    pd_title = "#4821 [FIRING:1] PaymentsAvailabilityBudgetBurn payments-api (critical)"
    pd_link = "https://acme.pagerduty.com/incidents/Q2P7K4NX8W1ZRT"

    def pd_post(ms: int, verb: str, color: str, extra: list[dict[str, Any]]) -> None:
        sx.bot(
            "incidents",
            ms,
            "pagerduty",
            "",
            [
                {
                    "fallback": f"{verb}: {pd_title}",
                    "color": color,
                    "title": f"{verb}: {pd_title}",
                    "title_link": pd_link,
                    "fields": extra,
                }
            ],
        )

    pd_post(
        PD_TRIGGER + 1100,
        "Triggered",
        "danger",
        [
            {"title": "Service", "value": SERVICE, "short": True},
            {"title": "Assigned", "value": "Raj Patel", "short": True},
            {"title": "Urgency", "value": "High", "short": True},
        ],
    )
    sx.post(
        "incidents",
        at("14:24:31"),
        "nina-kowalski",
        "Support here: we're getting tickets about failed card payments at checkout, started a few minutes ago",
    )
    pd_post(PD_ACK + 800, "Acknowledged by Raj Patel", "warning", [])
    sx.post(
        "incidents",
        at("14:25:20"),
        "raj-patel",
        f"ack — looking into it. payment POSTs failing across the board {m('nina-kowalski')}",
    )
    sx.post("incidents", at("14:25:55"), "raj-patel", f"incident channel: {link}")
    sx.post(
        "incidents",
        at("14:28:41"),
        "jane-doe",
        f"SEV1 declared for payments: payment transactions failing for all "
        f"customers. IC {m('jane-doe')}, updates every 15 min in {link}. Exec notified: {m('sara-vance')}",
    )
    pd_post(PD_RESOLVE + 900, "Resolved by Jane Doe", "good", [])
    sx.post(
        "incidents",
        at("15:48:02"),
        "jane-doe",
        f"INC-2025-0142 resolved at 15:47 UTC. Postmortem within 48h, details in {link}",
    )

    # the incident channel
    c = inc
    sx.event(c, opened, "raj-patel", "channel_join", f"{m('raj-patel')} has joined the channel")
    sx.event(
        c,
        opened + 7 * SECOND,
        "raj-patel",
        "channel_purpose",
        f"{m('raj-patel')} set the channel purpose: INC-2025-0142: payment processing failures",
        purpose="INC-2025-0142: payment processing failures",
    )
    sx.post(
        c,
        at("14:26:05"),
        "raj-patel",
        f"POST /api/v1/payments 5xx at ~90% and climbing, p95 latency ~10s; the "
        f"app logs show pool timeouts. pulling in payments folks {m('mei-chen')} {m('luis-garcia')}",
    )
    for ms, who in (
        (at("14:26:20"), "jane-doe"),
        (at("14:26:31"), "mei-chen"),
        (at("14:26:50"), "luis-garcia"),
        (at("14:27:10"), "tom-becker"),
        (at("14:28:50"), "sara-vance"),
        (at("14:29:30"), "nina-kowalski"),
    ):
        sx.event(c, ms, who, "channel_join", f"{m(who)} has joined the channel")
    sx.post(
        c,
        at("14:27:30"),
        "mei-chen",
        "app logs: `sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 0 reached` on every pod",
    )
    declare = sx.post(
        c,
        DECLARE,
        "jane-doe",
        f"Declaring *SEV1* for payment processing: payment transactions are "
        f"failing for all customers since ~14:20 UTC. I'm IC. {m('raj-patel')} ops, {m('mei-chen')} tech "
        f"lead, {m('tom-becker')} comms. Exec notified ({m('sara-vance')}). Status updates every 15 min "
        "here.",
    )
    topic = "SEV1 | payments-api: payment transactions failing | IC @jane-doe | updates every 15 min"
    sx.event(
        c, at("14:28:20"), "jane-doe", "channel_topic", f"{m('jane-doe')} set the channel topic: {topic}", topic=topic
    )
    sx.post(c, at("14:29:10"), "sara-vance", "thanks, watching. ping me if you need anything")
    updates = []
    for u in b.updates:
        updates.append(sx.post(c, u["ms"], "tom-becker", u["text"]))
    sx.post(
        c, at("14:31:20"), "luis-garcia", "QueuePool limit of size 5? our pool is 50. something is off with the config"
    )
    new_pods = [p for p in b.pods if p.version == "2.14.3"]
    t = at("14:32:50")
    counts = [sum(1 for x in p.restarts if x <= t) for p in new_pods]
    crash = sx.post(
        c,
        at("14:32:10"),
        "mei-chen",
        "payments-api pods are in *CrashLoopBackOff*: liveness probe failing "
        "(`timed out acquiring a database connection`), every pod restarting",
    )
    sx.post(
        c,
        t,
        "raj-patel",
        f"confirmed: `kubectl -n payments get pods` shows {len(new_pods)}/{len(new_pods)} "
        f"payments-api-{NEW_RS}-* in CrashLoopBackOff, {min(counts)}-{max(counts)} restarts each",
        thread=crash,
    )
    sx.post(
        c,
        at("14:33:40"),
        "luis-garcia",
        "startup log on the 2.14.3 pods: `db pool configured max_conns=5 max_idle_conns=10`. idle > max, that's wrong",
        thread=crash,
    )
    sx.post(
        c,
        at("14:34:30"),
        "mei-chen",
        "and db_pool_connections_in_use is pinned at 5/5 on every pod since ~14:19",
        thread=crash,
    )
    sx.post(
        c,
        at("14:35:05"),
        "mei-chen",
        "Correlated: v2.14.3 went out at 14:18 and the config refactor changed "
        "`DB_MAX_CONNS` from 50 to 5 (the intent was `DB_MAX_IDLE_CONNS`). Errors start ~14:19. It's the deploy.",
    )
    sx.post(
        c, at("14:35:50"), "jane-doe", f"Decision: roll back to v2.14.2 now, investigate after. {m('raj-patel')} go"
    )
    sx.post(c, at("14:36:10"), "luis-garcia", "+1, no migrations in 2.14.3, rollback is safe")
    sx.post(
        c,
        ROLLBACK_CREATED + 400,
        "raj-patel",
        "rolling back: `gh workflow run rollback.yml -f service=payments-api -f to=v2.14.2`",
    )
    sx.post(c, at("14:40:05"), "raj-patel", "rollback progressing, 3/6 pods on v2.14.2")
    sx.post(c, at("14:42:20"), "raj-patel", "rollback complete: 6/6 pods Ready on v2.14.2, `max_conns=50`")
    sx.post(
        c,
        at("14:43:30"),
        "mei-chen",
        "still no successful payments: nginx answers 502 `no live upstreams`. the "
        "payments upstream has `max_fails=3 fail_timeout=300s`, so it keeps the pods marked down for 5 min. should "
        "clear by ~14:47",
    )
    sx.post(c, at("14:44:10"), "jane-doe", "ok. not touching nginx mid-incident unless it's not back by 14:48")
    first = b.marks["first_success_req"]
    sx.post(
        c,
        at("14:47:40"),
        "mei-chen",
        f"first successful transaction confirmed: {first.pay_id} -> 201 at "
        f"{dt_of(b.marks['first_success']):%H:%M:%S} UTC :tada:",
        reactions=[{"name": "tada", "users": [sx.user("jane-doe").id, sx.user("raj-patel").id], "count": 2}],
    )
    sx.post(
        c,
        at("14:50:30"),
        "raj-patel",
        "error rate dropping; some 503s from load shedding while the client retries drain (in_flight > 200)",
    )
    sx.post(c, at("14:55:00"), "luis-garcia", "retry surge coming down, pool in_use ~25/50")
    sx.post(c, at("15:01:20"), "raj-patel", "error rate back to baseline since 15:00 (<0.5% 5xx). watching.")
    sx.post(c, at("15:05:30"), "mei-chen", "PaymentsAvailabilityBudgetBurn resolved")
    sx.post(
        c,
        at("15:20:00"),
        "luis-garcia",
        "PR #1490 restores DB_MAX_CONNS=50 and sets DB_MAX_IDLE_CONNS=5 as "
        "intended; adding a startup check that idle <= max",
    )
    resolution = (
        "**[SEV1] Payment Processing — Resolved (15:47 UTC)**\n\n"
        "**Current status:** Resolved\n\n"
        "**What happened:** A configuration error in the 14:18 UTC deployment of payments-api reduced its database "
        "connection pool from 50 to 5 connections; payment transactions failed until the deployment was rolled back.\n\n"
        f"**Impact:** About {_round100(b.marks['failed_tx_all'])} failed transactions from about "
        f"{_round100(b.marks['customers_all'])} customers between 14:19 and 15:00 UTC.\n\n"
        "**Next steps:** Postmortem within 48 hours; affected customers will be contacted."
    )
    final = sx.post(c, at("15:47:20"), "tom-becker", resolution)
    sx.post(
        c,
        at("15:47:40"),
        "jane-doe",
        f"Monitoring window complete, incident resolved. Thanks all. Postmortem within 48h (owner {m('mei-chen')}).",
    )
    b.marks["declare_msg"] = declare
    b.marks["crash_msg"] = crash
    b.marks["update_msgs"] = updates
    b.marks["resolution_msg"] = final
    return sx


# ---------------------------------------------------------------------------- ground truth


def _sec(ms: int) -> int:
    return ms - ms % SECOND


def _describe(r: Req) -> str:
    what = {"health": "load-balancer health check", "post": "payment", "get": "payment lookup", "scan": "scan"}
    return f"{'POST' if r.kind == 'post' else 'GET'} {r.path} {r.status} ({what[r.kind]}, uid={r.uid})"


def _minute_ratios(reqs: list[Req], lo: int, hi: int, pred: Any = None) -> list[tuple[int, int, int]]:
    """``(minute, total, 5xx)`` for every minute in ``[lo, hi)``."""
    acc: dict[int, list[int]] = {m: [0, 0] for m in range(lo, hi, MINUTE)}
    for r in reqs:
        if pred is not None and not pred(r):
            continue
        m = floor_minute(_sec(r.t_c))
        if m in acc:
            acc[m][0] += 1
            acc[m][1] += r.status >= 500
    return [(m, t, f) for m, (t, f) in sorted(acc.items())]


def ground_truth(b: Build, s: Sample) -> dict[str, Any]:
    reqs = b.reqs
    inc = [r for r in reqs if r.cause == "incident"]
    impact_start = min(_sec(r.t_c) for r in inc)
    # mitigated: the last failing request of the incident (second precision, as nginx logs it); the
    # impact window is [impact_start, mitigated], both ends included; minute figures take the whole
    # minutes that cover it, up to ``recovered`` (the first minute after the last incident failure)
    mitigated = max(_sec(r.t_c) for r in inc)
    recovered = floor_minute(mitigated) + MINUTE
    per_min = _minute_ratios(reqs, WINDOW[0], WINDOW[1])
    after = [(m, t, f) for m, t, f in per_min if m >= recovered]
    worst_after = max(f / t for m, t, f in after if t)
    if worst_after > BASELINE_THRESHOLD:
        raise AssertionError(f"error ratio {worst_after:.3%} after mitigation exceeds the baseline threshold")
    lo = floor_minute(impact_start)
    win = [r for r in reqs if impact_start <= _sec(r.t_c) <= mitigated]
    failed = [r for r in win if r.status >= 500]
    posts = [r for r in win if r.kind == "post"]
    failed_posts = [r for r in posts if r.status >= 500]
    if any(r.cause != "incident" for r in failed) or len(failed) != len(inc):
        raise AssertionError("the impact window must hold exactly the incident's failures")
    in_window = [(m, t, f) for m, t, f in per_min if lo <= m < recovered]
    peak_m, peak_t, peak_f = max(in_window, key=lambda x: (x[2] / max(1, x[1]), -x[0]))
    post_min = _minute_ratios(reqs, lo, recovered, lambda r: r.kind == "post")
    full = [m for m, t, f in post_min if t and f == t]
    detected = common.ns_to_us_iso(b.marks["alert_starts"])
    declared = slack_us_iso(b.marks["declare_msg"]["ts"])
    ms = {
        "impact_start": iso_s(impact_start),
        "detected": detected,
        "acknowledged": iso_ms(PD_ACK),
        "declared": declared,
        "mitigated": iso_s(mitigated),
        "resolved": iso_ms(PD_RESOLVE),
    }
    det_ms, dec_ms = ms_of(detected), slack_ms(b.marks["declare_msg"]["ts"])
    first_req = min(inc, key=lambda r: (_sec(r.t_c), r.seq))
    last_req = max(inc, key=lambda r: (_sec(r.t_c), r.seq))
    first_post = min((r for r in inc if r.kind == "post"), key=lambda r: (_sec(r.t_c), r.seq))
    all_posts = [r for r in reqs if r.kind == "post"]

    def lat(a: int, z: int) -> float:
        return round(p95([r.rt for r in all_posts if a <= _sec(r.t_c) < z]) * 1000, 1)

    total_lines = len(reqs)
    rate = total_lines / ((WINDOW[1] - WINDOW[0]) / MINUTE)
    bad_minutes = [m for m, t, f in per_min if t and f / t > 0.001]
    bad_in = [m for m in bad_minutes if lo <= m < recovered]
    culprit, rollback = b.marks["culprit"], b.marks["rollback"]
    production = [r for r in b.deploys["records"] if r["env"] == "production"]
    upd_ms = [slack_ms(u["ts"]) for u in b.marks["update_msgs"]]
    res_ms = slack_ms(b.marks["resolution_msg"]["ts"])
    gaps = common.gaps_minutes([dec_ms, *upd_ms, res_ms])
    pd_updates = [ms for kind, ms in b.marks["pd"] if kind == "incident.status_update_published"]
    merged_gap = max(common.gaps_minutes(sorted([dec_ms, *upd_ms, *pd_updates, res_ms])))
    backgrounds = [r for r in reqs if r.cause == "background"]
    by_status: dict[str, int] = {}
    for r in failed:
        by_status[str(r.status)] = by_status.get(str(r.status), 0) + 1
    nginx_5xx_total = sum(1 for r in reqs if r.status >= 500)
    samples = {k: v["samples"] for k, v in b.metrics.items()}
    return {
        "id": ID,
        "generator": {"module": "pmkit.samplegen.payments", "seed": ID, "access_log_lines": total_lines},
        "window": common.span(*WINDOW),
        "severity": {
            "declared": "SEV1",
            "policy": "responder",
            "expected": "SEV1",
            "reasons": [
                f"widespread user-facing outage: peak per-minute error ratio {peak_f / peak_t:.3f} (>= 0.95) on {SERVICE}",
                "100% of payment transactions failing at the worst (seeds/004: SEV1)",
            ],
            "cadence_minutes": 15,
        },
        "milestones": ms,
        "milestone_evidence": {
            "impact_start": f"nginx: first 5xx line of the incident: {_describe(first_req)}; the first failed payment "
            f"follows at {iso_s(_sec(first_post.t_c))}",
            "detected": "alertmanager: startsAt of PaymentsAvailabilityBudgetBurn (firing)",
            "acknowledged": "pagerduty: incident.acknowledged",
            "declared": "slack: 'Declaring *SEV1*' in #inc-2025-0142-payments (PagerDuty priority P1 follows at "
            f"{iso_ms(PD_PRIORITY)})",
            "mitigated": f"nginx: the last incident failure: {_describe(last_req)}; every minute from "
            f"{iso_s(recovered)} on has 5xx ratio <= {BASELINE_THRESHOLD:.0%} (worst {worst_after:.3%})",
            "resolved": "pagerduty: incident.resolved",
        },
        "mitigation_action": {
            **common.rollback_mitigation(rollback),
            "first_success_after": iso_s(b.marks["first_success"]),
        },
        "mttx_minutes": common.mttx_minutes(impact_start, det_ms, PD_ACK, dec_ms, mitigated, PD_RESOLVE),
        "sources": {
            "nginx": common.source_count("lines", total_lines),
            "app": common.source_count("lines", b.app_lines),
            "requests": common.source_count("samples", samples["ingress_requests_by_status"]),
            "latency_p95": common.source_count("samples", samples["payments_post_latency_p95"]),
            "db_pool": common.source_count("samples", samples["db_pool_connections"]),
            "pod_restarts": common.source_count("samples", samples["pod_restarts"]),
            **common.deploy_chat_alert_sources(b.deploys, b.slack.count() if b.slack else 0, s, b.alerts),
            "pagerduty": common.source_count("records", len(b.pd_events), len(b.pd_events)),
        },
        "impact": {
            **common.impact_totals(impact_start, mitigated, len(win), len(failed)),
            "failed_by_status": dict(sorted(by_status.items())),
            "total_transactions": len(posts),
            "failed_transactions": len(failed_posts),
            "affected_users": len({r.uid for r in failed if r.uid != "-"}),
            "affected_customers_transactions": len({r.uid for r in failed_posts}),
            "peak_error_ratio": round(peak_f / peak_t, 4),
            "peak_minute": iso_s(peak_m),
            "peak_transaction_error_ratio": round(max(f / t for m, t, f in post_min if t), 4),
            "full_failure_minutes": len(full),
            "full_failure_span": common.span(full[0], full[-1] + MINUTE),
            "impact_minutes": minutes(impact_start, mitigated),
            "p95_latency_ms": common.latency_phases(
                "nearest-rank p95 of rt of POST /api/v1/payments (nginx)",
                lat,
                WINDOW,
                DEPLOY_CREATED,
                impact_start,
                mitigated + SECOND,
            ),
            "baseline_error_ratio": round(
                sum(f for m, t, f in per_min if m < DEPLOY_CREATED)
                / sum(t for m, t, f in per_min if m < DEPLOY_CREATED),
                5,
            ),
            "background_5xx_outside_impact": len(backgrounds),
        },
        "slo": {
            **common.availability_slo("nginx"),
            "budget_minutes": common.SLO_BUDGET_MINUTES,
            **common.request_budget(len(failed), rate, rate_digits=3, budget_digits=1),
            **common.time_slice_budget(len(bad_minutes), len(bad_in)),
            "slice_threshold": common.SLO_BAD_RATIO,
        },
        "culprit": {
            **common.culprit_deployment(culprit, SERVICE),
            "deployed_at": iso_s(common.deployed_ms(culprit)),
            "minutes_before_impact": minutes(common.deployed_ms(culprit), impact_start),
            "change": "DB_MAX_CONNS 50 -> 5 (intended: DB_MAX_IDLE_CONNS 5)",
        },
        "rollback": common.rollback_deployment(rollback),
        "changes_before_impact": common.changes_before_impact(
            production, WINDOW[0], impact_start, "deployed_at", common.deployed_ms
        ),
        "cadence": common.cadence(
            declared,
            [slack_us_iso(u["ts"]) for u in b.marks["update_msgs"]],
            slack_us_iso(b.marks["resolution_msg"]["ts"]),
            gaps,
            required_minutes=15,
            pagerduty_updates=[iso_ms(ms) for ms in sorted(pd_updates)],
            max_gap_with_pagerduty=merged_gap,
        ),
        "alerts": {
            **common.alert_summary("PaymentsAvailabilityBudgetBurn", detected, len(b.alerts), repeat_notifications=1),
            "burn_ratio_5m_at_firing": round(b.marks["alert_ratio5"], 4),
            "crashloop_alert_starts_at": common.ns_to_us_iso(
                next(d for n, d in b.alerts if "KubePodCrashLooping-firing" in n)["alerts"][0]["startsAt"]
            ),
            "unrelated": ["ElasticsearchDiskUsageHigh", "CertificateExpiringSoon"],
        },
        "chat": {
            "crashloop_seen": slack_us_iso(b.marks["crash_msg"]["ts"]),
            "first_success_time_stated": f"{dt_of(b.marks['first_success']):%H:%M:%S}",
            "stated_impact_start": "14:23 UTC (status updates; the access log shows the first failure at "
            f"{dt_of(impact_start):%H:%M:%S})",
        },
        "cross_checks": {
            "metrics_requests_total": sum(t for m, t, f in per_min),
            "metrics_5xx_total": nginx_5xx_total,
            "app_pool_timeout_errors": sum(1 for r in b.app_reqs if r.app == "pool_timeout"),
            "app_first_pool_error": iso_ms(b.marks["app_first_pool_error"]),
        },
        "metrics": common.metrics_block(b.metrics, METRIC_SEMANTICS, METRIC_STEP_SECONDS),
    }


# ---------------------------------------------------------------------------- incident.yaml


def incident_yaml(b: Build, exp: dict[str, Any], large_lines: int | None) -> bytes:
    imp = exp["impact"]
    failed_tx, customers = imp["failed_transactions"], imp["affected_customers_transactions"]
    spec: dict[str, Any] = {
        "id": ID,
        "title": "Payment processing failures",
        "services": [SERVICE],
        "severity": "SEV1",
        "severity_policy": "responder",
        "status": "resolved",
        "facts": {"revenue_impact": "Estimated $340K in delayed/lost transactions", "workaround": False},
        "window": common.span(*WINDOW),
        "roles": {
            "incident_commander": "@jane-doe",
            "technical_lead": "@mei-chen",
            "operations_lead": "@raj-patel",
            "communications_lead": "@tom-becker",
            "responders": "@backend-team, @payments-team, @sre-on-call",
        },
        "runbook": RUNBOOK,
        # the postmortem's byline; the app log's own zone (Europe/Berlin) as the document's local time
        "authors": ["@mei-chen", "@jane-doe"],
        "date": "2025-06-16",
        "tags": ["payments", "database", "config-change"],
        "display_timezone": "Europe/Berlin",
        "sources": [
            {
                "name": "nginx",
                "kind": "logs",
                "format": "combined",
                "path": "logs/access.log*",
                "service": SERVICE,
            },
            {
                "name": "app",
                "kind": "logs",
                "format": "jsonl",
                "path": "logs/payments-api.jsonl.gz",
                "service": SERVICE,
                "timezone": LOCAL_TZ,
                "fields": {"ts": "ts", "level": "level", "message": "msg", "service": "service", "actor": "user_id"},
            },
            {
                "name": "requests",
                "kind": "metrics",
                "format": "prometheus",
                "path": "metrics/ingress_requests_by_status.json",
                "service": SERVICE,
                "options": {"metric": "nginx_ingress_requests_increase_1m"},
            },
            {
                "name": "latency_p95",
                "kind": "metrics",
                "format": "prometheus",
                "path": "metrics/payments_post_latency_p95.json",
                "service": SERVICE,
                "options": {"metric": "payments_post_latency_p95_seconds"},
            },
            {
                "name": "db_pool",
                "kind": "metrics",
                "format": "prometheus",
                "path": "metrics/db_pool_connections.json",
                "service": SERVICE,
            },
            {
                "name": "pod_restarts",
                "kind": "metrics",
                "format": "prometheus",
                "path": "metrics/pod_restarts.json",
                "service": SERVICE,
            },
            *common.incident_tail_sources(),
        ],
        "slos": [common.availability_slo("nginx")],
        "narrative": {
            "leadup": (
                "At 14:16 UTC the deploy pipeline started rolling out payments-api v2.14.3 to production: a config "
                "refactor (env var cleanup) and retry tuning, whose canary had been green in staging. It was live in "
                "production at 14:18 UTC."
            ),
            "summary": (
                f"On 2025-06-15 payments-api v2.14.3, rolled out at 14:18 UTC, reduced the database connection pool "
                f"from 50 to 5 connections. Under production load the pool was exhausted, pods crash-looped and "
                f"payment transactions failed (100% of them at the worst) until a rollback to v2.14.2 (14:38-14:42 "
                f"UTC); the error rate was back at baseline at 15:00 UTC and the incident was resolved at 15:47 UTC. "
                f"About {_round100(failed_tx)} transactions from about {_round100(customers)} unique customers failed."
            ),
            "root_cause": (
                "Deploy v2.14.3 introduced a connection pool configuration change that reduced max connections from "
                "50 to 5 (typo in env var). Under load, connection exhaustion caused cascading failures and pod crashes."
            ),
            "trigger": (
                "Rollout of payments-api v2.14.3 to production at 14:18 UTC: during a config refactor the environment "
                "variable DB_MAX_CONNS was changed from 50 to 5; the intended change was DB_MAX_IDLE_CONNS to 5."
            ),
            "resolution": "Rolled back to v2.14.2. Connection pool restored to previous configuration.",
            "customer_impact": (
                f"Payments failed at checkout: about {_round100(failed_tx)} failed transactions from about "
                f"{_round100(customers)} unique customers; 100% of payment transactions failed at the worst. "
                "Estimated revenue impact: $340K in delayed/lost transactions."
            ),
            "contributing_factors": [
                "Env var naming convention (DB_MAX_CONNS vs DB_MAX_IDLE_CONNS) is error-prone",
                "Canary metrics too coarse for connection-level issues",
                "No alerting on connection pool utilization",
            ],
            "went_well": [
                "Alert fired within 5 minutes of deploy",
                "Rollback executed in under 10 minutes",
                "Communication cadence maintained throughout",
            ],
            "went_wrong": [
                "No integration test validates connection pool behavior under load",
                "Code review approved the change: env var names are similar and easy to confuse",
                "Canary only checks HTTP 200 rate, not downstream dependency health; low traffic during the canary "
                "window did not exhaust the 5-connection pool",
            ],
            "lucky": [
                "v2.14.3 carried no schema migration, so rolling back was safe and fast",
            ],
            "lessons": [
                "Env var changes need the same rigor as code changes",
                "Canary metrics should include dependency health, not just surface-level HTTP status",
                "Connection pool exhaustion is a class of failure worth dedicated monitoring",
            ],
        },
        "five_whys": [
            {
                "why": "Why did payments fail?",
                "answer": "Connection pool exhausted, no connections available for new requests.",
            },
            {
                "why": "Why was the connection pool exhausted?",
                "answer": "Max connections set to 5 instead of 50 in v2.14.3.",
            },
            {
                "why": "Why was it set to 5?",
                "answer": "Environment variable DB_MAX_CONNS was changed from 50 to 5 (typo during config refactor, "
                "intended to set DB_MAX_IDLE_CONNS to 5).",
            },
            {
                "why": "Why wasn't the typo caught?",
                "answer": "No integration test validates connection pool behavior under load. Code review approved the "
                "change — env var names are similar and easy to confuse.",
            },
            {
                "why": "Why didn't canary catch it before full rollout?",
                "answer": "Canary only checks HTTP 200 rate, not downstream dependency health. Low traffic during canary "
                "window didn't exhaust the 5-connection pool.",
            },
        ],
        "action_items": [
            {
                "action": "Add integration test validating connection pool size",
                "owner": "@backend",
                "due": "2025-06-22",
                "priority": "P1",
                "status": "open",
            },
            {
                "action": "Add deployment canary checking transaction success rate",
                "owner": "@sre",
                "due": "2025-06-20",
                "priority": "P1",
                "status": "open",
            },
            {
                "action": "Review env var change process — require diff review",
                "owner": "@platform",
                "due": "2025-06-25",
                "priority": "P2",
                "status": "open",
            },
        ],
        # the customer-facing version (pmkit render --audience public): the name customers know, and the
        # action items above in their words
        "public": {
            "services": {"payments-api": "the Payments API"},
            "what_we_are_doing": "We are adding an automatic check of payment success rates to every release, "
            "a test of the database connection settings under load before each release, and a review step for "
            "configuration changes.",
        },
    }
    header = (
        f"{ID}: payments-api v2.14.3 cut the DB connection pool from 50 to 5 (seeds/004).\n"
        "Generated by pmkit.samplegen (python -m pmkit.samplegen data/samples); edit the generator, not this file.\n"
        "Ground truth: expected.yaml beside this file; data/samples/README.md explains both.\n"
        "The app log writes naive Europe/Berlin times; the access log writes +0200 offsets."
    )
    if large_lines is not None:
        header += f"\nLarge benchmark variant: logs/access.log has {large_lines} lines (not committed)."
    return yaml_bytes(spec, header)
