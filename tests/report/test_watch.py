"""``pmkit render --watch`` (pmkit.report.watch): re-render on change, survive errors, stop cleanly on Ctrl-C."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from pmkit.errors import PmkitError
from pmkit.report import watch as watch_mod
from tests.conftest import ROOT, SAMPLES


class _Fake:
    """A render_one following a script: on its Nth call it starts the Nth change (a moment later, once the
    watch polls again) and then succeeds, fails (PmkitError) or is interrupted (Ctrl-C)."""

    def __init__(self, out: Path, script: list[tuple[Callable[[], None] | None, str]]) -> None:
        self.calls = 0
        self.script = script
        self.out = out

    def __call__(self, incident_dir: Path) -> SimpleNamespace:
        change, outcome = self.script[self.calls]
        self.calls += 1
        if outcome == "stop":
            raise KeyboardInterrupt
        if change is not None:
            threading.Timer(0.2, change).start()
        if outcome == "fail":
            raise PmkitError("incident.yaml: line 3: bad indentation")
        return SimpleNamespace(error=None, files={"html": self.out / "postmortem.html"}, output_dir=self.out)


def test_watch_debounces_survives_errors_and_stops(tmp_path: Path) -> None:
    inc = tmp_path / "inc"
    (inc / "logs").mkdir(parents=True)
    (inc / "incident.yaml").write_text("id: X\ntitle: a\n")
    (inc / "logs" / "app.log").write_text("x\n")
    (inc / ".hidden").write_text("x")
    out = tmp_path / "out"

    def burst() -> None:  # three writes in quick succession: one render
        for i in range(3):
            (inc / "incident.yaml").write_text(f"id: X\ntitle: b{i}\n")
            time.sleep(0.05)

    def evidence() -> None:
        (inc / "logs" / "app.log").write_text("x\ny\n")

    def broken() -> None:
        (inc / "incident.yaml").write_text("id: X\ntitle: [unclosed\n")

    def new_file() -> None:
        (inc / "logs" / "more.log").write_text("z\n")

    def hidden_then_yaml() -> None:  # the hidden file is not watched: only the yaml's change is said
        (inc / ".hidden").write_text("changed")
        time.sleep(0.3)
        (inc / "incident.yaml").write_text("id: X\ntitle: c\n")

    script = [
        (burst, "ok"),
        (evidence, "ok"),
        (broken, "ok"),
        (new_file, "fail"),
        (hidden_then_yaml, "ok"),
        (lambda: (inc / "incident.yaml").write_text("id: X\ntitle: d\n"), "ok"),
        (None, "stop"),
    ]
    fake = _Fake(out, script)
    lines: list[str] = []
    rc = watch_mod.watch([inc], out, fake, interval=0.05, debounce=0.4, echo=lines.append)
    assert rc == 0
    assert lines[-1] == "stopped watching"
    renders = [ln.split("] ", 1)[1] for ln in lines if ln.startswith("[")]
    assert renders[0].startswith("inc: first render; rendered in ")
    assert renders[1].startswith("inc: incident.yaml changed; rendered in ")  # the burst: one render
    assert renders[2].startswith("inc: logs/app.log changed; rendered in ")
    assert renders[3].startswith("inc: incident.yaml changed; render FAILED after ")
    assert renders[3].endswith(": incident.yaml: line 3: bad indentation (still watching)")
    assert renders[4].startswith("inc: logs/more.log changed; rendered in ")
    assert renders[5].startswith("inc: incident.yaml changed; rendered in ")
    assert len(renders) == 6 and fake.calls == 7
    assert all(str(out / "postmortem.html") in r for r in renders if "rendered in" in r)


def test_watched_files_skip_output_and_hidden(tmp_path: Path) -> None:
    inc = tmp_path / "inc"
    shutil.copytree(SAMPLES / "INC-2025-0311-orders", inc)
    (inc / "out").mkdir()
    (inc / "out" / "postmortem.md").write_text("x")
    (inc / ".git").mkdir()
    (inc / ".git" / "HEAD").write_text("x")
    files = watch_mod.watched_files(inc, inc / "out")
    names = {f.relative_to(inc.resolve()).as_posix() for f in files}
    assert "incident.yaml" in names and "logs/orders-api.log.gz" in names
    assert not any(n.startswith(("out/", ".git/")) for n in names)
    before = watch_mod.snapshot(files)
    (inc / "chat" / "incident-channel.txt").write_text("changed\n")
    (inc / "deploys" / "argocd-orders-api.json").unlink()
    assert watch_mod.changes(before, watch_mod.snapshot(files), inc.resolve()) == [
        "chat/incident-channel.txt",
        "deploys/argocd-orders-api.json (removed)",
    ]


def _reader(stream, q: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        q.put(line)
    q.put(None)


def _wait_for(q: queue.Queue, seen: list[str], needle: str, timeout: float) -> str:
    """The first line with ``needle`` (bounded wait); fails with what was printed."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            line = q.get(timeout=max(0.05, end - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        if needle in line:
            return line
    pytest.fail(f"no line with {needle!r} within {timeout} s; printed:\n{''.join(seen)}")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
def test_render_watch_subprocess(tmp_path: Path) -> None:
    pytest.importorskip("papermill")
    inc = tmp_path / "inc"
    shutil.copytree(SAMPLES / "INC-2025-0311-orders", inc)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from pmkit.cli import main; raise SystemExit(main())",
            "render",
            str(inc),
            "-o",
            str(out),
            "--watch",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    q: queue.Queue = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, q), daemon=True).start()
    seen: list[str] = []
    try:
        first = _wait_for(q, seen, "first render", 240)
        assert "rendered in" in first, first
        _wait_for(q, seen, "watching 1 incident", 10)
        md = out / "INC-2025-0311-orders" / "postmortem.md"
        assert "Watched title" not in md.read_text(encoding="utf-8")
        text = (inc / "incident.yaml").read_text(encoding="utf-8")
        title = next(ln for ln in text.splitlines() if ln.startswith("title:"))
        (inc / "incident.yaml").write_text(text.replace(title, 'title: "Watched title"'), encoding="utf-8")
        again = _wait_for(q, seen, "incident.yaml changed", 240)
        assert "rendered in" in again and "postmortem.html" in again, again
        assert "Watched title" in md.read_text(encoding="utf-8")
        # a broken incident.yaml is reported, and the watch goes on
        (inc / "incident.yaml").write_text(text.replace(title, "title: [unclosed"), encoding="utf-8")
        failed = _wait_for(q, seen, "incident.yaml changed", 240)
        assert "render FAILED" in failed and "still watching" in failed, failed
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            rc = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    err = proc.stderr.read() if proc.stderr else ""
    assert rc == 0, (rc, err)
    printed = "".join(seen)
    while (line := q.get(timeout=5)) is not None:
        printed += line
    assert "stopped watching" in printed
    assert "Traceback" not in err and "Traceback" not in printed, err
