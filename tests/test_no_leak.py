"""Nothing leaks: secrets and personal data planted in every kind of evidence of a sample incident never reach
any output — the rendered HTML, Markdown and notebook, the seed files, ``pmkit analyze --json``, comms drafts,
a rejects file, the events written by ``pmkit load -o`` — because they are redacted once, where evidence enters
(``sources.base.run``); and the load report says how many values each rule redacted."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from pmkit.cli import main
from pmkit.incident import Incident

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "samples" / "INC-2025-0142"

AWS_KEY = "AKIAIOSFODNN7EXAMPLQ"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYQ"
EMAIL = "jane.doe.payments@example.org"
CARD = "4111 1111 1111 1111"
TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
URL_PASSWORD = "s3cr3t-Pa55"
SECRETS = [AWS_KEY, AWS_SECRET, EMAIL, CARD, TOKEN, URL_PASSWORD]
PLANT = (
    f"aws_access_key_id={AWS_KEY} aws_secret_access_key={AWS_SECRET} customer {EMAIL} card {CARD} "
    f"token {TOKEN} db postgres://app:{URL_PASSWORD}@db.internal:5432/payments"
)


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("leak") / "INC-2025-0142"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns(".pmkit-cache", "expected.yaml"))
    # 40 error lines of the app log carry every secret (as the message and as a field)
    app = root / "logs" / "payments-api.jsonl.gz"
    lines = gzip.decompress(app.read_bytes()).decode().splitlines()
    n = 0
    for i, line in enumerate(lines):
        rec = json.loads(line)
        if rec.get("level") == "ERROR" and n < 40:
            rec["msg"] = f"{rec['msg']} {PLANT}"
            rec["db_url"] = f"postgres://app:{URL_PASSWORD}@db.internal/payments"
            lines[i] = json.dumps(rec)
            n += 1
    lines.append("this line is not JSON " + PLANT)  # a reject: its raw text must be redacted too
    app.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0))
    assert n == 40
    # chat, an alert annotation, a deploy description
    day = root / "chat" / "inc-2025-0142-payments" / "2025-06-15.json"
    msgs = json.loads(day.read_text())
    msgs[3]["text"] = msgs[3]["text"] + " " + PLANT
    day.write_text(json.dumps(msgs))
    alert = next((root / "alerts" / "alertmanager").glob("03-*.json"))
    doc = json.loads(alert.read_text())
    doc["alerts"][0]["annotations"]["description"] += " " + PLANT
    alert.write_text(json.dumps(doc))
    dep = root / "deploys" / "acme-checkout-web.json"
    deps = json.loads(dep.read_text())
    deps[0]["description"] = PLANT
    dep.write_text(json.dumps(deps))
    return root


def assert_clean(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked into {where}"


def test_loaded_evidence_is_redacted_and_counted(planted: Path) -> None:
    inc = Incident.load(planted, cache=False)
    for frame in (inc.events, inc.rejects, inc.series):
        assert_clean(frame.write_ndjson(), "the loaded frames")
    notes = " ".join(inc.report.get_column("notes").drop_nulls())
    assert "redacted: " in notes and "aws" in notes.lower() and "email" in notes


def test_no_output_carries_a_secret(planted: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", str(planted), "-o", str(tmp_path / "out"), "--jobs", "1"]) == 0
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file() and p.suffix in {".html", ".md", ".ipynb"}]
    assert len(files) >= 6
    for p in files:
        assert_clean(p.read_text(encoding="utf-8"), p.name)
    capsys.readouterr()
    for argv in (["analyze", str(planted), "--json"], ["comms", str(planted)], ["check", str(planted)]):
        main(argv)
        assert_clean(capsys.readouterr().out, " ".join(argv[:1]))
    ev, rej = tmp_path / "ev.jsonl", tmp_path / "rej.csv"
    assert main(["load", str(planted), "-o", str(ev), "--rejects", str(rej)]) == 0
    assert_clean(ev.read_text() + rej.read_text() + capsys.readouterr().out, "pmkit load's files")


def test_no_redact_keeps_evidence_as_it_is(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "a.log"
    log.write_text(f'ts=2025-01-01T00:00:00Z level=error msg="boom {EMAIL}"\n')
    out = tmp_path / "ev.jsonl"
    assert main(["load", str(log), "--kind", "logs", "--format", "logfmt", "-o", str(out)]) == 0
    assert EMAIL not in out.read_text() and "redacted: email 1" in capsys.readouterr().out
    assert main(["load", str(log), "--kind", "logs", "--format", "logfmt", "-o", str(out), "--no-redact"]) == 0
    assert EMAIL in out.read_text() and "redaction off" in capsys.readouterr().out


def test_incident_yaml_configures_redaction(planted: Path, tmp_path: Path) -> None:
    root = tmp_path / "INC"
    shutil.copytree(planted, root)
    spec = (root / "incident.yaml").read_text()
    (root / "incident.yaml").write_text(spec + f"redaction:\n  disable: [email]\n  allow: ['{CARD}']\n")
    inc = Incident.load(root, cache=False)
    text = inc.events.write_ndjson()
    assert EMAIL in text and CARD in text and AWS_KEY not in text
    (root / "incident.yaml").write_text(spec + "redaction:\n  disable: [emails]\n")
    with pytest.raises(ValueError, match=r"redaction.*unknown redaction rule"):
        Incident.load(root, cache=False)
