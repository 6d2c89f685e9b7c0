"""kaleido's private page hand-back is used only with the kaleido versions it was written for."""

from __future__ import annotations

import pytest

from pmkit.report import kaleido_compat
from pmkit.report.kaleido_compat import KaleidoVersionWarning, keep_page_class, use_keep_page, written_for

kaleido = pytest.importorskip("kaleido", reason="kaleido (the 'render' extra) is not installed")


def test_the_versions_it_was_written_for() -> None:
    assert written_for("1.0.0") and written_for("1.5.1") and written_for("1.5.12rc1")
    assert not written_for("1.6.0") and not written_for("2.0.0") and not written_for("0.2.1")
    assert not written_for(None) and not written_for("") and not written_for("dev")


def test_the_installed_kaleido_gets_the_kept_page() -> None:
    version = kaleido_compat.kaleido_version()
    if not written_for(version):
        pytest.skip(f"kaleido {version} is not one kaleido_compat was written for (it falls back, tested below)")
    keep = keep_page_class()
    assert keep is not None and issubclass(keep, kaleido.Kaleido)


@pytest.mark.parametrize("version", ["9.0.0", "1.6.0", None])
def test_an_unknown_version_falls_back_to_kaleidos_own_class(
    version: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kaleido_compat, "kaleido_version", lambda: version)
    with pytest.warns(KaleidoVersionWarning, match="is not a version pmkit's figure drawing was written for"):
        assert keep_page_class() is None
    from kaleido import _sync_server

    before = getattr(_sync_server, "Kaleido", None)
    with pytest.warns(KaleidoVersionWarning):
        assert use_keep_page() is False
    assert getattr(_sync_server, "Kaleido", None) is before  # the server keeps kaleido's own class


def test_a_kaleido_without_the_hand_back_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    class Bare:
        pass

    monkeypatch.setattr(kaleido, "Kaleido", Bare)
    with pytest.warns(KaleidoVersionWarning):
        assert keep_page_class(version="1.5.1") is None


def test_the_version_is_read_only_when_figures_are_drawn() -> None:
    """Importing the render module reads no distribution metadata and imports no kaleido."""
    import subprocess
    import sys

    code = (
        "import sys, importlib.metadata as md\n"
        "calls = []\n"
        "real = md.version\n"
        "md.version = lambda name: calls.append(name) or real(name)\n"
        "import pmkit.report.render\n"
        "assert 'kaleido' not in sys.modules, 'kaleido imported'\n"
        "assert 'kaleido' not in calls, calls\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
