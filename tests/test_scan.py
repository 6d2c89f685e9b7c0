"""``pmkit new ID --scan DIR`` (pmkit.scan): from a flat folder of evidence to a loadable, renderable incident.

Done-when of issue 15 item 1: for each sample, its evidence files (not incident.yaml, expected.yaml) copied
into one flat folder (the Slack export as the zip Slack delivers, since its day files share names), scanned,
then loaded with no edits: the same number of events per kind and of metric samples as the sample's own
incident.yaml loads (both whole, without a window: the scan sets none), and rendered to a document.
"""

from __future__ import annotations

import gzip
import shutil
import zipfile
from pathlib import Path

import polars as pl
import pytest
import yaml

from pmkit import cli
from pmkit.incident import Incident
from pmkit.scan import scan
from tests.conftest import SAMPLES

SAMPLE_DIRS = sorted(p.parent for p in SAMPLES.glob("*/incident.yaml"))


def flatten(sample: Path, dest: Path) -> None:
    """The sample's evidence in one flat folder: files by name (a clash gets its folder's name in front), each
    Slack export folder as a zip of it."""
    spec = yaml.safe_load((sample / "incident.yaml").read_text(encoding="utf-8"))
    slack = [sample / s["path"].rstrip("/") for s in spec["sources"] if s.get("format") == "slack"]
    dest.mkdir(parents=True)
    for d in slack:
        with zipfile.ZipFile(dest / f"{d.name}-slack-export.zip", "w") as zf:
            for f in sorted(d.rglob("*")):
                if f.is_file():
                    zf.write(f, f.relative_to(d).as_posix())
    for f in sorted(sample.rglob("*")):
        if not f.is_file() or f.name in ("incident.yaml", "expected.yaml") or any(d in f.parents for d in slack):
            continue
        target = dest / f.name
        if target.exists():
            target = dest / f"{f.parent.name}-{f.name}"
        shutil.copy2(f, target)
    assert all(p.is_file() for p in dest.iterdir()), "the folder must be flat"


def per_kind(inc: Incident) -> dict[str, int]:
    return dict(inc.events.group_by("kind").len().iter_rows())


