"""The small-incident engine: a :class:`Scenario` (data) in, a :class:`~samplegen.common.Sample` out.

The scenario modules (``checkout``, ``orders``, ``search``) describe an incident as data: traffic,
the phases that break it, deploys, alerts, pages and chat. This module simulates the requests
minute by minute with one seeded :class:`~samplegen.common.Rng` per component, writes the
evidence in the formats the scenario names, and computes the ground truth from the records
exactly as written (each request knows whether the incident or the background made it fail
or slow: the generator's own knowledge, never pmkit's answer).

Definitions written to ``expected.yaml`` (data/samples/README.md has the table):

- ``impact_start``: the first request the incident made bad (failed, or slower than the
  latency threshold for a latency phase), at the precision of the evidence it is in (the
  request log's second; without a request log, the app's error line, 1 ms later).
- ``mitigated``: with a request log, the last request the incident made bad (its second, as the
  log writes it); without one (per-minute request metrics), the end of the last minute holding
  such a request (the time of the last failing sample).
- ``impact.window``: with a request log ``[impact_start, mitigated]``, both ends included at the
  log's one-second precision; without one the whole minutes ``[floor(impact_start), mitigated)``.
  Every count uses it, over the SLI's population: every request of the request log (load-balancer
  health checks included, as docs/analyses.md counts them), else the requests the metrics count.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from samplegen import common
from samplegen.common import MINUTE, SECOND, Rng, Sample, dt_of, floor_minute, iso_ms, iso_ns, iso_s, minutes
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
    slack_us_iso,
    yaml_bytes,
)

PROM_URL = "http://prometheus-k8s-0.monitoring.svc:9090"
AM_URL = "http://alertmanager.monitoring.svc:9093"
PD = PdAccount("acme")


# ----------------------------------------------------------------------------- the scenario, as data


@dataclass(frozen=True)
class Endpoint:
    """A route of the service: its share of traffic and its usual latency (median, ms)."""

    method: str
    path: str  # ``{id}`` is replaced by a random id
    weight: float
    latency_ms: float
    size: int = 512


@dataclass(frozen=True)
class Phase:
    """A span in which the incident breaks some endpoints: errors, or latency times ``slow``."""

    start: int
    end: int
    paths: tuple[str, ...]
    error_ratio: float = 0.0
    statuses: tuple[int, ...] = (500,)
    slow: float = 1.0


@dataclass(frozen=True)
class Deploy:
    """One deployment (GitHub) or sync (Argo CD); ``rollback_of`` names the deploy it reverts."""

    key: str
    repo: str
    service: str
    ver: str
    env: str
    created: int
    done: int
    description: str
    actor: str = "acme-deploy[bot]"
    rollback_of: str | None = None


@dataclass(frozen=True)
class Alert:
    """An Alertmanager alert: fires at ``starts``, resolved at ``ends`` (None: still firing at the end)."""

    name: str
    service: str
    severity: str
    starts: int
    ends: int | None
    summary: str
    expr: str
    repeat_at: int | None = None  # a repeat notification of the firing alert


@dataclass(frozen=True)
class Page:
    """A PagerDuty v3 webhook event (``incident.triggered``...) by ``who`` (None: the integration)."""

    at: int
    event: str
    who: str | None = None
    text: str = ""


@dataclass(frozen=True)
class Say:
    """A chat message; ``role``: declare / update / resolve for the cadence ground truth."""

    at: int
    who: str
    text: str
    role: str = ""


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    service: str
    seed: str
    window: tuple[int, int]
    rate_per_minute: float
    endpoints: tuple[Endpoint, ...]
    phases: tuple[Phase, ...]
    culprit: str
    rollback: str
    deploys: tuple[Deploy, ...]
    alerts: tuple[Alert, ...]
    pages: tuple[Page, ...]
    chat: tuple[Say, ...]
    people: tuple[tuple[str, str], ...]  # (handle, real name)
    spec: dict[str, Any]  # the author's part of incident.yaml: severity, narrative, 5 whys, action items...
    users: int = 3000
    background_5xx: float = 0.0  # share of requests failing in the background, all window long
    background_bursts: tuple[tuple[int, int, str, int], ...] = ()  # (ms, n, path, status)
    health_checks: tuple[str, ...] = ()  # LB addresses probing GET /healthz every 10 s each
    uid_in_query: bool = False  # user id in the query string (?uid=) instead of a trailing uid= field
    request_log: bool = True
    app_log: str = "jsonl"  # jsonl | logfmt
    metrics: tuple[str, ...] = ()  # requests_by_status | latency_p90
    deploy_format: str = "github"  # github | argocd
    chat_format: str = "slack"  # slack | transcript
    latency_threshold_ms: float | None = None  # a latency incident: bad = slower than this
    slo: dict[str, Any] | None = None
    error_lines: Callable[[Rng, str, str], tuple[str, list[str]]] | None = None  # (message, traceback lines)


@dataclass
class Req:
    ms: int
    ip: str
    method: str
    path: str
    status: int
    rt_ms: int
    uid: str | None
    agent: str
    incident: bool = False  # made bad (failed or slow) by the incident
    failed_bg: bool = False  # failed in the background


_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15",
    "acme-android/8.14.2 (Pixel 7; Android 14)",
)


# ----------------------------------------------------------------------------- requests


def _phase_of(sc: Scenario, ms: int, path: str) -> Phase | None:
    for ph in sc.phases:
        if ph.start <= ms < ph.end and path in ph.paths:
            return ph
    return None


def simulate(sc: Scenario) -> list[Req]:
    """Every request of the window, in time order (Poisson per endpoint and minute, seeded)."""
    rng = Rng(sc.id, "requests")
    reqs: list[Req] = []
    total_w = sum(e.weight for e in sc.endpoints)
    for m0 in range(sc.window[0], sc.window[1], MINUTE):
        for ep in sc.endpoints:
            for _ in range(rng.poisson(sc.rate_per_minute * ep.weight / total_w)):
                ms = m0 + rng.randint(0, MINUTE - 1)
                user = rng.randint(1, sc.users)
                uid = f"u_{100000 + user * 37 % 900000}"
                ip = f"{(user * 7) % 200 + 20}.{(user * 13) % 250}.{(user * 29) % 250}.{user % 250 + 1}"
                path = ep.path.replace("{id}", rng.alnum(10))
                rt = ep.latency_ms * math.exp(rng.gauss(0.0, 0.35))
                status, incident, bg = 200 if ep.method == "GET" else 201, False, False
                ph = _phase_of(sc, ms, ep.path)
                if ph is not None and ph.slow > 1:
                    rt *= ph.slow
                    incident = sc.latency_threshold_ms is not None and rt >= sc.latency_threshold_ms
                if ph is not None and ph.error_ratio and rng.chance(ph.error_ratio):
                    status, incident = rng.choice(ph.statuses), True
                    rt = max(rt, 30.0)
                elif sc.background_5xx and rng.chance(sc.background_5xx):
                    status, bg = 500, True
                reqs.append(Req(ms, ip, ep.method, path, status, round(rt), uid, rng.choice(_AGENTS), incident, bg))
    for ms, n, path, status in sc.background_bursts:
        for i in range(n):
            user = rng.randint(1, sc.users)
            t = ms + i * rng.randint(900, 4000)
            reqs.append(
                Req(
                    t,
                    f"10.8.{user % 250}.{user % 97}",
                    "GET",
                    path,
                    status,
                    rng.randint(2, 12),
                    f"u_{100000 + user * 37 % 900000}",
                    rng.choice(_AGENTS),
                    failed_bg=True,
                )
            )
    for lb_i, lb in enumerate(sc.health_checks):
        for t in range(sc.window[0] + 1700 * (lb_i + 1), sc.window[1], 10 * SECOND):
            reqs.append(Req(t, lb, "GET", "/healthz", 200, rng.randint(1, 3), None, "ELB-HealthChecker/2.0"))
    reqs.sort(key=lambda r: (r.ms, r.path))
    return reqs


def is_failed(r: Req) -> bool:
    return r.status >= 500


# ----------------------------------------------------------------------------- writers


def write_access_log(sc: Scenario, reqs: list[Req]) -> bytes:
    """nginx ``combined`` with ``rt=`` (seconds) and, unless the uid is in the query string, ``uid=``."""
    out = []
    stamps: dict[int, str] = {}  # one strftime per second, not per request
    for r in reqs:
        sec = r.ms // SECOND
        t = stamps.get(sec) or stamps.setdefault(sec, dt_of(sec * SECOND).strftime("%d/%b/%Y:%H:%M:%S +0000"))
        path = r.path
        extras: list[tuple[str, str]] = [("rt", f"{r.rt_ms / 1000:.3f}")]
        if sc.uid_in_query:
            if r.uid is not None:
                path = f"{path}?uid={r.uid}&locale=de-DE" if "?" not in path else f"{path}&uid={r.uid}"
        else:
            extras.append(("uid", r.uid or "-"))
        size = 0 if r.status >= 500 else 512 + r.rt_ms % 900
        out.append(combined_line(r.ip, t, f"{r.method} {path} HTTP/1.1", r.status, size, "-", r.agent, extras))
    return gzip_bytes(lines_bytes(out))


def _app_records(sc: Scenario, reqs: list[Req]) -> list[tuple[int, str, str, list[str], str]]:
    """(ms, level, message, traceback lines, uid): an info line per 20th request, one per failed or slow request."""
    rng = Rng(sc.id, "app")
    recs: list[tuple[int, str, str, list[str], str]] = []
    for i, r in enumerate(reqs):
        if r.path == "/healthz":
            continue
        if is_failed(r):
            msg, tb = sc.error_lines(rng, r.path, r.uid or "-") if sc.error_lines else ("request failed", [])
            if not r.incident:
                msg, tb = f"request failed: upstream connection reset uid={r.uid}", []
            recs.append((r.ms + 1, "error", msg, tb, r.uid or "-"))
        elif r.incident:
            recs.append((r.ms + 1, "warning", f"slow search uid={r.uid} took {r.rt_ms} ms", [], r.uid or "-"))
        elif i % 20 == 0:
            recs.append((r.ms + 1, "info", f"{r.method} {r.path} {r.status} uid={r.uid}", [], r.uid or "-"))
    return recs


def write_app_log(sc: Scenario, reqs: list[Req]) -> tuple[bytes, int]:
    """The service's own log (jsonl, or logfmt with raw Python traceback lines after an error); lines written."""
    lines: list[str] = []
    for ms, level, msg, tb, uid in _app_records(sc, reqs):
        if sc.app_log == "logfmt":
            quoted = '"' + msg.replace("\\", "\\\\").replace('"', '\\"') + '"'
            lines.append(
                f"ts={iso_ms(ms)} level={level} logger={sc.service.replace('-', '.')} msg={quoted} user_id={uid}"
            )
            lines += tb
        else:
            lines.append(jsonl_line({"ts": iso_ms(ms), "level": level, "service": sc.service, "msg": msg}))
    return gzip_bytes(lines_bytes(lines)), len(lines)


