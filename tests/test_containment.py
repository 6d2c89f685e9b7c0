"""Safe to share: sources read only inside the incident folder, nothing lost on odd line endings and
encodings, one broken file or source never ends the incident, and the terminal shows evidence as data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pmkit.cli import main, terminal_safe
from pmkit.errors import SourceError
from pmkit.incident import Incident
from pmkit.sources import textio
from pmkit.sources.base import LoadRequest, run

LOG = '203.0.113.9 - - [14/Mar/2025:13:05:0{} +0000] "GET /a HTTP/1.1" 200 1 "-" "c"'


def incident(tmp_path: Path, sources: str) -> Path:
    root = tmp_path / "INC-1"
    (root / "logs").mkdir(parents=True)
    (root / "incident.yaml").write_text(f"id: INC-1\ntitle: t\nsources:\n{sources}")
    return root


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.log"
    secret.write_text(LOG.format(1) + "\nroot:x:0:0:root:/root:/bin/bash\n")
    return secret


@pytest.mark.parametrize("how", ["dotdot", "absolute", "glob", "symlink", "symlinked_dir"])
def test_paths_outside_the_folder_are_refused(tmp_path: Path, outside: Path, how: str) -> None:
    if how == "symlink":
        root = incident(tmp_path, "  - {kind: logs, format: combined, path: logs/a.log}\n")
        (root / "logs" / "a.log").symlink_to(outside)
    elif how == "symlinked_dir":
        root = incident(tmp_path, "  - {kind: logs, format: combined, path: logs/}\n")
        (root / "logs" / "a.log").write_text(LOG.format(2) + "\n")
        (root / "logs" / "b.log").symlink_to(outside)
    else:
        path = {"dotdot": "../secret.log", "absolute": str(outside), "glob": "../*.log"}[how]
        root = incident(tmp_path, f"  - {{kind: logs, format: combined, path: '{path}'}}\n")
    with pytest.raises(SourceError, match=r"sources\[0\]\.path: .* resolves outside the incident folder"):
        Incident.load(root, cache=False)


def test_allow_outside_per_source_and_on_the_command_line(
    tmp_path: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = incident(tmp_path, "  - {kind: logs, format: combined, path: ../secret.log, allow_outside: true}\n")
    assert Incident.load(root, cache=False).events.height == 1
    root2 = incident(tmp_path / "b", "  - {kind: logs, format: combined, path: ../../secret.log}\n")
    assert main(["load", str(root2)]) == 1
    assert "resolves outside the incident folder" in capsys.readouterr().err
    assert main(["load", str(root2), "--allow-outside"]) == 0


def test_a_single_file_load_is_not_contained(outside: Path) -> None:
    """`pmkit load FILE` names the file itself: no incident folder to stay in."""
    assert run(LoadRequest(kind="logs", format="combined", path=str(outside))).parsed == 1


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        (b"a\rb\rc\r", ["a", "b", "c"]),  # CR only (used to be 1 line)
        (b"a\r\nb\nc\rd", ["a", "b", "c", "d"]),  # mixed
        (b"a\n\n\rb\r\n", ["a", "", "", "b"]),
        ("x\ny\n".encode("utf-16"), ["x", "y"]),  # UTF-16LE with BOM (PowerShell's >)
        ("x\r\ny".encode("utf-16-be") and b"\xfe\xff" + "x\r\ny".encode("utf-16-be"), ["x", "y"]),
        (b"\xef\xbb\xbfx\ny", ["x", "y"]),
    ],
)
def test_line_endings_and_encodings(tmp_path: Path, data: bytes, lines: list[str]) -> None:
    p = tmp_path / "f.log"
    p.write_bytes(data)
    assert textio.read_lines(p).get_column("line").to_list() == lines


def test_cr_only_access_log_loses_nothing(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    p.write_bytes("\r".join(LOG.format(i) for i in range(5)).encode() + b"\rjunk\r")
    res = run(LoadRequest(kind="logs", format="combined", path=str(p)))
    assert (res.inputs, res.parsed, res.rejected) == (6, 5, 1)


def test_broken_utf16_names_the_encoding(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    p.write_bytes(b"\xff\xfe" + "ok\n".encode("utf-16-le") + b"\x00\xd8")  # a lone surrogate, cut
    with pytest.raises(SourceError, match="UTF-16-LE"):
        textio.read_lines(p)


def test_notes_for_empty_files_and_encodings(tmp_path: Path) -> None:
    d = tmp_path / "logs"
    d.mkdir()
    (d / "a.log").write_text(LOG.format(1) + "\n")
    (d / "b.log").write_text("")
    (d / "c.log").write_bytes((LOG.format(2) + "\n").encode("utf-16"))
    (d / "d.log").write_bytes((LOG.format(3).replace("GET /a", "GET /caf\xe9") + "\n").encode("latin-1"))
    res = run(LoadRequest(kind="logs", format="combined", path=str(d)))
    assert res.parsed == 3
    notes = " | ".join(res.notes)
    assert "b.log: empty file" in notes
    assert "c.log: decoded from UTF-16-LE" in notes
    assert "d.log: not UTF-8 (byte 0xe9" in notes


def test_one_broken_file_is_that_files_reject(tmp_path: Path) -> None:
    d = tmp_path / "alerts"
    d.mkdir()
    good = {
        "version": "4",
        "status": "firing",
        "alerts": [{"status": "firing", "labels": {"alertname": "A"}, "startsAt": "2025-01-01T00:00:00Z"}],
    }
    (d / "a.json").write_text(json.dumps(good))
    (d / "b.json").write_text(json.dumps(good)[:40])  # truncated
    res = run(LoadRequest(kind="alerts", format="alertmanager", path=str(d)))
    assert res.parsed == 1 and res.rejected == 1 and res.inputs == 2
    assert res.rejects.get_column("origin").to_list() == [str(d / "b.json")]
    assert "not valid JSON" in res.rejects.get_column("reason").item()
    assert any("b.json not loaded" in n for n in res.notes)


def test_a_broken_source_does_not_end_the_incident(tmp_path: Path) -> None:
    root = incident(
        tmp_path,
        "  - {kind: logs, format: combined, path: logs/a.log}\n  - {kind: alerts, format: alertmanager, path: alerts/x.json}\n",
    )
    (root / "logs" / "a.log").write_text(LOG.format(1) + "\n")
    (root / "alerts").mkdir()
    (root / "alerts" / "x.json").write_text('{"version": "4", "alerts": [')
    inc = Incident.load(root, cache=False)
    assert inc.events.height == 1
    row = inc.report.filter(inc.report["kind"] == "alerts").row(0, named=True)
    assert (row["inputs"], row["parsed"], row["rejected"]) == (1, 0, 1)
    assert "source not loaded" in row["notes"] and "not valid JSON" in row["notes"]


def test_terminal_output_strips_control_characters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert terminal_safe("a\x1b]0;pwned\x07b\x9b31mc\u202ed\te\n") == "a]0;pwnedb31mcd\te\n"
    root = incident(tmp_path, "  - {kind: logs, format: combined, path: logs/a.log}\n")
    (root / "incident.yaml").write_text(
        (root / "incident.yaml").read_text().replace("title: t", 'title: "evil \\e[2J\\e]0;owned\\a title"')
    )
    (root / "logs" / "a.log").write_text(LOG.format(1) + "\nbad \x1b[31mred\x1b[0m line\n")
    assert main(["load", str(root)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "INC-1: evil [2J]0;owned title" in out


def test_pmkit_load_file_prints_every_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "a.log"
    p.write_text(LOG.format(1) + "\nnope\n")
    assert main(["load", str(p), "--kind", "logs", "--format", "combined"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "2 lines read: parsed 1, rejected 1; 1 rows"


def test_internal_errors_are_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import pmkit.cli_commands as commands

    def boom(args: object) -> int:
        raise ValueError("year 0 is out of range")

    monkeypatch.setattr(commands, "cmd_formats", boom)
    monkeypatch.delenv("PMKIT_DEBUG", raising=False)
    assert main(["formats"]) == 3
    err = capsys.readouterr().err
    assert "internal error: ValueError: year 0 is out of range" in err and "Traceback" not in err
    assert os.environ.get("PMKIT_DEBUG") is None


def test_slack_export_reads_nothing_outside(tmp_path: Path) -> None:
    """A day file given alone makes the loader read users.json two folders up: not above the incident folder."""
    (tmp_path / "users.json").write_text('[{"id": "U1", "name": "mallory", "profile": {"email": "m@x.io"}}]')
    root = incident(tmp_path, "  - {kind: chat, format: slack, path: 2025-06-15.json}\n")
    (root / "2025-06-15.json").write_text('[{"type": "message", "user": "U1", "ts": "1750000021.000200", "text": "x"}]')
    with pytest.raises(SourceError, match=r"sources\[0\]\.path: .*users\.json resolves outside the incident folder"):
        Incident.load(root, cache=False)
    (root / "chat" / "general").mkdir(parents=True)
    (root / "chat" / "users.json").symlink_to(tmp_path / "users.json")
    (root / "chat" / "general" / "2025-06-15.json").write_text((root / "2025-06-15.json").read_text())
    (root / "incident.yaml").write_text("id: INC-1\nsources:\n  - {kind: chat, format: slack, path: chat}\n")
    with pytest.raises(SourceError, match="resolves outside the incident folder"):
        Incident.load(root, cache=False)
