"""Deploys loaders: github-deployments, git-log, kubectl-rollout, argocd, csv, json (events, counts, real files)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sourcetest import mutated, scaled

from pmkit.errors import SourceError
from pmkit.schema import EVENTS_SCHEMA
from pmkit.sources import registry, textio
from pmkit.sources.base import LoadRequest, LoadResult, run

UTC = dt.UTC
AT = "2025-06-15T14:30:00Z"
AT_DT = dt.datetime(2025, 6, 15, 14, 30, tzinfo=UTC)


def load(path: Path | str, fmt: str, **kw: Any) -> LoadResult:
    """The loader's parse as it is: redaction (tested in tests/test_no_leak.py) left out."""
    kw.setdefault("redaction", False)
    return run(LoadRequest(kind="deploys", format=fmt, path=str(path), **kw))


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def attrs(res: LoadResult) -> list[dict[str, Any]]:
    return [json.loads(a) for a in res.frame.get_column("attrs").to_list()]


def ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


# ---------------------------------------------------------------------------------------- github: real webhooks

GH = "deploys/github_webhooks_octokit"


def test_real_github_deployment_webhooks(real: Path) -> None:
    folder = real / GH / "deployment"
    res = load(folder, "github-deployments")
    files = sorted(folder.glob("*.json"))
    assert res.inputs == res.parsed == res.frame.height == len(files) == 3
    assert res.unit == "records" and res.rejected == 0
    for f, row, a in zip(files, res.frame.iter_rows(named=True), attrs(res), strict=True):
        dep = json.loads(f.read_text())["deployment"]
        assert row["origin"] == f"{f}#deployment"
        assert row["ts"] == ts(dep["created_at"])
        assert row["kind"] == "deploy" and row["level"] == "info"
        assert row["actor"] == dep["creator"]["login"]
        assert row["service"] == "Hello-World"
        assert (a["sha"], a["environment"], a["state"], a["id"], a["ref"]) == (
            dep["sha"], dep["environment"], "created", dep["id"], dep["ref"],
        )  # fmt: skip
        assert a["rollback"] is False and a["change_type"] == "deployment"
        assert row["message"] == f"deploy Hello-World {dep['ref']} to {dep['environment']}: created"
    assert res.frame.item(1, "ts") == dt.datetime(2019, 5, 15, 15, 20, 53, tzinfo=UTC)


def test_real_github_deployment_status_webhooks(real: Path) -> None:
    folder = real / GH / "deployment_status"
    res = load(folder, "github-deployments", service="site")
    assert res.parsed == 3 and res.rejected == 0
    want = []
    for f in sorted(folder.glob("*.json")):
        doc = json.loads(f.read_text())
        st_ = doc["deployment_status"]
        want.append((ts(st_["created_at"]), st_["state"], doc["deployment"]["sha"], st_["environment"]))
    got = [
        (r["ts"], a["state"], a["sha"], a["environment"])
        for r, a in zip(res.frame.iter_rows(named=True), attrs(res), strict=True)
    ]
    assert got == want
    assert [g[1] for g in got] == ["in_progress", "success", "success"]
    assert got[0][0] == dt.datetime(2022, 1, 3, 1, 28, 40, tzinfo=UTC)
    assert set(res.frame.get_column("service")) == {"site"}  # the source's service wins
    assert res.frame.item(1, "message") == "deploy site master to production: success"
    assert attrs(res)[0]["target_url"].startswith("https://github.com/Codertocat/Hello-World/runs/")


def test_real_github_other_webhooks_are_named(real: Path) -> None:
    with pytest.raises(SourceError, match="workflow_run webhook, not a deployment"):
        load(real / GH / "workflow_run" / "completed.payload.json", "github-deployments")


def test_real_github_sniffed(real: Path) -> None:
    for sub in ("deployment", "deployment_status"):
        f = next((real / GH / sub).glob("*.json"))
        assert registry.sniff("deploys", textio.head(f)) == "github-deployments"


# ---------------------------------------------------------------------------------------- github: REST list


