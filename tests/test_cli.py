"""The CLI contract: pmkit --version/--help, new, load (one source, an incident folder), formats, timeline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from pmkit.cli import main

ACCESS = (
    '10.0.0.1 - - [15/Jun/2025:16:18:00 +0200] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.29"\n'
    '10.0.0.2 - cus_1 [15/Jun/2025:16:19:31 +0200] "POST /api/v1/payments HTTP/1.1" 503 120 "-" "curl/8.0" rt=0.5\n'
    "this is not an access log line\n"
)


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("pmkit ")
    assert main([]) == 2
    out = capsys.readouterr().out
    for cmd in ("new", "load", "formats", "timeline"):
        assert cmd in out


def test_console_script_runs() -> None:
    out = subprocess.run([sys.executable, "-m", "pmkit.cli", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("pmkit ")


def test_load_one_source_counts_and_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "access.log"
    log.write_text(ACCESS)
    out, rej = tmp_path / "ev.parquet", tmp_path / "rej.csv"
    assert (
        main(["load", str(log), "--kind", "logs", "--format", "combined", "-o", str(out), "--rejects", str(rej)]) == 0
    )
    text = capsys.readouterr().out
    assert text.splitlines()[0] == "3 lines read: parsed 2, rejected 1; 2 rows"
    assert f"{log}:3: " in text
    ev = pl.read_parquet(out)
    assert ev.height == 2 and ev["ts"].dtype == pl.Datetime("us", "UTC")
    assert str(ev["ts"][1]) == "2025-06-15 14:19:31+00:00"
    assert pl.read_csv(rej)["origin"].to_list() == [f"{log}:3"]
    for suffix in (".csv", ".jsonl"):
        assert (
            main(["load", str(log), "--kind", "logs", "--format", "combined", "-o", str(tmp_path / f"e{suffix}")]) == 0
        )


def test_load_errors_are_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "access.log"
    log.write_text(ACCESS)
    assert main(["load", str(log), "--kind", "logs", "--format", "combind"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("pmkit: error: no logs loader for format 'combind'")
    assert "did you mean 'combined'?" in err
    assert main(["load", str(tmp_path / "missing.log"), "--kind", "logs", "--format", "combined"]) == 1
    assert "missing.log: no such file or folder" in capsys.readouterr().err
    assert main(["load", str(log)]) == 1
    assert "--kind is required" in capsys.readouterr().err
    assert main(["load", str(log), "--kind", "logs", "--format", "combined", "-o", str(tmp_path / "x.xlsx")]) == 1
    assert "unknown output type '.xlsx'" in capsys.readouterr().err


def test_new_then_load_then_timeline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new", "INC-2099-0001", "--dir", str(tmp_path)]) == 0
    root = tmp_path / "INC-2099-0001"
    assert (root / "incident.yaml").is_file() and (root / "logs").is_dir()
    assert main(["load", str(root)]) == 0
    (root / "logs" / "access.log").write_text(ACCESS)
    text = (
        (root / "incident.yaml")
        .read_text()
        .replace("sources: []", "sources:\n  - {name: nginx, kind: logs, format: combined, path: logs/access.log}")
    )
    (root / "incident.yaml").write_text(text)
    capsys.readouterr()
    assert main(["load", str(root)]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("nginx"))
    assert row.split() == ["nginx", "logs", "combined", "lines", "3", "2", "1", "0", "2"]  # ... rejected, outside, rows
    assert main(["timeline", str(root), "--all"]) == 0
    assert "2025-06-15 14:19:31  nginx" in capsys.readouterr().out
    assert main(["new", "INC-2099-0001", "--dir", str(tmp_path)]) == 1
    assert "already exists" in capsys.readouterr().err


def test_broken_incident_yaml_says_what_to_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "incident.yaml").write_text("id: X\nsources:\n  - {kind: logs, path: a.log, fromat: combined}\n")
    assert main(["load", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        f"pmkit: error: {tmp_path / 'incident.yaml'}: 1 problem:\n  - sources[0].fromat: unknown key; did you mean 'format'?\n"
    )


def test_formats_lists_every_kind(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["formats"]) == 0
    out = capsys.readouterr().out
    for kind in ("logs:", "metrics:", "deploys:", "chat:", "alerts:"):
        assert kind in out
    assert main(["formats", "--kind", "logs"]) == 0
    assert "metrics:" not in capsys.readouterr().out


def test_check_on_a_new_incident_fails_evidence_whys_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`pmkit new` then `pmkit check`: no evidence, no 5 Whys; the exit code is 1 and every gate prints a line."""
    assert main(["new", "INC-T1", "--dir", str(tmp_path)]) == 0
    root = next(p.parent for p in tmp_path.rglob("incident.yaml"))
    capsys.readouterr()
    assert main(["check", str(root)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split(":")[0] for ln in lines] == [
        f"{'PASS' if ln.startswith('PASS') else 'FAIL'} {g}"
        for ln, g in zip(
            lines,
            [
                "evidence",
                "severity",
                "utc_timeline",
                "action_items",
                "blameless",
                "root_cause",
                "five_whys",
                "cadence",
                "runbook",
                "figures_agree",
            ],
            strict=True,
        )
    ]
    assert lines[0] == (
        f"FAIL evidence: no evidence loaded from {root}: incident.yaml lists no sources; copy the evidence into the "
        "folder and list it under sources: in incident.yaml"
    )
    assert next(ln for ln in lines if ln.startswith("FAIL five_whys")).startswith("FAIL five_whys: no 5 Whys written")


def test_render_warns_before_rendering_a_folder_without_evidence(tmp_path: Path) -> None:
    from pmkit.report.cli_render import evidence_warnings

    assert main(["new", "INC-T2", "--dir", str(tmp_path)]) == 0
    root = next(p.parent for p in tmp_path.rglob("incident.yaml"))
    assert evidence_warnings([root]) == [
        f"pmkit: warning: {root}: no evidence loaded: incident.yaml lists no sources; copy the evidence into the "
        "folder and list it under sources: in incident.yaml; the document will have no measured figures"
    ]
    sample = Path(__file__).resolve().parents[1] / "data" / "samples" / "INC-2025-0142"
    assert evidence_warnings([sample]) == []