def minute_counts(reqs: list[Req]) -> dict[int, dict[int, int]]:
    """Requests per minute start and status code."""
    out: dict[int, dict[int, int]] = {}
    for r in reqs:
        by = out.setdefault(floor_minute(r.ms), {})
        by[r.status] = by.get(r.status, 0) + 1
    return out


def p90(values: list[int]) -> float:
    """Nearest-rank 90th percentile."""
    s = sorted(values)
    return s[max(0, math.ceil(0.9 * len(s)) - 1)]


def write_metrics(sc: Scenario, reqs: list[Req]) -> dict[str, tuple[bytes, int, str]]:
    """Prometheus ``query_range`` documents: file name -> (bytes, samples, query). A sample at ``t`` covers ``[t-60s, t)``."""
    out: dict[str, tuple[bytes, int, str]] = {}
    ends = range(sc.window[0] + MINUTE, sc.window[1] + 1, MINUTE)
    api = [r for r in reqs if r.path != "/healthz"]
    if "requests_by_status" in sc.metrics:
        counts = minute_counts(api)
        codes = sorted({c for by in counts.values() for c in by})
        series = [({"code": str(c)}, [(t, float(counts.get(t - MINUTE, {}).get(c, 0))) for t in ends]) for c in codes]
        q = f'sum by (code) (increase(http_requests_total{{service="{sc.service}"}}[1m]))'
        doc = prom_matrix(series)
        out["http_requests_by_code"] = (
            json_bytes(doc, indent=None),
            sum(len(s["values"]) for s in doc["data"]["result"]),
            q,
        )
    if "latency_p90" in sc.metrics:
        by_min: dict[int, list[int]] = {}
        for r in api:
            by_min.setdefault(floor_minute(r.ms), []).append(r.rt_ms)
        pts = [(t, round(p90(by_min[t - MINUTE]) / 1000, 3)) for t in ends if by_min.get(t - MINUTE)]
        q = (
            "histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket"
            f'{{service="{sc.service}"}}[1m])))'
        )
        doc = prom_matrix([({}, pts)])
        out["http_latency_p90"] = (json_bytes(doc, indent=None), len(pts), q)
    return out