def gh_list() -> list[dict[str, Any]]:
    """The shape of the sample generator: deployments with statuses (newest first)."""
    user = {"login": "alice", "id": 1}
    bot = {"login": "deploy-bot[bot]", "id": 2}
    return [
        {
            "id": 11, "sha": "a1b2c3d4e5", "ref": "v2.14.3", "task": "deploy", "environment": "production",
            "payload": {"service": "payments-api"}, "description": "Deploy v2.14.3", "creator": user,
            "created_at": "2025-06-15T14:02:11Z", "repository_url": "https://api.github.com/repos/acme/payments",
            "statuses": [
                {"state": "failure", "created_at": "2025-06-15T14:06:00Z", "description": "Health checks failed", "creator": bot,
                 "environment": "production", "target_url": "https://ci.example/runs/9"},
                {"state": "in_progress", "created_at": "2025-06-15T14:02:30Z", "description": "", "creator": bot},
            ],
        },
        {
            "id": 12, "sha": "f0e9d8c7b6", "ref": "v2.14.2", "task": "deploy:rollback", "environment": "production",
            "payload": {"app": "payments-api", "rollback_of": 11}, "description": "Rollback to v2.14.2", "creator": user,
            "created_at": "2025-06-15T14:20:00Z", "statuses": [{"state": "success", "created_at": "2025-06-15T14:23:00Z"}],
        },
        {"id": 13, "sha": "0000000", "ref": "main", "environment": "staging", "created_at": "2025-06-15T15:00:00Z",
         "repository_url": "https://api.github.com/repos/acme/checkout",
         "statuses": [{"state": "error", "created_at": "not a time"}, "junk"]},
        {"id": 14, "sha": "1111111", "ref": "main", "environment": "staging"},
        "junk",
    ]  # fmt: skip


def test_github_rest_list_with_statuses(tmp_path: Path) -> None:
    p = write(tmp_path, "deployments.json", json.dumps(gh_list()))
    res = load(p, "github-deployments")
    assert res.inputs == 10  # 4 deployments + 5 statuses (one not an object) + 1 element that is not an object
    assert res.parsed == 6 and res.rejected == 4
    rejected = dict(zip(res.rejects["origin"], res.rejects["reason"], strict=True))
    assert rejected == {
        f"{p}#[2].statuses[1]": "status is not an object",
        f"{p}#[4]": "not a deployment object",
        f"{p}#[2].statuses[0]": "cannot read time 'not a time'",
        f"{p}#[3]": "no time",
    }
    rows = res.frame.select("ts", "level", "actor", "service", "message").rows()
    assert rows[0] == (
        ts("2025-06-15T14:02:11Z"),
        "info",
        "alice",
        "payments-api",
        "deploy payments-api v2.14.3 to production: created (Deploy v2.14.3)",
    )
    assert rows[1] == (
        ts("2025-06-15T14:06:00Z"), "error", "deploy-bot[bot]", "payments-api",
        "deploy payments-api v2.14.3 to production: failure (Health checks failed)",
    )  # fmt: skip
    assert rows[2][1:3] == ("info", "deploy-bot[bot]")
    assert rows[3][4] == "rollback payments-api v2.14.2 to production: created (Rollback to v2.14.2)"
    assert rows[4][4] == "rollback payments-api v2.14.2 to production: success"
    assert rows[4][2] == "alice"  # a status without creator: the deployment's creator
    assert rows[5][3] == "checkout"  # no payload service: the repository name
    a = attrs(res)
    assert [x["rollback"] for x in a] == [False, False, False, True, True, False]
    assert a[3]["rollback_of"] == 11
    assert a[1]["url"] == "https://ci.example/runs/9" and a[1]["status_description"] == "Health checks failed"
    assert a[1]["id"] == 11 and a[1]["sha"] == "a1b2c3d4e5" and a[1]["environment"] == "production"
    assert res.frame.item(1, "origin") == f"{p}#[0].statuses[0]"


def test_github_rollback_from_description_only(tmp_path: Path) -> None:
    dep = {"id": 1, "sha": "abc", "ref": "v1", "task": "deploy", "environment": "prod", "created_at": "2025-06-15T14:00:00Z",
           "description": "Rolling back bad release"}  # fmt: skip
    res = load(write(tmp_path, "d.json", json.dumps(dep)), "github-deployments")
    assert attrs(res)[0]["rollback"] is True


def test_github_wrong_shape(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"expected a list of deployments"):
        load(write(tmp_path, "x.json", '{"hello": 1}'), "github-deployments")
    with pytest.raises(SourceError, match="not valid JSON"):
        load(write(tmp_path, "y.json", "[{"), "github-deployments")


def test_github_statuses_list_endpoint(tmp_path: Path) -> None:
    sts = [{"id": 5, "state": "success", "created_at": "2025-06-15T14:00:00Z",
            "deployment_url": "https://api.github.com/repos/acme/api/deployments/77"}]  # fmt: skip
    res = load(write(tmp_path, "s.json", json.dumps(sts)), "github-deployments")
    assert attrs(res)[0]["id"] == 77 and res.frame.item(0, "service") == "api"


# ---------------------------------------------------------------------------------------- kubectl: real files

KUBE = "deploys/kubectl_k8s_docs"


