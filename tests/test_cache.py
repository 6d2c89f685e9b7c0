"""The load cache's key: any change to the inputs, the options or the loading code is a new key."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmkit import cache
from pmkit.sources.base import LoadRequest


@pytest.fixture
def req(tmp_path: Path) -> LoadRequest:
    log = tmp_path / "access.log"
    log.write_text('1.2.3.4 - - [14/Mar/2025:13:05:02 +0000] "GET / HTTP/1.1" 200 1 "-" "x"\n')
    return LoadRequest(kind="logs", format="combined", path=str(log))


def test_key_follows_files_and_options(req: LoadRequest) -> None:
    key = cache.cache_key(req)
    assert cache.cache_key(req) == key
    assert cache.cache_key(LoadRequest(**{**req.__dict__, "timezone": "Europe/Berlin"})) != key
    Path(req.path).write_text(Path(req.path).read_text() + "\n")
    assert cache.cache_key(req) != key


def test_key_follows_the_shared_loading_code(req: LoadRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A change in code every loader uses (timeutil, textio...), not only in the loader's module, is a new key."""
    key = cache.cache_key(req)
    cache._code_digest.cache_clear()
    monkeypatch.setattr(cache, "_shared_code_digest", lambda: "changed")
    try:
        assert cache.cache_key(req) != key
    finally:
        cache._code_digest.cache_clear()
