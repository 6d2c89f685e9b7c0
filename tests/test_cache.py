"""The load cache: any change to the inputs, the options or the loading code is a new key; the entries live in
the user cache folder (``PMKIT_CACHE_DIR``), bounded in size, least recently used first out, best effort."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from pmkit import cache
from pmkit.sources.base import LoadRequest, run


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


# ----------------------------------------------------------------------------- where the entries go


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder of this test's own (``PMKIT_CACHE_DIR``), with the default bound."""
    monkeypatch.setenv(cache.ENV_DIR, str(tmp_path / "cache"))
    monkeypatch.delenv(cache.ENV_MAX_BYTES, raising=False)
    return tmp_path / "cache"


def _variants(req: LoadRequest, n: int) -> list[LoadRequest]:
    """``n`` requests of the same file with distinct keys (another option each)."""
    return [LoadRequest(**{**req.__dict__, "service": f"svc{i}"}) for i in range(n)]


def test_the_key_does_not_depend_on_where_the_cache_is(req: LoadRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    key = cache.cache_key(req)
    monkeypatch.setenv(cache.ENV_DIR, "/somewhere/else")
    assert cache.cache_key(req) == key
    assert len(key) == 32 and int(key, 16) >= 0


def test_the_env_variable_moves_the_cache(store: Path, req: LoadRequest) -> None:
    assert cache.cache_dir() == store / "loads"
    key = cache.cache_key(req)
    assert cache.read(key) is None
    res = run(req)
    cache.write(key, res)
    assert sorted(p.name for p in (store / "loads" / key).iterdir()) == [
        "frame.parquet",
        "meta.json",
        "rejects.parquet",
        "requests.parquet",  # an access log's typed request fields come with its load (run())
    ]
    hit = cache.read(key)
    assert hit is not None and hit.frame.equals(res.frame) and hit.notes == res.notes
    assert not list(Path(req.path).parent.glob(".pmkit-cache"))


def test_the_default_is_the_user_cache_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    from platformdirs import user_cache_dir

    monkeypatch.delenv(cache.ENV_DIR, raising=False)
    assert cache.cache_dir() == Path(user_cache_dir("pmkit", appauthor=False)) / "loads"


def test_incident_load_leaves_the_incident_folder_alone(store: Path, samples: Path, tmp_path: Path) -> None:
    from pmkit.incident import Incident

    folder = tmp_path / "INC-2025-0142"
    shutil.copytree(samples / "INC-2025-0142", folder)
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    first = Incident.load(folder)
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before
    entries = list((store / "loads").iterdir())
    assert len(entries) == first.report.height  # one entry per source
    again = Incident.load(folder)  # from the cache
    assert again.events.equals(first.events) and again.report.equals(first.report)


def test_least_recently_used_entries_are_evicted(
    store: Path, req: LoadRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b, c = _variants(req, 3)
    ka, kb, kc = (cache.cache_key(r) for r in (a, b, c))
    cache.write(ka, run(a))
    cache.write(kb, run(b))
    loads = store / "loads"
    size = sum(f.stat().st_size for f in (loads / ka).iterdir())
    past = time.time() - 100
    os.utime(loads / ka / cache.META, (past, past))
    os.utime(loads / kb / cache.META, (past + 1, past + 1))
    assert cache.read(ka) is not None  # a read makes A the most recently used
    monkeypatch.setenv(cache.ENV_MAX_BYTES, str(int(size * 2.5)))
    cache.write(kc, run(c))
    assert sorted(p.name for p in loads.iterdir()) == sorted([ka, kc])  # B, the least recently used, went
    assert cache.read(kb) is None and cache.read(ka) is not None


def test_eviction_touches_only_cache_entries(store: Path, req: LoadRequest) -> None:
    loads = store / "loads"
    (loads / "notes").mkdir(parents=True)
    (loads / "notes" / "keep.txt").write_text("x" * 10_000)
    (loads / "README").write_text("mine")
    cache.write(cache.cache_key(req), run(req))
    assert cache.evict(0) > 0
    assert sorted(p.name for p in loads.iterdir()) == ["README", "notes"]


def test_a_zero_bound_turns_the_cache_off(store: Path, req: LoadRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.ENV_MAX_BYTES, "0")
    cache.write(cache.cache_key(req), run(req))
    assert not (store / "loads").exists()
    monkeypatch.setenv(cache.ENV_MAX_BYTES, "lots")
    assert cache.max_bytes() == cache.DEFAULT_MAX_BYTES


def test_an_unwritable_cache_folder_means_no_cache_and_no_error(
    tmp_path: Path, req: LoadRequest, samples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pmkit.incident import Incident

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(cache.ENV_DIR, str(blocker / "cache"))  # mkdir fails, even for root
    key = cache.cache_key(req)
    cache.write(key, run(req))
    assert cache.read(key) is None
    assert cache.evict(0) == 0
    inc = Incident.load(samples / "INC-20250120-103000")
    assert inc.events.height > 0 and inc.rejects.height == 0


def test_a_read_only_cache_still_serves(store: Path, req: LoadRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    key = cache.cache_key(req)
    cache.write(key, run(req))

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError("read-only file system")

    monkeypatch.setattr(os, "utime", refuse)
    assert cache.read(key) is not None


def test_a_broken_entry_is_a_miss_and_is_replaced(store: Path, req: LoadRequest) -> None:
    key = cache.cache_key(req)
    broken = store / "loads" / key
    broken.mkdir(parents=True)
    (broken / cache.META).write_text("{not json")
    assert cache.read(key) is None
    cache.write(key, run(req))
    assert cache.read(key) is not None
    assert [p.name for p in (store / "loads").iterdir()] == [key]  # no temporary folder left