def test_real_rollout_history(real: Path) -> None:
    res = load(real / KUBE / "kubectl_rollout_history.txt", "kubectl-rollout", options={"at": AT})
    assert res.inputs == res.parsed == 3 and res.unit == "rows"
    a = attrs(res)
    assert [x["revision"] for x in a] == [1, 2, 3]
    assert [x["change_cause"] for x in a] == [
        "kubectl apply --filename=https://k8s.io/examples/controllers/nginx-deployment.yaml",
        "kubectl set image deployment/nginx-deployment nginx=nginx:1.16.1",
        "kubectl set image deployment/nginx-deployment nginx=nginx:1.161",
    ]
    assert set(res.frame.get_column("ts")) == {AT_DT}
    assert set(res.frame.get_column("service")) == {"nginx-deployment"}
    assert res.frame.item(0, "origin").endswith("kubectl_rollout_history.txt:3")
    paused = load(real / KUBE / "kubectl_rollout_history_paused.txt", "kubectl-rollout", options={"at": AT})
    assert paused.parsed == 1 and "change_cause" not in attrs(paused)[0]
    assert paused.frame.item(0, "message") == "nginx revision 1: no change-cause recorded"


def test_real_rollout_history_revision(real: Path) -> None:
    res = load(real / KUBE / "kubectl_rollout_history_revision2.txt", "kubectl-rollout", options={"at": AT})
    assert res.inputs == res.parsed == 1
    a = attrs(res)[0]
    assert (a["revision"], a["change_cause"], a["images"], a["pod_template_hash"]) == (
        2, "kubectl set image deployment/nginx-deployment nginx=nginx:1.16.1", ["nginx:1.16.1"], "1159050644",
    )  # fmt: skip


def test_real_rollout_history_needs_an_anchor(real: Path) -> None:
    with pytest.raises(SourceError, match=r"set options\.at"):
        load(real / KUBE / "kubectl_rollout_history.txt", "kubectl-rollout")


def test_real_describe_new_layout_after_rollback(real: Path) -> None:
    path = real / KUBE / "kubectl_describe_deployment_after_rollback.txt"
    res = load(path, "kubectl-rollout", options={"at": AT})
    assert res.inputs == res.parsed == 10 and res.rejected == 0
    a = attrs(res)
    assert [x["reason"] for x in a] == ["ScalingReplicaSet"] * 8 + ["DeploymentRollback", "ScalingReplicaSet"]
    assert [x["rollback"] for x in a] == [False] * 8 + [True, False]
    assert (
        res.frame.item(8, "message")
        == 'nginx-deployment DeploymentRollback: Rolled back deployment "nginx-deployment" to revision 2'
    )
    assert (
        res.frame.get_column("ts").to_list()
        == [AT_DT - dt.timedelta(minutes=12)]
        + [AT_DT - dt.timedelta(minutes=11)] * 7
        + [AT_DT - dt.timedelta(seconds=15)] * 2
    )
    assert set(res.frame.get_column("actor")) == {"deployment-controller"}
    assert a[0]["namespace"] == "default" and a[0]["revision"] == 4 and a[0]["age"] == "12m"
    assert res.frame.item(0, "origin") == f"{path}:32"


def test_real_describe_old_layout_stuck_rollout(real: Path) -> None:
    res = load(real / KUBE / "kubectl_describe_deployment_stuck_rollout.txt", "kubectl-rollout", options={"at": AT})
    assert res.inputs == res.parsed == 8
    a = attrs(res)
    assert [x["count"] for x in a] == [1] * 8
    assert a[0]["first_seen_age"] == "1m" and a[0]["type"] == "Normal"
    assert (
        res.frame.item(0, "message")
        == "nginx-deployment ScalingReplicaSet: Scaled up replica set nginx-deployment-2035384211 to 3"
    )
    secs = [int((AT_DT - t).total_seconds()) for t in res.frame.get_column("ts")]
    assert secs == [60, 22, 22, 22, 21, 21, 13, 13]


def test_real_describe_anchored_on_window_end(real: Path) -> None:
    window = (dt.datetime(2025, 6, 15, 13, 0, tzinfo=UTC), dt.datetime(2025, 6, 15, 15, 0, tzinfo=UTC))
    res = load(real / KUBE / "kubectl_describe_deployment_after_rollback.txt", "kubectl-rollout", window=window)
    assert res.frame.item(9, "ts") == window[1] - dt.timedelta(seconds=15)
    assert any("window end" in n for n in res.notes)
    with pytest.raises(SourceError, match=r"set options\.at"):
        load(real / KUBE / "kubectl_describe_deployment_after_rollback.txt", "kubectl-rollout")