def _sha(rng: Rng) -> str:
    return rng.hex(40)


def write_deploys(sc: Scenario) -> tuple[dict[str, bytes], int]:
    """GitHub deployment lists (one file per repository) or Argo CD Applications; the loader's record count."""
    rng = Rng(sc.id, "deploys")
    files: dict[str, bytes] = {}
    by_key = {d.key: d for d in sc.deploys}
    shas = {d.key: _sha(rng) for d in sc.deploys}
    for d in sc.deploys:  # a rollback redeploys the commit of the earlier deploy of its version, if there is one
        if d.rollback_of:
            same = [x.key for x in sc.deploys if x.ver == d.ver and not x.rollback_of and x.service == d.service]
            shas[d.key] = shas[same[0]] if same else shas[d.key]
    if sc.deploy_format == "github":
        bot = gh_user("acme-deploy[bot]", 149123456, bot=True)
        repos: dict[str, list[dict[str, Any]]] = {}
        n = 0
        for i, d in enumerate(sc.deploys):
            dep_id = 2_100_000_000 + i * 7919
            payload: dict[str, Any] = {"service": d.service}
            if d.rollback_of:
                payload["rollback_of"] = 2_100_000_000 + [x.key for x in sc.deploys].index(d.rollback_of) * 7919
            creator = bot if d.actor.endswith("[bot]") else gh_user(d.actor, 5_000_000 + i)
            statuses = [
                GhStatus(3_400_000_000 + i * 10, "in_progress", d.created + 4 * SECOND, "Rollout started", bot),
                GhStatus(3_400_000_000 + i * 10 + 1, "success", d.done, "Rollout complete", bot),
            ]
            repos.setdefault(d.repo, []).append(
                gh_deployment(
                    repo=f"acme/{d.repo}",
                    dep_id=dep_id,
                    sha=shas[d.key],
                    ref=d.ver,
                    task="deploy:rollback" if d.rollback_of else "deploy",
                    payload=payload,
                    environment=d.env,
                    description=d.description,
                    creator=creator,
                    created_ms=d.created,
                    statuses=statuses,
                )
            )
            n += 1 + len(statuses)
        for repo, deps in sorted(repos.items()):
            files[f"deploys/acme-{repo}.json"] = json_bytes(sorted(deps, key=lambda d: -d["id"]))
        return files, n
    # Argo CD: one Application per service, its status.history oldest first
    apps: dict[str, list[Deploy]] = {}
    for d in sc.deploys:
        apps.setdefault(d.service, []).append(d)
    n = 0
    for name, deps in sorted(apps.items()):
        history = []
        for i, d in enumerate(sorted(deps, key=lambda d: d.created)):
            rev = shas[d.key]
            history.append(
                {
                    "id": i + 1,
                    "revision": rev,
                    "deployStartedAt": iso_s(d.created),
                    "deployedAt": iso_s(d.done),
                    "source": {
                        "repoURL": f"https://github.com/acme/{by_key[d.key].repo}-deploy",
                        "path": f"envs/{d.env}",
                        "targetRevision": d.ver,
                    },
                    "initiatedBy": {"automated": True} if d.actor.endswith("[bot]") else {"username": d.actor},
                }
            )
        n += len(history)
        app = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": name, "namespace": "argocd"},
            "spec": {"destination": {"namespace": "prod", "server": "https://kubernetes.default.svc"}},
            "status": {"history": history, "sync": {"status": "Synced", "revision": history[-1]["revision"]}},
        }
        files[f"deploys/argocd-{name}.json"] = json_bytes(app)
    return files, n


