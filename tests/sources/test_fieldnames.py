"""Field mapping finds the usual names: svc/service.name/app, usr.id/userId, dd.trace_id/traceId,
http.status_code..., in JSON lines, logfmt and access-log extras (query strings too); trailing_time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sourcetest import scaled

from pmkit.analysis.sli import request_frame
from pmkit.errors import SourceError
from pmkit.sources.base import LoadRequest, LoadResult, run
from pmkit.sources.fieldmap import ATTR_FIELDS

TS = "2025-03-14T13:05:02Z"


def load(path: Path, fmt: str, **kw: Any) -> LoadResult:
    kw.setdefault("redaction", False)
    return run(LoadRequest(kind="logs", format=fmt, path=str(path), **kw))


def attrs(res: LoadResult) -> list[dict[str, Any]]:
    return [json.loads(a) for a in res.frame.get_column("attrs").to_list()]


def test_datadog_and_otel_names_in_json_lines(tmp_path: Path) -> None:
    p = tmp_path / "dd.jsonl"
    lines = [
        {"timestamp": TS, "svc": "payments", "http": {"status_code": 502}, "usr": {"id": "u_1"}, "dd": {"trace_id": "4111"}, "msg": "a"},
        {"timestamp": TS, "service.name": "checkout", "statusCode": "404", "userId": "u_2", "traceId": "abc", "msg": "b"},
        {"timestamp": TS, "app": "web", "status": 200, "user_id": "u_3", "trace_id": "t3", "msg": "c"},
        {"timestamp": TS, "dd.service": "billing", "status_code": "not a code", "msg": "d"},
    ]  # fmt: skip
    p.write_text("".join(json.dumps(x) + "\n" for x in lines))
    res = load(p, "jsonl")
    assert res.frame.get_column("service").to_list() == ["payments", "checkout", "web", "billing"]
    a = attrs(res)
    assert [x.get("status") for x in a] == [502, 404, 200, None]
    assert [x.get("user") for x in a] == ["u_1", "u_2", None, None]  # user_id is read by the analyses as it is
    assert [x.get("trace_id") for x in a] == ["4111", "abc", "t3", None]
    assert a[0]["http"] == {"status_code": 502}  # the original stays
    req = request_frame(res.frame.with_columns(source=res.frame.get_column("origin")))
    assert req.get_column("status").to_list() == [502, 404, 200]
    assert req.get_column("user").to_list() == ["u_1", "u_2", "u_3"]


def test_logfmt_and_overrides(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    p.write_text(f'ts={TS} svc=payments http.status_code=503 dd.trace_id=99 resp=201 who=alice msg="x"\n')
    a = attrs(load(p, "logfmt"))[0]
    assert (a["status"], a["trace_id"]) == ("503", "99") or (a["status"], a["trace_id"]) == (503, "99")
    over = attrs(load(p, "logfmt", fields={"status": "resp", "user": "who"}))[0]
    assert over["status"] in (201, "201") and over["user"] == "alice"
    with pytest.raises(SourceError, match="the attrs status, user, trace_id"):
        load(p, "logfmt", fields={"tenant": "x"})


def test_access_log_query_ids_and_trailing_time(tmp_path: Path) -> None:
    p = tmp_path / "access.log"
    p.write_text(
        '203.0.113.9 - - [14/Mar/2025:13:05:02 +0000] "GET /pay?uid=u_42&trace_id=abc HTTP/1.1" 502 1 "-" "curl" 0.085\n'
        '203.0.113.9 - - [14/Mar/2025:13:05:03 +0000] "GET /pay HTTP/1.1" 200 1 "-" "curl" 1.5 rt=0.2 dd.trace_id=7 usr.id=bob\n'
    )
    plain = attrs(load(p, "combined"))
    assert [x["user"] for x in plain] == ["u_42", "bob"] and [x["trace_id"] for x in plain] == ["abc", "7"]
    assert plain[0]["duration_s"] is None and plain[0]["trailing"] == "0.085"  # unnamed: not read unless asked
    timed = attrs(load(p, "combined", options={"trailing_time": "s"}))
    assert [x["duration_s"] for x in timed] == [0.085, 0.2]  # rt= wins where the line names its time
    assert "trailing" not in timed[0] or timed[0]["trailing"] is None
    assert attrs(load(p, "combined", options={"trailing_time": "ms"}))[0]["duration_s"] == pytest.approx(0.000085)
    with pytest.raises(SourceError, match="trailing_time"):
        load(p, "combined", options={"trailing_time": "minutes"})


@settings(max_examples=scaled(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    attr=st.sampled_from(sorted(ATTR_FIELDS)),
    data=st.data(),
    value=st.integers(100, 599) | st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True),
)
def test_property_any_candidate_fills_the_attr(tmp_path: Path, attr: str, data: st.DataObject, value: Any) -> None:
    name = data.draw(st.sampled_from(ATTR_FIELDS[attr]))
    rec: dict[str, Any] = {"ts": TS, "msg": "m"}
    node = rec
    parts = name.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    p = tmp_path / "p.jsonl"
    p.write_text(json.dumps(rec) + "\n")
    res = load(p, "jsonl")
    assert res.parsed == res.inputs == 1
    got = attrs(res)[0].get(attr)
    if name == "user.id":  # ECS: `user` is an object, the id is written as user_id
        got = attrs(res)[0].get("user_id")
    if attr == "status":
        assert got == (value if isinstance(value, int) else None)
    else:
        assert got == str(value)