def test_real_get_rs_is_refused_clearly(real: Path) -> None:
    with pytest.raises(SourceError, match="kubectl get rs"):
        load(real / KUBE / "kubectl_get_rs_watch_resume.txt", "kubectl-rollout", options={"at": AT})


def test_real_kubectl_sniffed(real: Path) -> None:
    for name in (
        "kubectl_rollout_history.txt",
        "kubectl_describe_deployment_stuck_rollout.txt",
        "kubectl_rollout_history_revision2.txt",
    ):
        assert registry.sniff("deploys", textio.head(real / KUBE / name)) == "kubectl-rollout"


# ---------------------------------------------------------------------------------------- kubectl: fixtures


def test_kubectl_describe_warnings_counts_and_bad_rows(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "describe.txt",
        "Name:               payments-api\n"
        "Namespace:          prod\n"
        "Events:\n"
        "  Type     Reason                   Age                 From                   Message\n"
        "  ----     ------                   ----                ----                   -------\n"
        "  Normal   ScalingReplicaSet        3h5m                deployment-controller  Scaled up replica set payments-api-7d9 to 3\n"
        "  Warning  ProgressDeadlineExceeded 2m (x3 over 10m)    deployment-controller  ReplicaSet has timed out progressing.\n"
        "  Normal   ScalingReplicaSet        <unknown>           deployment-controller  Scaled down\n"
        "  garbage\n"
        "\n"
        "Name:               other\n"
        "Events:             <none>\n",
    )
    res = load(p, "kubectl-rollout", options={"at": "2025-06-15 16:30:00"}, timezone="Europe/Berlin")
    assert res.inputs == 4 and res.parsed == 2 and res.rejected == 2
    assert res.frame.get_column("level").to_list() == ["info", "warning"]
    assert res.frame.get_column("ts").to_list() == [
        AT_DT - dt.timedelta(hours=3, minutes=5),
        AT_DT - dt.timedelta(minutes=10),
    ]
    a = attrs(res)[1]
    assert (a["count"], a["last_seen"], a["reason"]) == (
        3,
        (AT_DT - dt.timedelta(minutes=2)).isoformat(),
        "ProgressDeadlineExceeded",
    )
    assert res.frame.item(0, "service") == "payments-api"
    reasons = dict(zip(res.rejects["origin"], res.rejects["reason"], strict=True))
    assert reasons == {
        f"{p}:8": "age '<unknown>' cannot be placed in time",
        f"{p}:9": "row does not match the Events table columns",
    }


def test_kubectl_history_new_header_and_undo(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "h.txt",
        "deployment.apps/payments-api \nREVISION  CHANGE-CAUSE\n4         kubectl rollout undo deployment/payments-api\n5         <none>\n",
    )
    res = load(p, "kubectl-rollout", options={"at": AT}, service="payments")
    assert [x["rollback"] for x in attrs(res)] == [True, False]
    assert set(res.frame.get_column("service")) == {"payments"}