def write_alerts(sc: Scenario) -> tuple[dict[str, bytes], dict[str, str]]:
    """Alertmanager webhook notifications (firing, a repeat, resolved; one file each) and each alert's startsAt."""
    rng = Rng(sc.id, "alerts")
    sends: list[tuple[int, dict[str, Any]]] = []
    starts: dict[str, str] = {}
    for a in sc.alerts:
        labels = {"alertname": a.name, "service": a.service, "severity": a.severity, "team": a.service.split("-")[0]}
        base = {
            "labels": labels,
            "annotations": {"summary": a.summary, "description": a.summary + "."},
            "starts": iso_ns(a.starts, rng.randint(0, 999_999)),
            "generator_url": prom_generator_url(PROM_URL, a.expr),
        }
        route = {
            "receiver": "pagerduty-critical" if a.severity == "critical" else "slack-warnings",
            "route_key": '{}/{severity="critical"}' if a.severity == "critical" else '{}/{severity="warning"}',
            "group_by": ["alertname", "service"],
            "external_url": AM_URL,
        }
        starts[a.name] = base["starts"]
        firing = am_payload(alerts=[am_alert(status="firing", ends=None, **base)], **route)
        sends.append((a.starts + 30 * SECOND, firing))
        if a.repeat_at is not None:
            sends.append((a.repeat_at, firing))
        if a.ends is not None:
            end = iso_ns(a.ends, rng.randint(0, 999_999))
            sends.append(
                (a.ends + 30 * SECOND, am_payload(alerts=[am_alert(status="resolved", ends=end, **base)], **route))
            )
    sends.sort(key=lambda x: x[0])
    files = {}
    for i, (ms, doc) in enumerate(sends):
        name = doc["alerts"][0]["labels"]["alertname"]
        files[f"alerts/alertmanager/{i + 1:02d}-{dt_of(ms):%Y%m%dT%H%M%S}Z-{name}-{doc['status']}.json"] = (
            go_json_bytes(doc)
        )
    return files, starts


def write_pages(sc: Scenario) -> dict[str, bytes]:
    """PagerDuty v3 webhook events of one incident, one file each."""
    rng = Rng(sc.id, "pagerduty")
    inc = "Q" + rng.alnum(13).upper()
    names = dict(sc.people)
    paging = next(a for a in sc.alerts if a.severity == "critical")
    title = f"[FIRING:1] {paging.name} {sc.service} (critical)"
    base: dict[str, Any] = {
        "id": inc,
        "type": "incident",
        "self": f"https://api.pagerduty.com/incidents/{inc}",
        "html_url": f"https://acme.pagerduty.com/incidents/{inc}",
        "number": 5000 + rng.randint(0, 999),
        "status": "triggered",
        "created_at": iso_s(sc.pages[0].at),
        "title": title,
        "service": PD.ref("service", "PSV" + rng.alnum(4).upper(), sc.service),
        "urgency": "high",
    }
    ref = {
        "id": inc,
        "type": "incident_reference",
        "summary": title,
        "self": base["self"],
        "html_url": base["html_url"],
    }
    files = {}
    for i, p in enumerate(sc.pages):
        agent = (
            PD.ref("user", "PU" + rng.alnum(5).upper(), names[p.who])
            if p.who
            else PD.ref("inbound_integration", "PIN2AM7", "Alertmanager")
        )
        status = {"incident.triggered": "triggered", "incident.resolved": "resolved"}.get(p.event, "acknowledged")
        if p.event == "incident.annotated":
            data: dict[str, Any] = {
                "incident": ref,
                "id": "P" + rng.alnum(6).upper(),
                "content": p.text,
                "trimmed": False,
                "type": "incident_note",
            }
        else:
            data = dict(base, status=status)
        doc = pd_v3_event(event_id=rng.uuid4(), event_type=p.event, occurred_at=iso_ms(p.at), agent=agent, data=data)
        files[f"alerts/pagerduty/{i + 1:02d}-{dt_of(p.at):%Y%m%dT%H%M%S}Z-{p.event}.json"] = json_bytes(doc)
    return files


