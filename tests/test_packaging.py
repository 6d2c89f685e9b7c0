"""What ``pip install pmkit`` gets: the render path names its extra when it is missing, the wheel
ships the sample incidents (and no sample generator, no cache folder).

Building the wheel needs hatchling from the package index: that test skips, with the reason, where
it cannot. Installing the wheel into fresh virtual environments takes minutes: that is
``scripts/wheel_smoke.sh``, run here only with ``PMKIT_WHEEL_SMOKE=1``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import pmkit
from pmkit.cli import main
from pmkit.report import extras
from pmkit.report.render import render
from pmkit.report.run import run

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "samples" / "INC-2025-0142"
MESSAGE = "needs the 'render' extra: pip install 'pmkit[render]' (missing: papermill)"


@pytest.fixture
def no_papermill(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if ``pip install pmkit`` had been run without the render extra (papermill is what it lacks)."""
    monkeypatch.setattr(extras, "_absent", lambda module: module == "papermill")


@pytest.mark.parametrize("argv", [["render", str(SAMPLE)], ["demo"]], ids=["render", "demo"])
def test_the_commands_name_the_extra(
    argv: list[str], no_papermill: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "-o", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert err == f"pmkit: error: pmkit {argv[0]} {MESSAGE}\n"
    assert out == "" and not list(tmp_path.iterdir())


def test_the_library_names_the_extra(no_papermill: None, tmp_path: Path) -> None:
    with pytest.raises(extras.MissingExtraError, match=r"^pmkit\.render needs the 'render' extra") as info:
        render([SAMPLE], tmp_path)
    assert isinstance(info.value, ImportError) and isinstance(info.value, pmkit.PmkitError)
    with pytest.raises(extras.MissingExtraError, match=r"^pmkit\.run needs the 'render' extra"):
        run(SAMPLE, tmp_path)


def test_analysis_needs_no_extra(no_papermill: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(SAMPLE)]) in (0, 1)
    assert "extra" not in capsys.readouterr().err


def test_every_render_module_is_in_the_render_extra() -> None:
    """extras.RENDER_MODULES and pyproject's `render` extra list the same packages."""
    import tomllib

    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["render"]
    names = {req.split(">")[0].split("=")[0].split("[")[0].strip().lower().replace("-", "_") for req in extra}
    assert {pkg.lower() for pkg in extras.RENDER_MODULES.values()} <= names
    assert extras.missing() == []  # this environment has them all


# ----------------------------------------------------------------------------- the wheel


def _tree(dst: Path) -> Path:
    """The files a wheel is built from, copied, with a stale cache folder in a sample (it must stay out)."""
    for name in ("pyproject.toml", "hatch_build.py", "README.md"):
        shutil.copy2(ROOT / name, dst / name)
    for name in ("src", "templates", "notebooks"):
        shutil.copytree(ROOT / name, dst / name, ignore=shutil.ignore_patterns("__pycache__", ".*"))
    shutil.copytree(ROOT / "data" / "samples", dst / "data" / "samples", ignore=shutil.ignore_patterns(".*"))
    stale = dst / "data" / "samples" / "INC-2025-0142" / ".pmkit-cache" / ("0" * 32)
    stale.mkdir(parents=True)
    (stale / "meta.json").write_text("{}")
    return dst


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = _tree(tmp_path_factory.mktemp("wheel-src"))
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    built = list(out.glob("pmkit-*.whl"))
    if proc.returncode != 0 or not built:
        pytest.skip(f"cannot build the wheel here (pip wheel needs hatchling from the index): {proc.stderr[-500:]}")
    return built[0]


def test_the_wheel_ships_the_samples_and_not_their_generator(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    for incident in ("INC-2025-0142", "INC-20250120-103000"):
        committed = sorted(
            p.relative_to(ROOT / "data" / "samples").as_posix()
            for p in (ROOT / "data" / "samples" / incident).rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(ROOT).parts)
        )
        shipped = sorted(n.removeprefix("pmkit/samples/") for n in names if n.startswith(f"pmkit/samples/{incident}/"))
        assert shipped == committed
    assert not [n for n in names if any(part.startswith(".") for part in n.split("/"))], "hidden files packed"
    assert not [n for n in names if "samplegen" in n]
    assert "pmkit/templates/pmkit-html/index.html.j2" in names and "pmkit/notebooks/postmortem.ipynb" in names
    assert not [n for n in names if n.startswith("pmkit/samples/") and n.count("/") == 2]  # no README, only INC-*
    assert wheel.stat().st_size < 8_000_000, f"the wheel is {wheel.stat().st_size / 1e6:.1f} MB"


@pytest.mark.skipif(
    os.environ.get("PMKIT_WHEEL_SMOKE") != "1",
    reason="installs the wheel into fresh venvs (2-4 min): set PMKIT_WHEEL_SMOKE=1, or run scripts/wheel_smoke.sh",
)
def test_the_wheel_installs_and_works_without_a_checkout() -> None:
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "wheel_smoke.sh"), sys.executable],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert proc.stdout.rstrip().endswith("wheel-smoke: OK")