def test_kubectl_not_rollout_output(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not kubectl rollout output"):
        load(write(tmp_path, "x.txt", "hello\nworld\n"), "kubectl-rollout", options={"at": AT})
    with pytest.raises(SourceError, match=r"options\.at 'soon' is not a time"):
        load(
            write(tmp_path, "h.txt", 'deployments "a"\nREVISION  CHANGE-CAUSE\n1 x\n'),
            "kubectl-rollout",
            options={"at": "soon"},
        )


# ---------------------------------------------------------------------------------------- git-log

GIT_DEFAULT = """\
commit 3f2a9c1e0b7d4a5f6e8c9d0b1a2f3e4d5c6b7a89 (HEAD -> main, origin/main)
Author: Alice Smith <alice@example.com>
Date:   Mon Jun 15 14:18:00 2025 +0200

    Raise payment retry limit

    The retry limit was too low under load.

commit 1111111111111111111111111111111111111111
Merge: aaaaaaa bbbbbbb
Author: Bob <bob@example.com>
Date:   Sun Jun 15 09:05:07 2025 -0700

    Revert "Add cache"

 src/cache.py | 10 ----------
 1 file changed, 10 deletions(-)

commit 2222222222222222222222222222222222222222
Author: Carol <carol@example.com>
Date:   yesterday-ish

    Bad date
"""


def test_git_log_default_output(tmp_path: Path) -> None:
    p = write(tmp_path, "git.log", "stray line\n\n" + GIT_DEFAULT)
    res = load(p, "git-log", service="payments-api")
    assert res.unit == "commits" and res.inputs == 4 and res.parsed == 2 and res.rejected == 2
    assert dict(zip(res.rejects["origin"], res.rejects["reason"], strict=True)) == {
        f"{p}:1": "line before the first 'commit <sha>' line: not part of any commit",
        f"{p}:21": "cannot read commit date 'yesterday-ish'",
    }
    # the weekday is ignored (Jun 15 2025 is a Sunday; hand-written logs get it wrong)
    assert res.frame.get_column("ts").to_list() == [ts("2025-06-15T12:18:00Z"), ts("2025-06-15T16:05:07Z")]
    assert res.frame.get_column("actor").to_list() == ["Alice Smith", "Bob"]
    assert res.frame.get_column("message").to_list() == [
        "commit 3f2a9c1 Raise payment retry limit",
        'commit 1111111 Revert "Add cache"',
    ]
    assert set(res.frame.get_column("kind")) == {"deploy"} and set(res.frame.get_column("service")) == {"payments-api"}
    a = attrs(res)
    assert a[0]["change_type"] == "commit" and a[0]["author_email"] == "alice@example.com"
    assert a[0]["body"] == "The retry limit was too low under load." and a[0]["refs"] == "HEAD -> main, origin/main"
    assert a[1]["rollback"] is True and a[1]["merge"] == ["aaaaaaa", "bbbbbbb"]
    assert a[1]["files"] == ["src/cache.py | 10 ----------", "1 file changed, 10 deletions(-)"]
    assert res.frame.item(1, "origin") == f"{p}:11"


def test_git_log_fuller_uses_commit_date(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "fuller.txt",
        "commit 3f2a9c1e0b7d4a5f6e8c9d0b1a2f3e4d5c6b7a89\nAuthor:     Alice <alice@example.com>\n"
        "AuthorDate: Mon Jun 9 14:18:00 2025 +0200\nCommit:     GitHub <noreply@github.com>\n"
        "CommitDate: Sun Jun 15 15:00:00 2025 +0200\n\n    Raise limit (#42)\n",
    )
    assert load(p, "git-log").frame.item(0, "ts") == ts("2025-06-15T13:00:00Z")
    assert load(p, "git-log", options={"date": "author"}).frame.item(0, "ts") == ts("2025-06-09T12:18:00Z")
    assert attrs(load(p, "git-log"))[0]["committer"] == "GitHub"


def test_git_log_one_line_format(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "oneline.txt",
        "3f2a9c1e0b7d4a5f6e8c9d0b1a2f3e4d5c6b7a89|Alice Smith|2025-06-15T14:18:00+02:00|Raise limit | with pipe\n"
        "abc|x\n\n4444444|Bob|2025-06-15T10:00:00Z|Rollback payments to v2.14.2\n",
    )
    res = load(p, "git-log")
    assert res.inputs == 3 and res.parsed == 2
    assert res.rejects.row(0)[1:3] == (f"{p}:2", "2 fields, expected 4 (sha|author|date|subject)")
    assert attrs(res)[0]["subject"] == "Raise limit | with pipe" and attrs(res)[1]["rollback"] is True
    tab = write(tmp_path, "tab.txt", "Bob\t2025-06-15 10:00:00 +0000\tabc1234\tFix\n")
    res = load(tab, "git-log", options={"separator": "\t", "columns": ["author", "date", "sha", "subject"]})
    assert res.frame.row(0, named=True)["message"] == "commit abc1234 Fix"


def test_git_log_oneline_without_dates_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no dates"):
        load(write(tmp_path, "o.txt", "3f2a9c1 Raise limit\n"), "git-log")
    with pytest.raises(SourceError, match="--graph"):
        load(write(tmp_path, "g.txt", "* commit 3f2a9c1e0b7d\n"), "git-log")


# ---------------------------------------------------------------------------------------- argocd


def argo_app() -> dict[str, Any]:
    src = {"repoURL": "https://github.com/acme/deploy", "path": "apps/payments", "targetRevision": "HEAD"}
    return {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "payments-api"},
        "status": {
            "history": [
                {"id": 5, "revision": "aaa111", "deployStartedAt": "2025-06-15T10:00:00Z", "deployedAt": "2025-06-15T10:01:00Z",
                 "source": src, "initiatedBy": {"automated": True}},
                {"id": 6, "revision": "bbb222", "deployStartedAt": "2025-06-15T14:00:00Z", "deployedAt": "2025-06-15T14:02:11Z",
                 "source": src, "initiatedBy": {"username": "alice"}},
                {"id": 7, "revision": "bbb222", "deployedAt": "2025-06-15T14:10:00Z", "source": src, "initiatedBy": {"username": "alice"}},
                {"id": 8, "revision": "aaa111", "deployStartedAt": "2025-06-15T14:40:00Z", "deployedAt": "2025-06-15T14:41:00Z",
                 "source": {**src, "targetRevision": "aaa111"}, "initiatedBy": {"username": "bob"}},
                {"id": 9, "revision": "ccc333"},
                "junk",
            ],
            "operationState": {"phase": "Failed", "message": "one or more objects failed to apply",
                               "startedAt": "2025-06-15T15:00:00Z", "finishedAt": "2025-06-15T15:00:30Z",
                               "syncResult": {"revision": "ddd444"}, "operation": {"initiatedBy": {"username": "carol"}}},
        },
    }  # fmt: skip