def write_chat(sc: Scenario) -> tuple[dict[str, bytes], int, dict[int, str]]:
    """Slack export or a plain transcript; the message count; each message's time as the loader reads it."""
    stamps: dict[int, str] = {}
    if sc.chat_format == "transcript":
        lines = []
        for i, s in enumerate(sc.chat):
            lines.append(f"[{dt_of(s.at):%Y-%m-%d %H:%M:%S}] {s.who}: {s.text}")
            stamps[i] = iso_s(s.at)
        return {"chat/incident-channel.txt": lines_bytes(lines)}, len(lines), stamps
    rng = Rng(sc.id, "slack")
    ex = SlackExport(team="T02ACME", domain="acme.example", rng=rng)
    for i, (handle, real) in enumerate(sc.people):
        ex.users.append(SlackUser(id=f"U0{3000 + i * 17}AC", name=handle, real_name=real, tz="UTC"))
    chan = sc.id.lower()
    first = sc.chat[0]
    ex.channel("C07" + rng.alnum(8).upper(), chan, first.at - 5 * SECOND, first.who, purpose=sc.title)
    for i, s in enumerate(sc.chat):
        msg = ex.post(chan, s.at, s.who, s.text)
        stamps[i] = slack_us_iso(msg["ts"])
    return ex.files("chat/"), ex.count(), stamps


# ----------------------------------------------------------------------------- ground truth and the folder


def _milestone(sc: Scenario, role: str) -> int:
    return next(s.at for s in sc.chat if s.role == role)


def _said(sc: Scenario, role: str) -> int:
    """Index of the first chat message with that role (declare, resolve)."""
    return next(i for i, s in enumerate(sc.chat) if s.role == role)


def build(sc: Scenario) -> Sample:
    """The incident folder's files and its ``expected.yaml``."""
    s = Sample(sc.id)
    reqs = simulate(sc)
    sources: dict[str, dict[str, Any]] = {}
    spec_sources: list[dict[str, Any]] = []
    if sc.request_log:
        s.add("logs/access.log.gz", write_access_log(sc, reqs))
        sources["nginx"] = common.source_count("lines", len(reqs))
        spec_sources.append(
            {"name": "nginx", "kind": "logs", "format": "combined", "path": "logs/access.log.gz", "service": sc.service}
        )
    app_bytes, app_lines = write_app_log(sc, reqs)
    ext = "log" if sc.app_log == "logfmt" else "jsonl"
    s.add(f"logs/{sc.service}.{ext}.gz", app_bytes)
    sources["app"] = common.source_count("lines", app_lines)
    app_src: dict[str, Any] = {
        "name": "app",
        "kind": "logs",
        "format": sc.app_log,
        "path": f"logs/{sc.service}.{ext}.gz",
        "service": sc.service,
    }
    if sc.app_log == "jsonl":
        app_src["fields"] = {"ts": "ts", "level": "level", "message": "msg", "service": "service"}
    elif any(tb for *_, tb, _ in _app_records(sc, reqs)):  # raw traceback lines continue their error line
        app_src["options"] = {"multiline": "traceback"}
    spec_sources.append(app_src)
    metric_truth = {}
    for name, (data, samples, query) in write_metrics(sc, reqs).items():
        s.add(f"metrics/{name}.json", data)
        sources[name] = common.source_count("samples", samples)
        metric_truth[name] = {"file": f"metrics/{name}.json", "query": query, "step_seconds": 60, "samples": samples}
        spec_sources.append(
            {
                "name": name,
                "kind": "metrics",
                "format": "prometheus",
                "path": f"metrics/{name}.json",
                "service": sc.service,
            }
        )
    dep_files, dep_records = write_deploys(sc)
    for k, v in dep_files.items():
        s.add(k, v)
    sources["deploys"] = {"unit": "records", "count": dep_records, "files": len(dep_files)}
    spec_sources.append(
        {
            "name": "deploys",
            "kind": "deploys",
            "format": "github-deployments" if sc.deploy_format == "github" else "argocd",
            "path": "deploys/",
        }
    )
    chat_files, chat_n, chat_stamps = write_chat(sc)
    for k, v in chat_files.items():
        s.add(k, v)
    chat_days = sum(1 for k in chat_files if k.count("/") == 2) or 1
    sources["chat"] = common.source_count("messages", chat_n, chat_days)
    spec_sources.append(
        {
            "name": "chat",
            "kind": "chat",
            "format": sc.chat_format,
            "path": "chat/" if sc.chat_format == "slack" else "chat/incident-channel.txt",
        }
    )
    am_files, am_starts = write_alerts(sc)
    for k, v in am_files.items():
        s.add(k, v)
    sources["alertmanager"] = common.source_count("alerts", len(am_files), len(am_files))
    spec_sources.append(
        {"name": "alertmanager", "kind": "alerts", "format": "alertmanager", "path": "alerts/alertmanager/"}
    )
    pd_files = write_pages(sc)
    for k, v in pd_files.items():
        s.add(k, v)
    sources["pagerduty"] = common.source_count("records", len(pd_files), len(pd_files))
    spec_sources.append({"name": "pagerduty", "kind": "alerts", "format": "pagerduty", "path": "alerts/pagerduty/"})

    exp = ground_truth(sc, reqs, sources, metric_truth, chat_stamps, am_starts)
    s.expected = exp
    s.add(
        "expected.yaml",
        yaml_bytes(
            exp,
            header=f"{sc.id}: ground truth written by samplegen from the records it "
            "wrote\n(never from pmkit's output); data/samples/README.md "
            "explains every key.",
        ),
    )
    spec: dict[str, Any] = {
        "id": sc.id,
        "title": sc.title,
        "services": [sc.service],
        **{k: v for k, v in sc.spec.items() if k in ("severity", "severity_policy", "status")},
        "facts": {"total_users": exp["impact"]["active_users"], **sc.spec.get("facts", {})},
        "window": common.span(*sc.window),
        **{k: v for k, v in sc.spec.items() if k in ("roles", "runbook", "authors", "date", "tags")},
        "sources": spec_sources,
    }
    if sc.slo is not None:
        spec["slos"] = [sc.slo]
    spec.update({k: v for k, v in sc.spec.items() if k in ("narrative", "five_whys", "action_items")})
    s.add(
        "incident.yaml",
        yaml_bytes(
            spec,
            header=f"{sc.id}: {sc.title}.\nGenerated by samplegen (python -m samplegen "
            "data/samples); edit the generator, not this file.\nGround "
            "truth: expected.yaml beside this file.",
        ),
    )
    return s


