"""``pmkit pull prometheus`` and the ``prometheus-api`` format, against a real Prometheus.

The module fixture backfills two hours of a counter with ``promtool tsdb create-blocks-from openmetrics``
into a temporary TSDB, starts Debian's ``prometheus`` on a free 127.0.0.1 port with a minimal config (no
scrape jobs: the data is the backfilled blocks) and waits for ``/-/ready``. Tests pull the incident window
into an incident folder, check the response against the counter's known rate, stop the server, then load
and render the incident offline. Skipped with the reason where the binaries are absent (``.ci/prometheus.sh``
installs them). The error paths (connection refused, HTTP status, Prometheus' own error, auth) also run
against a small stdlib HTTP server, so they are checked everywhere.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from pmkit import cli
from pmkit.errors import PmkitError
from pmkit.incident import Incident
from pmkit.pull import pull_prometheus, upsert_source
from pmkit.sources import promapi

UTC = dt.UTC
T0 = dt.datetime(2025, 9, 2, 13, 0, tzinfo=UTC)  # the backfilled data: 13:00..15:00, one sample per 15 s
IMPACT = (dt.datetime(2025, 9, 2, 14, 0, tzinfo=UTC), dt.datetime(2025, 9, 2, 14, 20, tzinfo=UTC))
OK_PER_S, ERR_PER_S = 10.0, 4.0  # code 500 counts 4/s during the impact, 0 outside it


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def openmetrics() -> str:
    """The counter ``http_requests_total{code}``: 200 at 10/s throughout, 500 at 4/s during the impact."""
    lines = ["# TYPE http_requests counter"]
    ok = err = 0.0
    rows_ok, rows_err = [], []
    for i in range(2 * 3600 // 15 + 1):
        t = T0 + dt.timedelta(seconds=15 * i)
        if i:
            ok += OK_PER_S * 15
            if IMPACT[0] < t <= IMPACT[1]:
                err += ERR_PER_S * 15
        rows_ok.append(f'http_requests_total{{code="200",service="checkout"}} {ok:g} {int(t.timestamp())}')
        rows_err.append(f'http_requests_total{{code="500",service="checkout"}} {err:g} {int(t.timestamp())}')
    return "\n".join([*lines, *rows_ok, *rows_err, "# EOF"]) + "\n"


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A real Prometheus on 127.0.0.1 serving the backfilled counter; yields its URL and process."""
    prom, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if not prom or not promtool:
        pytest.skip("prometheus/promtool not installed (apt-get install prometheus; .ci/prometheus.sh does it)")
    base = tmp_path_factory.mktemp("prom")
    (base / "data.om").write_text(openmetrics(), encoding="utf-8")
    tsdb = base / "tsdb"
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(base / "data.om"), str(tsdb)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (base / "prometheus.yml").write_text("global:\n  scrape_interval: 15s\nscrape_configs: []\n", encoding="utf-8")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (base / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            prom,
            f"--config.file={base / 'prometheus.yml'}",
            f"--storage.tsdb.path={tsdb}",
            "--storage.tsdb.retention.time=100y",  # the backfilled blocks are old: keep them
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(f"prometheus did not become ready: {(base / 'prometheus.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield {"url": url, "proc": proc}
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


INCIDENT_YAML = """\
# a hand-written incident: this comment must survive the pull
id: INC-PULL-1
title: Checkout errors
services: [checkout]
window:
  start: '2025-09-02T13:30:00Z'
  end: '2025-09-02T14:50:00Z'
milestones:
  impact_start: '2025-09-02T14:00:00Z'
  resolved: '2025-09-02T14:40:00Z'
sources:
  - name: app
    kind: logs
    format: jsonl
    path: logs/app.jsonl
# the end
"""


def make_incident(root: Path) -> Path:
    """An incident folder with a few log lines (so the document has a timeline) and no metrics yet."""
    (root / "logs").mkdir(parents=True)
    rows = []
    for i in range(40):
        t = IMPACT[0] + dt.timedelta(seconds=30 * i)
        rows.append({"ts": t.isoformat(), "level": "error", "service": "checkout", "msg": "payment upstream timeout"})
    (root / "logs" / "app.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (root / "incident.yaml").write_text(INCIDENT_YAML, encoding="utf-8")
    return root


QUERY = 'sum by (code) (rate(http_requests_total{service="checkout"}[1m]))'


def test_prometheus_error_names_url_and_query(prometheus: dict[str, Any], tmp_path: Path) -> None:
    inc = make_incident(tmp_path / "inc")
    with pytest.raises(PmkitError, match=r"bad_data.*") as err:
        pull_prometheus(inc, prometheus["url"], "rate(http_requests_total[", name="bad")
    assert prometheus["url"] in str(err.value) and "rate(http_requests_total[" in str(err.value)
    assert not (inc / "metrics").exists() or not any((inc / "metrics").iterdir())


def test_pull_load_render_offline(prometheus: dict[str, Any], tmp_path: Path) -> None:
    inc = make_incident(tmp_path / "INC-PULL-1")
    code = cli.main(
        ["pull", "prometheus", prometheus["url"], "--query", QUERY, "--dir", str(inc), "--name", "req_rate"]
    )
    assert code == 0
    text = (inc / "incident.yaml").read_text(encoding="utf-8")
    assert text.startswith("# a hand-written incident") and "# the end" in text  # comments kept
    src = next(s for s in yaml.safe_load(text)["sources"] if s["name"] == "req_rate")
    assert src["format"] == "prometheus-api" and src["path"] == "metrics/req_rate.prometheus.json"
    pull = src["pull"]
    assert pull["url"] == prometheus["url"] and pull["query"] == QUERY
    # the window is incident.yaml's window: (13:30..14:50 = 80 min at 15 s = 321 points per series)
    assert (pull["start"], pull["end"], pull["step"]) == ("2025-09-02T13:30:00Z", "2025-09-02T14:50:00Z", "15s")
    assert (inc / "metrics" / "req_rate.promql").read_text() == QUERY + "\n"
    doc = json.loads((inc / "metrics" / "req_rate.prometheus.json").read_text())
    assert doc["status"] == "success"
    by_code = {r["metric"]["code"]: r["values"] for r in doc["data"]["result"]}
    assert set(by_code) == {"200", "500"} and all(len(v) == 321 for v in by_code.values())
    inside = [float(v) for t, v in by_code["500"] if IMPACT[0].timestamp() + 90 <= t <= IMPACT[1].timestamp()]
    assert inside and all(abs(x - ERR_PER_S) < 1e-9 for x in inside)
    assert all(abs(float(v) - OK_PER_S) < 1e-9 for _, v in by_code["200"])

    # offline: the server is gone, the incident loads and renders from the saved response
    prometheus["proc"].terminate()
    prometheus["proc"].wait(timeout=20)
    incident = Incident.load(inc, cache=False)
    series = incident.series.filter(incident.series["source"] == "req_rate")
    assert series.height == 2 * 321 and set(series["metric"]) == {"req_rate"}
    row = incident.report.filter(incident.report["source"] == "req_rate").row(0, named=True)
    assert row["format"] == "prometheus-api" and row["inputs"] == row["parsed"] == 642
    assert f"pulled from {prometheus['url']}" in row["notes"] and QUERY in row["notes"]

    pytest.importorskip("papermill", reason="rendering needs the render extra")
    from pmkit.report.render import render

    [res] = render([inc], tmp_path / "out", to=("md",), progress=False)
    assert res.ok, res.error
    md = next((tmp_path / "out").rglob("postmortem.md")).read_text(encoding="utf-8")
    # the pulled counter is the document's SLI, and the load table names its format
    assert "SLI: request-count metrics from source 'req_rate'" in md
    assert "| req_rate | metrics | prometheus-api | 642 records | 0 |" in md
    # the evidence section states the query that produced the series, where and when, and what it returned
    line = next(ln for ln in md.splitlines() if ln.startswith("Source req_rate:"))
    assert "what this query returned (642 records, 642 parsed): `pulled from " + prometheus["url"] in line
    assert f"query_range '{QUERY}' from 2025-09-02T13:30:00Z to 2025-09-02T14:50:00Z step 15s`" in line


# ------------------------------------------------------------------ without the binary: a stdlib server


class _Handler(http.server.BaseHTTPRequestHandler):
    replies: ClassVar[dict[str, tuple[int, bytes]]] = {}
    seen: ClassVar[list[dict[str, str]]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        _Handler.seen.append(dict(self.headers))
        status, body = _Handler.replies["next"]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Handler.seen.clear()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


EMPTY_MATRIX = b'{"status":"success","data":{"resultType":"matrix","result":[]}}'


def test_connection_refused_names_url_and_query(tmp_path: Path) -> None:
    inc = make_incident(tmp_path / "inc")
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(PmkitError, match="connection refused") as err:
        pull_prometheus(inc, url, "up")
    assert url in str(err.value) and "'up'" in str(err.value)


def test_http_status_and_prometheus_error(fake: str, tmp_path: Path) -> None:
    inc = make_incident(tmp_path / "inc")
    _Handler.replies["next"] = (503, b"overloaded")
    with pytest.raises(PmkitError, match=r"HTTP 503"):
        pull_prometheus(inc, fake, "up")
    _Handler.replies["next"] = (422, b'{"status":"error","errorType":"execution","error":"too many samples"}')
    with pytest.raises(PmkitError, match=r"HTTP 422.*execution: too many samples"):
        pull_prometheus(inc, fake, "up")
    _Handler.replies["next"] = (200, b"<html>not prometheus</html>")
    with pytest.raises(PmkitError, match="not JSON"):
        pull_prometheus(inc, fake, "up")
    assert "prometheus-api" not in (inc / "incident.yaml").read_text()  # nothing recorded on failure


def test_auth_from_env_never_stored(fake: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inc = make_incident(tmp_path / "inc")
    _Handler.replies["next"] = (200, EMPTY_MATRIX)
    with pytest.raises(PmkitError, match=r"PROM_TOKEN.*not set"):
        pull_prometheus(inc, fake, "up", auth_env="PROM_TOKEN")
    monkeypatch.setenv("PROM_TOKEN", "Bearer s3cr3t-token")
    userinfo = fake.replace("http://", "http://alice:pw@")
    pull_prometheus(inc, userinfo, "up", auth_env="PROM_TOKEN")
    assert _Handler.seen[-1]["Authorization"] == "Bearer s3cr3t-token"
    text = (inc / "incident.yaml").read_text()
    assert "s3cr3t" not in text and "alice" not in text and "pw@" not in text
    src = yaml.safe_load(text)["sources"][-1]
    assert src["pull"]["auth_env"] == "PROM_TOKEN" and src["pull"]["url"] == fake
    # pulled again under the same name: the source is replaced, not added twice
    pull_prometheus(inc, fake, "up", auth_env="PROM_TOKEN", step="1m")
    sources = yaml.safe_load((inc / "incident.yaml").read_text())["sources"]
    assert [s["name"] for s in sources] == ["app", "up"] and sources[1]["pull"]["step"] == "1m"


def test_window_from_milestones_with_lead(fake: str, tmp_path: Path) -> None:
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "incident.yaml").write_text(
        "id: X\nmilestones:\n  impact_start: '2025-09-02T14:00:00Z'\n  resolved: '2025-09-02T15:00:00Z'\nsources: []\n"
    )
    _Handler.replies["next"] = (200, EMPTY_MATRIX)
    out = pull_prometheus(inc, fake, "up")
    pull = out.source["pull"]
    # load window: earliest milestone - 6 h .. latest + 12 h = 19 h; 15 s would be 4,561 points: under 10,000
    assert (pull["start"], pull["end"], pull["step"]) == ("2025-09-02T08:00:00Z", "2025-09-03T03:00:00Z", "15s")
    assert yaml.safe_load((inc / "incident.yaml").read_text())["sources"][0]["name"] == "up"
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "incident.yaml").write_text("id: Y\n")
    with pytest.raises(PmkitError, match="no window to pull"):
        pull_prometheus(bare, fake, "up")


def test_step_stays_under_the_limit() -> None:
    start = dt.datetime(2025, 1, 1, tzinfo=UTC)
    for hours in (0.5, 6, 18, 41, 42, 24 * 7, 24 * 90, 24 * 365 * 30):
        end = start + dt.timedelta(hours=hours)
        step = promapi.choose_step(start, end)
        assert promapi.points(start, end, step) <= promapi.MAX_POINTS
        ladder = [float(x) for x in promapi._LADDER_S]
        if step in ladder and ladder.index(step) > 0:  # the finest step that fits: the one before does not
            assert promapi.points(start, end, ladder[ladder.index(step) - 1]) > promapi.MAX_POINTS
    with pytest.raises(PmkitError, match="11,000"):
        promapi.query_range(promapi.RangeQuery("http://127.0.0.1:9", "up", start, start + dt.timedelta(days=3), 15))
    assert promapi.parse_step("1m") == 60 and promapi.parse_step("500ms") == 0.5
    with pytest.raises(ValueError, match="duration"):
        promapi.parse_step("soon")


def test_upsert_refuses_what_would_not_validate(tmp_path: Path) -> None:
    spec = tmp_path / "incident.yaml"
    spec.write_text("id: X\nsources: [{kind: logs, path: a.log}]\n")
    with pytest.raises(PmkitError, match="inline"):
        upsert_source(spec, {"kind": "metrics", "format": "prometheus-api", "name": "n", "path": "m.json"})
    assert spec.read_text() == "id: X\nsources: [{kind: logs, path: a.log}]\n"