def test_argocd_application(tmp_path: Path) -> None:
    p = write(tmp_path, "app.json", json.dumps(argo_app()))
    res = load(p, "argocd")
    assert res.inputs == 7 and res.parsed == 5 and res.rejected == 2
    assert dict(zip(res.rejects["origin"], res.rejects["reason"], strict=True)) == {
        f"{p}#status.history[5]": "history entry is not an object",
        f"{p}#status.history[4]": "no time",
    }
    rows = res.frame.select("ts", "level", "actor", "message").rows()
    assert rows[0] == (
        ts("2025-06-15T10:01:00Z"),
        "info",
        "argocd (automated)",
        "sync payments-api aaa111 (HEAD): deployed",
    )
    assert rows[3] == (ts("2025-06-15T14:41:00Z"), "info", "bob", "rollback payments-api aaa111: deployed")
    assert rows[4] == (
        ts("2025-06-15T15:00:30Z"),
        "error",
        "carol",
        "sync payments-api ddd444: Failed (one or more objects failed to apply)",
    )
    a = attrs(res)
    assert [x["rollback"] for x in a] == [False, False, False, True, False]  # re-sync of bbb222 is not a rollback
    assert a[3]["rollback_to_id"] == 5 and a[1]["deploy_started_at"] == "2025-06-15T14:00:00Z"
    assert a[0]["repo_url"] == "https://github.com/acme/deploy" and a[0]["change_type"] == "sync"
    assert res.frame.item(4, "origin") == f"{p}#status.operationState"


def test_argocd_history_list_and_application_list(tmp_path: Path) -> None:
    history = argo_app()["status"]["history"][:2]
    res = load(write(tmp_path, "h.json", json.dumps(history)), "argocd", service="payments")
    assert res.parsed == 2 and set(res.frame.get_column("service")) == {"payments"}
    res = load(write(tmp_path, "h2.json", json.dumps(history)), "argocd")
    assert set(res.frame.get_column("service")) == {"payments"}  # from source.path
    lst = {"items": [argo_app(), {"metadata": {"name": "web"}, "status": {"history": history[:1]}}]}
    res = load(write(tmp_path, "list.json", json.dumps(lst)), "argocd")
    assert res.frame.get_column("service").to_list()[-1] == "web"
    assert res.frame.item(5, "origin").endswith("#items[1].status.history[0]")


def test_argocd_wrong_input(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="argocd app history table output is not read"):
        load(write(tmp_path, "h.txt", "ID  DATE  REVISION\n1   2025  abc\n"), "argocd")
    with pytest.raises(SourceError, match="expected an Argo CD Application"):
        load(write(tmp_path, "x.json", '{"a": 1}'), "argocd")


# ---------------------------------------------------------------------------------------- generic csv / json


def test_generic_csv(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "deploys.csv",
        "deployed_at,service,version,actor,environment,status,description,ticket\n"
        "2025-06-15T14:02:11Z,payments-api,v2.14.3,alice,production,success,,OPS-1\n"
        "2025-06-15 14:40:00,payments-api,v2.14.2,bob,production,success,Rollback to v2.14.2,OPS-2\n"
        "not a time,payments-api,v2.14.4,carol,production,failure,,\n"
        '2025-06-15T15:00:00Z,checkout,v1.0.0,dave,staging,failed,"migration, step 2",OPS-3\n',
    )
    res = load(p, "csv")
    assert res.inputs == 4 and res.parsed == 3
    assert res.rejects.row(0)[1:3] == (f"{p}:4", "cannot read time 'not a time' in column 'deployed_at'")
    assert res.frame.get_column("message").to_list() == [
        "deploy payments-api v2.14.3 to production: success",
        "rollback payments-api v2.14.2 to production: success (Rollback to v2.14.2)",
        "deploy checkout v1.0.0 to staging: failed (migration, step 2)",
    ]
    assert res.frame.get_column("level").to_list() == ["info", "info", "error"]
    a = attrs(res)
    assert [x["rollback"] for x in a] == [False, True, False] and a[0]["ticket"] == "OPS-1"
    assert dict(res.frame.schema) == EVENTS_SCHEMA