def ground_truth(
    sc: Scenario,
    reqs: list[Req],
    sources: dict[str, dict[str, Any]],
    metric_truth: dict[str, Any],
    chat_stamps: dict[int, str],
    am_starts: dict[str, str],
) -> dict[str, Any]:
    """``expected.yaml``: milestones, impact, culprit and the rest, from the records as written."""
    api = [r for r in reqs if r.path != "/healthz"]
    sli_reqs = reqs if sc.request_log else api  # the SLI's population: every line of the request log, else the metrics'
    bad = [r for r in api if r.incident]
    if sc.request_log:  # the request log writes whole seconds: the run is [first, last] bad request, both included
        start, mitigated = _sec(bad[0].ms), _sec(bad[-1].ms)
        lo = start

        def inside(r: Req) -> bool:
            return start <= _sec(r.ms) <= mitigated
    else:  # the first evidence is the app's error line, 1 ms later; the metrics count whole minutes
        start, mitigated = bad[0].ms + 1, floor_minute(bad[-1].ms) + MINUTE
        lo = floor_minute(start)

        def inside(r: Req) -> bool:
            return lo <= r.ms < mitigated

    win = [r for r in sli_reqs if inside(r)]
    failed = [r for r in win if is_failed(r)]
    by_min: dict[int, list[Req]] = {}  # the whole minutes from the start's minute to the one holding mitigated
    for r in sli_reqs:
        if floor_minute(start) <= floor_minute(r.ms) <= floor_minute(mitigated - (0 if sc.request_log else 1)):
            by_min.setdefault(floor_minute(r.ms), []).append(r)
    ratios = {m: sum(is_failed(r) for r in rs) / len(rs) for m, rs in sorted(by_min.items())}
    peak_minute = max(ratios, key=lambda m: (ratios[m], -m))
    bad_ratios = {m: sum(r.incident or is_failed(r) for r in rs) / len(rs) for m, rs in sorted(by_min.items())}
    peak_bad_minute = max(bad_ratios, key=lambda m: (bad_ratios[m], -m))
    deploy = {d.key: d for d in sc.deploys}
    culprit, rollback = deploy[sc.culprit], deploy[sc.rollback]
    paging = next(a for a in sc.alerts if a.severity == "critical")
    ack = next(p.at for p in sc.pages if p.event == "incident.acknowledged")
    declared = _milestone(sc, "declare")
    resolved = next(p.at for p in sc.pages if p.event == "incident.resolved")
    time_of = {  # the precision of each evidence: request log seconds, PagerDuty ms, chat as its loader reads it
        "impact_start": iso_s(start) if sc.request_log else iso_ms(start),
        "detected": common.ns_to_us_iso(am_starts[paging.name]),
        "acknowledged": iso_ms(ack),
        "declared": chat_stamps[_said(sc, "declare")],
        "mitigated": iso_s(mitigated),
        "resolved": iso_ms(resolved),
    }
    users_active = sorted({r.uid for r in win if r.uid})
    affected = sorted({r.uid for r in win if r.uid and (r.incident or is_failed(r))})
    health = [r for r in reqs if r.path == "/healthz" and inside(r)]
    length = min(mitigated - start, 60 * MINUTE)
    before_win = [r for r in sli_reqs if start - length <= _sec(r.ms) < start]
    impact: dict[str, Any] = {
        "window": common.span(lo, mitigated),
        "window_rule": (
            "[start, end], both ends included, at the request log's one-second precision"
            if sc.request_log
            else "[start, end): the whole minutes of the per-minute request metrics"
        ),
        "total_requests": len(win),
        "failed_requests": len(failed),
        "bad_requests": len([r for r in win if r.incident or is_failed(r)]),
        "error_ratio": round(len(failed) / len(win), 4),
        "population": (
            "every request of the request log, load-balancer health checks (GET /healthz) included"
            if sc.health_checks
            else "every request of the request log"
            if sc.request_log
            else "requests counted by the per-minute request metrics"
        ),
        "health_checks_in_window": len(health),
        "user_requests_in_window": len(win) - len(health),
        "incident_failed_requests": sum(r.incident and is_failed(r) for r in win),
        "background_failed_requests": sum(r.failed_bg for r in win),
        "background_failed_before_impact": sum(r.failed_bg for r in reqs if r.ms < lo),
        "affected_users": len(affected),
        "affected_users_basis": "distinct uid with a failed (5xx) request, or one the incident made slow, in the window"
        + ("" if sc.request_log else " (uid from the app log's error lines)"),
        "active_users": len(users_active),
        "peak_error_ratio": round(ratios[peak_minute], 4),
        "peak_minute": iso_s(peak_minute),
        "back_at_baseline_from": iso_s(floor_minute(mitigated - 1) + MINUTE),
        "peak_bad_ratio": round(bad_ratios[peak_bad_minute], 4),
        "peak_bad_minute": iso_s(peak_bad_minute),
        "impact_minutes": minutes(start, mitigated),
        "baseline_error_ratio": round(
            sum(is_failed(r) for r in sli_reqs if start - 60 * MINUTE <= r.ms < lo)
            / max(1, sum(start - 60 * MINUTE <= r.ms < lo for r in sli_reqs)),
            4,
        ),
    }
    if sc.request_log:
        impact["p95_latency_ms"] = {
            "what": "nearest-rank p95 of rt of every request of the request log (health checks included), "
            "before = the same length as the impact right before its start (at most 60 min), during = the window",
            "before": common.p95([r.rt_ms for r in before_win]),
            "during": common.p95([r.rt_ms for r in win]),
        }
    templates = {ep.path: f"{ep.method} {ep.path}" for ep in sc.endpoints}
    impact["failing_endpoints"] = sorted({templates[p] for ph in sc.phases for p in ph.paths})
    impact["failing_endpoints_basis"] = "endpoints (path templates) whose requests the incident made fail or slow"
    elsewhere = [
        r for r in win if is_failed(r) and templates.get(_template(sc, r.path)) not in impact["failing_endpoints"]
    ]
    if sc.request_log:  # per-minute metrics do not name endpoints
        impact["background_elsewhere"] = {
            "what": "failed requests in the window of endpoints the incident did not break (health checks included)",
            "endpoints": len({_template(sc, r.path) for r in elsewhere}),
            "failures": len(elsewhere),
        }
    if sc.latency_threshold_ms is not None:
        before = [r.rt_ms for r in api if r.ms < culprit.created]
        during = [r.rt_ms for r in api if inside(r)]
        after = [r.rt_ms for r in api if _sec(r.ms) > mitigated]
        impact["latency_threshold_ms"] = sc.latency_threshold_ms
        impact["slow_requests"] = len([r for r in win if r.incident])
        impact["slow_ratio"] = round(impact["slow_requests"] / max(1, len(win)), 4)
        impact["p90_latency_ms"] = {
            "what": "nearest-rank p90 of rt of every request: before the culprit deploy, in the window, after it",
            "before": p90(before),
            "during": p90(during),
            "after": p90(after),
        }
    share = impact["affected_users"] / max(1, impact["active_users"])
    policy = sc.spec.get("severity_policy", "sev")
    level = (
        "SEV1"
        if share >= 0.95 or impact["peak_error_ratio"] >= 0.95
        else ("SEV2" if share > 0.25 else "SEV3" if share >= 0.05 else "SEV4")
    )
    exp: dict[str, Any] = {
        "id": sc.id,
        "window": common.span(*sc.window),
        "generator": {"module": "samplegen.engine", "scenario": sc.seed, "seed": sc.id},
        "severity": {
            "declared": sc.spec["severity"],
            "policy": policy,
            "expected": level,
            "reasons": [
                f"affected share {share:.1%} = {impact['affected_users']} of {impact['active_users']} users "
                "active in the impact window (policy 'sev')"
            ],
        },
        "milestones": time_of,
        "milestone_evidence": {
            "impact_start": "request log" if sc.request_log else "app log",
            "detected": f"alertmanager {paging.name} startsAt",
            "acknowledged": "pagerduty incident.acknowledged",
            "declared": f"chat ({sc.chat_format})",
            "mitigated": "the last request the incident made bad"
            if sc.request_log
            else "the end of the last minute with a request the incident made fail (its last failing sample)",
            "resolved": "pagerduty incident.resolved",
        },
        "mitigation_action": {
            "kind": "rollback",
            "deployment": rollback.key,
            "started": iso_s(rollback.created),
            "completed": iso_s(rollback.done),
        },
        "mttx_minutes": common.mttx_minutes(start, paging.starts, ack, declared, mitigated, resolved),
        "sources": sources,
        "impact": impact,
        "culprit": {
            "deployment": culprit.key,
            "repo": f"acme/{culprit.repo}",
            "service": culprit.service,
            "ref": culprit.ver,
            "environment": culprit.env,
            "created_at": iso_s(culprit.created),
            "deployed_at": iso_s(culprit.done),
            "minutes_before_impact": minutes(culprit.done, start),
        },
        "rollback": {
            "deployment": rollback.key,
            "ref": rollback.ver,
            "rollback_of": culprit.key,
            "created_at": iso_s(rollback.created),
            "completed_at": iso_s(rollback.done),
        },
        "changes_before_impact": [
            {
                "deployment": d.key,
                "service": d.service,
                "ref": d.ver,
                "environment": d.env,
                "deployed_at": iso_s(d.done),
                "minutes_before_impact": minutes(d.done, start),
            }
            for d in sorted(sc.deploys, key=lambda d: start - d.done)
            if sc.window[0] <= d.done <= start
        ],
        "alerts": {
            "first_firing": {"alertname": paging.name, "starts_at": time_of["detected"]},
            "first_page": iso_ms(next(p.at for p in sc.pages if p.event == "incident.triggered")),
            "unrelated": [a.name for a in sc.alerts if a.service != sc.service],
        },
        "cadence": {
            "declared": time_of["declared"],
            "updates": [chat_stamps[i] for i, m in enumerate(sc.chat) if m.role == "update"],
            "resolution_update": chat_stamps[_said(sc, "resolve")],
        },
    }
    if metric_truth:
        exp["metrics"] = metric_truth
    if sc.slo is not None:
        allowed = round(1 - sc.slo["objective"] / 100, 6)
        bad_n = impact["bad_requests"]
        rate = len(sli_reqs) / ((sc.window[1] - sc.window[0]) / MINUTE)
        budget = allowed * rate * common.SLO_PERIOD_MINUTES
        per_min = _bad_per_minute(sc, sli_reqs)
        exp["slo"] = {
            **sc.slo,
            "allowed_bad_ratio": allowed,
            "budget_minutes": round(allowed * common.SLO_PERIOD_MINUTES, 2),
            "bad_requests_in_impact": bad_n,
            "mean_requests_per_minute": round(rate, 2),
            "budget_requests": round(budget),
            "consumed_fraction": round(bad_n / budget, 4),
            "bad_minutes": sum(b / t > allowed for t, b in per_min.values()),
            "bad_minutes_in_impact": sum(b / t > allowed for m, (t, b) in per_min.items() if m in by_min),
            "burn_alert_1h": burn_alert_1h(per_min, allowed),
        }
    else:
        exp["slo"] = None
    return exp