def add_junk(dest: Path, sample: Path) -> dict[str, str]:
    """Files a collected folder also holds, and the reason each must be skipped for."""
    (dest / "empty.log").write_bytes(b"")
    (dest / "screenshot.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (dest / "NOTES.md").write_text("# what I saw\nthe site was slow\n", encoding="utf-8")
    pl.DataFrame({"ts": [1], "message": ["x"]}).write_parquet(dest / "lake-part.parquet")
    with zipfile.ZipFile(dest / "configs.zip", "w") as zf:
        zf.writestr("nginx.conf", "server { listen 80; }\n")
    biggest_log = max(
        (f for f in dest.iterdir() if f.name.endswith((".log.gz", ".jsonl.gz"))), key=lambda f: f.stat().st_size
    )
    shutil.copy2(biggest_log, dest / f"copy-of-{biggest_log.name}")
    return {
        "empty.log": "empty file",
        "screenshot.png": "binary",
        "NOTES.md": "unknown format",
        "lake-part.parquet": "a Parquet file",
        "configs.zip": "not a Slack export",
        f"copy-of-{biggest_log.name}": f"duplicate of {biggest_log.name}",
    }


@pytest.mark.parametrize("sample", SAMPLE_DIRS, ids=lambda p: p.name)
def test_scan_of_flat_evidence_loads_like_the_sample(
    sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flat = tmp_path / "evidence"
    flatten(sample, flat)
    junk = add_junk(flat, sample)
    assert cli.main(["new", "INC-SCANNED", "--scan", str(flat), "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    root = tmp_path / "INC-SCANNED"
    text = (root / "incident.yaml").read_text(encoding="utf-8")

    scanned = Incident.load(root, window=None)
    own = Incident.load(sample, window=None)
    assert per_kind(scanned) == per_kind(own)
    assert scanned.series.height == own.series.height
    assert scanned.rejects.height == own.rejects.height == 0
    # every kind/format of the sample was found (a sample may split one format over several sources)
    assert {(r["kind"], r["format"]) for r in scanned.report.iter_rows(named=True)} == {
        (s.kind, s.format) for s in own.spec.sources
    }

    # a comment per source says why; every junk file is listed as skipped with its reason
    spec = yaml.safe_load(text)
    for src in spec["sources"]:
        assert f"# {src['name']}: {src['kind']}/{src['format']}" in text
    assert text.count("accepted its first lines") + text.count("a Slack export (") >= len(spec["sources"])
    skipped = text.split("# Skipped")[1]
    for name, reason in junk.items():
        line = next(ln for ln in skipped.splitlines() if ln.startswith(f"#   {name}:"))
        assert reason in line, line
        assert f"skipped {name}: " in out
    # times are suggestions only: nothing set that the evidence did not say
    assert "window" not in spec and spec["milestones"] == {}
    assert "# window:" in text and "# first alert/page: " in text


@pytest.mark.parametrize("sample", SAMPLE_DIRS, ids=lambda p: p.name)
def test_scanned_sample_renders(sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("papermill")
    flat = tmp_path / "evidence"
    flatten(sample, flat)
    assert cli.main(["new", "INC-SCANNED", "--scan", str(flat), "--dir", str(tmp_path)]) == 0
    out_dir = tmp_path / "out"
    assert cli.main(["render", str(tmp_path / "INC-SCANNED"), "-o", str(out_dir), "--no-progress"]) == 0
    md = (out_dir / "INC-SCANNED" / "postmortem.md").read_text(encoding="utf-8")
    assert "INC-SCANNED" in md
    own = Incident.load(sample, window=None)
    assert own.spec.services[0] in md  # the evidence reached the document
    assert (out_dir / "INC-SCANNED" / "postmortem.html").stat().st_size > 10_000


def test_scan_multiline_and_service_from_name(tmp_path: Path) -> None:
    """A logfmt file with Python tracebacks: joined with multiline: traceback (said), service from its name."""
    lines = [f'ts=2025-03-11T13:00:{i:02d}Z level=info msg="ok {i}"' for i in range(25)]
    lines += ['ts=2025-03-11T13:00:30Z level=error msg="boom"', "Traceback (most recent call last):"]
    lines += [f'  File "app.py", line {i}, in f' for i in range(12)] + ["KeyError: 'x'"]
    with gzip.open(tmp_path / "billing-worker.log.gz", "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    result = scan(tmp_path)
    (p,) = result.proposals
    assert (p.kind, p.format, p.options, p.service) == ("logs", "logfmt", {"multiline": "traceback"}, "billing-worker")
    assert any("without it 14 lines were rejected" in c for c in p.comments)


def test_scan_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["new", "INC-1", "--scan", str(tmp_path / "nope"), "--dir", str(tmp_path)]) == 1
    assert "not a folder" in capsys.readouterr().err
    (tmp_path / "ev").mkdir()
    (tmp_path / "ev" / "a.log").write_text('127.0.0.1 - - [11/Mar/2025:13:00:00 +0000] "GET / HTTP/1.1" 200 1\n')
    assert cli.main(["new", "INC-1", "--scan", str(tmp_path / "ev"), "--dir", str(tmp_path)]) == 0
    assert cli.main(["new", "INC-1", "--scan", str(tmp_path / "ev"), "--dir", str(tmp_path)]) == 1
    assert "already exists" in capsys.readouterr().err


def test_scan_into_a_folder_under_the_scanned_one(tmp_path: Path) -> None:
    """``pmkit new X --scan .`` run inside the evidence: the new folder is not scanned into itself."""
    (tmp_path / "a.log").write_text('127.0.0.1 - - [11/Mar/2025:13:00:00 +0000] "GET / HTTP/1.1" 200 1\n')
    assert cli.main(["new", "INC-1", "--scan", str(tmp_path), "--dir", str(tmp_path)]) == 0
    assert cli.main(["load", str(tmp_path / "INC-1")]) == 0
    assert cli.main(["new", "INC-2", "--scan", str(tmp_path), "--dir", str(tmp_path)]) == 0
    spec = yaml.safe_load((tmp_path / "INC-2" / "incident.yaml").read_text(encoding="utf-8"))
    # INC-1 (with its linked copy of a.log) is an incident of its own, not evidence
    assert [s["path"] for s in spec["sources"]] == ["logs/a.log"]
    assert "#   INC-1/: an incident folder of its own" in (tmp_path / "INC-2" / "incident.yaml").read_text(
        encoding="utf-8"
    )


# third-party files: what the scan chooses for known ones, and that it says why it skips the rest
REAL_CASES = {
    "alerts/alertmanager_webhook/prometheus-msteams": {"prom_post_request.json": ("alerts", "alertmanager")},
    "metrics/prometheus_api_json": {
        "range_simple.result.json": ("metrics", "prometheus"),
        "loki-streams.json": "Loki log query response",
    },
    "slack/houstondatavis_export": {"": ("chat", "slack")},
    "logs/syslog_rfc_examples": {"rfc5424_section6.5_examples.log": ("logs", "syslog")},
    "loghub/OpenSSH": {"OpenSSH_2k.log": ("logs", "syslog"), "README.md": "unknown format"},
    "logs/elastic_examples": {"apache_logs": ("logs", "combined")},
}


@pytest.mark.parametrize("folder", sorted(REAL_CASES))
def test_scan_real_files(real: Path, folder: str) -> None:
    top = real / folder
    if not top.is_dir():
        pytest.skip(f"{top} is not in this copy of the third-party files")
    result = scan(top)
    chosen = {(m.root.name if m.root != top else ""): (p.kind, p.format) for p in result.proposals for m in p.members}
    skipped = {Path(path).name: reason for path, reason in result.skipped}
    for name, want in REAL_CASES[folder].items():
        if isinstance(want, tuple):
            assert chosen.get(name) == want, (name, chosen, skipped)
        else:
            assert want in skipped.get(name, ""), (name, skipped)
    assert all(reason for reason in skipped.values())


def test_scan_says_what_the_load_assumed(real: Path, tmp_path: Path) -> None:
    """A year-less syslog and naive times: commented `year:` and `timezone:` hints, nothing set."""
    top = real / "loghub" / "OpenSSH"
    if not top.is_dir():
        pytest.skip(f"{top} is not in this copy of the third-party files")
    assert cli.main(["new", "INC-SSH", "--scan", str(top), "--dir", str(tmp_path)]) == 0
    text = (tmp_path / "INC-SSH" / "incident.yaml").read_text(encoding="utf-8")
    assert "    # year: ...   # its times have no year" in text
    assert "    # timezone: ...   # its times have no UTC offset" in text
    src = yaml.safe_load(text)["sources"][0]
    assert "year" not in src and "timezone" not in src