def test_generic_csv_field_mapping(tmp_path: Path) -> None:
    p = write(tmp_path, "c.csv", "finished;component;who;what\n1750000000;api;eve;config_change\n")
    res = load(p, "csv", fields={"ts": "finished", "service": "component", "actor": "who", "type": "what"})
    row = res.frame.row(0, named=True)
    assert (row["ts"], row["service"], row["actor"], row["message"]) == (
        dt.datetime(2025, 6, 15, 15, 6, 40, tzinfo=UTC), "api", "eve", "config_change api",
    )  # fmt: skip
    with pytest.raises(SourceError, match=r"fields\.ts names 'nope'"):
        load(p, "csv", fields={"ts": "nope"})
    with pytest.raises(SourceError, match="no time column"):
        load(write(tmp_path, "n.csv", "service,version\napi,1\n"), "csv")


def test_generic_json(tmp_path: Path) -> None:
    doc = {
        "deployments": [
            {"when": "2025-06-15T14:02:11Z", "app": "payments-api", "version": "v2.14.3", "who": {"login": "alice"},
             "env": "production", "state": "success"},
            {"when": 1750000000, "app": "payments-api", "type": "config_change", "description": "raise pool size"},
            {"app": "x"},
            7,
        ]
    }  # fmt: skip
    p = write(tmp_path, "d.json", json.dumps(doc))
    res = load(p, "json", fields={"ts": "when", "actor": "who"})
    assert res.inputs == 4 and res.parsed == 2
    assert res.frame.select("ts", "actor", "message").rows() == [
        (ts("2025-06-15T14:02:11Z"), "alice", "deploy payments-api v2.14.3 to production: success"),
        (dt.datetime(2025, 6, 15, 15, 6, 40, tzinfo=UTC), None, "config_change payments-api (raise pool size)"),
    ]
    assert attrs(res)[1]["change_type"] == "config_change"
    lines = write(
        tmp_path, "d.jsonl", '{"ts": "2025-06-15T14:00:00Z", "service": "a", "user": {"login": "x"}}\nnot json\n'
    )
    res = load(lines, "json", fields={"actor": "user.login"})
    assert res.parsed == 1 and res.frame.item(0, "actor") == "x"
    assert res.rejects.item(0, "origin") == f"{lines}:2"
    with pytest.raises(SourceError, match="not valid JSON"):  # a broken document is not taken for JSON lines
        load(write(tmp_path, "broken.json", '[\n {"ts": 1},\n {"ts": \n'), "json")


def test_formats_are_registered_with_examples() -> None:
    names = {i.format: i for i in registry.formats("deploys")}
    assert {"github-deployments", "git-log", "kubectl-rollout", "argocd", "csv", "json"} <= set(names)
    assert all(names[n].example and names[n].description for n in names)


# ---------------------------------------------------------------------------------------- properties

FAST = settings(max_examples=scaled(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def check(path: Path, fmt: str, **kw: Any) -> None:
    try:
        res = load(path, fmt, **kw)
    except SourceError:
        return
    assert res.parsed + res.rejected == res.inputs
    assert res.frame.get_column("ts").null_count() == 0
    for a in res.frame.get_column("attrs"):
        assert isinstance(json.loads(a), dict)


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(10**20), 10**20), st.floats(), st.text(max_size=6),
                      st.sampled_from(["2025-06-15T14:00:00Z", "success", "failure", "rollback", "1750000000"]))  # fmt: skip
json_any = st.recursive(
    json_leaf,
    lambda c: (
        st.lists(c, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "sha",
                    "ref",
                    "state",
                    "created_at",
                    "statuses",
                    "deployment",
                    "deployment_status",
                    "payload",
                    "history",
                    "status",
                    "deployedAt",
                    "revision",
                    "items",
                    "ts",
                    "service",
                ]
            ),
            c,
            max_size=5,
        )
    ),
    max_leaves=25,
)


@FAST
@given(
    doc=st.one_of(json_any, st.just(gh_list()), st.just(argo_app())),
    fmt=st.sampled_from(["github-deployments", "argocd", "json"]),
)
def test_json_loaders_never_crash(tmp_path: Path, doc: Any, fmt: str) -> None:
    check(write(tmp_path, "d.json", json.dumps(doc)), fmt)


@FAST
@given(
    text=mutated(json.dumps(gh_list(), indent=1), '{}[],:"0123456789aZ- '),
    fmt=st.sampled_from(["github-deployments", "json"]),
)
def test_mutated_github_json(tmp_path: Path, text: str, fmt: str) -> None:
    check(write(tmp_path, "d.json", text), fmt)