def _template(sc: Scenario, path: str) -> str:
    """The scenario's path template (``/api/v2/products/{id}``) a written path came from; the path itself if none."""
    for ep in sc.endpoints:
        head, _, tail = ep.path.partition("{id}")
        if path == ep.path or (
            tail == "" and "{id}" in ep.path and path.startswith(head) and "/" not in path[len(head) :]
        ):
            return ep.path
    return path


def _sec(ms: int) -> int:
    """The time as the request log writes it: the whole second."""
    return ms - ms % SECOND


def _bad_per_minute(sc: Scenario, reqs: list[Req]) -> dict[int, tuple[int, int]]:
    """Requests and bad requests per minute start: bad is a 5xx, or for a latency SLO slower than the threshold."""
    by: dict[int, list[int]] = {}
    for r in reqs:
        cell = by.setdefault(floor_minute(r.ms), [0, 0])
        cell[0] += 1
        slow = sc.latency_threshold_ms is not None and r.rt_ms >= sc.latency_threshold_ms
        cell[1] += int(is_failed(r) or slow)
    return {m: (t, b) for m, (t, b) in sorted(by.items())}


def burn_alert_1h(by: dict[int, tuple[int, int]], allowed: float) -> dict[str, Any]:
    """When the SRE workbook's page "2% of the budget in 1 h" (14.4x over 1 h and 5 min) would first fire.

    Minute slices labelled by their start; at slice ``m`` the long window is the 60 slices
    ending with ``m`` (judged only once the evidence covers it: ``m`` >= window start + 59 min)
    and the short window the last 5; both bad ratios must exceed ``14.4 * allowed``. Bad is a
    5xx, or for a latency SLO a request slower than the threshold (:func:`_bad_per_minute`).
    """
    ms = sorted(by)
    limit = 14.4 * allowed
    for i in range(59, len(ms)):
        long_w, short_w = ms[i - 59 : i + 1], ms[i - 4 : i + 1]
        ratio_l = sum(by[m][1] for m in long_w) / max(1, sum(by[m][0] for m in long_w))
        ratio_s = sum(by[m][1] for m in short_w) / max(1, sum(by[m][0] for m in short_w))
        if ratio_l > limit and ratio_s > limit:
            return {
                "fires_at": iso_s(ms[i]),
                "threshold_ratio": round(limit, 6),
                "long_ratio": round(ratio_l, 4),
                "short_ratio": round(ratio_s, 4),
            }
    return {"fires_at": None, "threshold_ratio": round(limit, 6)}