@FAST
@given(text=mutated(GIT_DEFAULT, "commit:AuthorDate \n0123456789abcdef<>|"))
def test_git_log_never_crashes(tmp_path: Path, text: str) -> None:
    check(write(tmp_path, "g.txt", text), "git-log")


KUBE_TEXT = (
    'deployments "nginx"\nREVISION  CHANGE-CAUSE\n1   <none>\n2   kubectl rollout undo\n\n'
    "Name:  nginx\nEvents:\n  Type    Reason   Age   From   Message\n  ----    ------   ----  ----   -------\n"
    "  Normal  Scaled   12m   dc     up to 3\n  Warning Failed   2m (x3 over 10m)  dc  boom\n\n"
    "Events:\n  FirstSeen LastSeen Count From SubObjectPath Type Reason Message\n"
    "  1m        1m       1     {dc }               Normal  Scaled  up\n"
)


@FAST
@given(text=mutated(KUBE_TEXT, ' \n0123456789smhdy<>()x-"'))
def test_kubectl_never_crashes(tmp_path: Path, text: str) -> None:
    check(write(tmp_path, "k.txt", text), "kubectl-rollout", options={"at": AT})


@FAST
@given(
    text=mutated(
        "deployed_at,service,version,status\n2025-06-15T14:00:00Z,a,1,success\n1750000000,b,2,failed\n",
        ',;"\n0123456789:TZ-ab',
    )
)
def test_generic_csv_never_crashes(tmp_path: Path, text: str) -> None:
    check(write(tmp_path, "d.csv", text), "csv")


def test_empty_files_load_to_nothing(tmp_path: Path) -> None:
    for fmt in ("git-log", "csv"):
        res = load(write(tmp_path, f"e.{fmt}", ""), fmt)
        assert res.inputs == 0 and res.frame.height == 0
        assert res.frame.schema == pl.Schema(EVENTS_SCHEMA)


def test_argocd_versions_start_and_completion_reach_the_change_suspects(tmp_path: Path) -> None:
    """A sync's version is its targetRevision tag (not HEAD or a branch), its start deployStartedAt and its
    completion deployedAt: the change suspects and the rollback say "v3.8.0, started 13:37:10, completed 13:38:40"."""
    from pmkit.analysis.changes import change_suspects, find_rollback

    sha = {v: (c * 40) for v, c in (("v3.7.2", "a"), ("v3.8.0", "b"))}

    def entry(i: int, ver: str, start: str, done: str, target: str | None = None) -> dict[str, Any]:
        src = {
            "repoURL": "https://github.com/acme/orders-deploy",
            "path": "envs/production",
            "targetRevision": target or ver,
        }
        return {"id": i, "revision": sha[ver], "deployStartedAt": f"2025-03-11T{start}Z",
                "deployedAt": f"2025-03-11T{done}Z", "source": src, "initiatedBy": {"username": "dan"}}  # fmt: skip

    app = {
        "metadata": {"name": "orders-api"},
        "status": {
            "history": [
                entry(1, "v3.7.2", "13:04:10", "13:06:02"),
                entry(2, "v3.8.0", "13:37:10", "13:38:40"),
                entry(3, "v3.7.2", "14:05:30", "14:07:10"),
            ]
        },
    }
    res = load(write(tmp_path, "app.json", json.dumps(app)), "argocd")
    a = attrs(res)
    assert [x["version"] for x in a] == ["v3.7.2", "v3.8.0", "v3.7.2"]
    assert a[1]["sha"] == sha["v3.8.0"] and a[1]["state"] == "success" and a[1]["started_at"] == "2025-03-11T13:37:10Z"
    events = res.frame.with_columns(pl.lit("deploy").alias("kind"))
    impact_start = ts("2025-03-11T13:38:45Z")
    top = change_suspects(events, impact_start=impact_start, services=["orders-api"]).row(0, named=True)
    assert (top["version"], top["ts"], top["sha"]) == ("v3.8.0", ts("2025-03-11T13:38:40Z"), sha["v3.8.0"])
    rb = find_rollback(events, impact_start=impact_start, mitigated=ts("2025-03-11T14:08:00Z"))
    assert rb is not None and rb["version"] == "v3.7.2"
    assert (rb["start"], rb["completed"]) == (ts("2025-03-11T14:05:30Z"), ts("2025-03-11T14:07:10Z"))
    # a branch or the commit itself is no version: the commit's first 12 characters stand for it
    for target in ("HEAD", "main", sha["v3.8.0"]):
        app["status"]["history"] = [entry(2, "v3.8.0", "13:37:10", "13:38:40", target)]
        res = load(write(tmp_path, "b.json", json.dumps(app)), "argocd")
        assert attrs(res)[0]["version"] == sha["v3.8.0"][:12], target
