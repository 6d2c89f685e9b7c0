"""Sniffing across loaders: a plug-in's sniffer that raises is a "no", for the load's sniff and the scan alike."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pmkit.sources import registry
from pmkit.sources.base import LoadRequest, LoadResult


@pytest.fixture
def broken_plugin() -> Iterator[None]:
    def boom(head: str) -> bool:
        raise ValueError("this sniffer fails on every input")

    def load(req: LoadRequest) -> LoadResult:  # never called
        raise AssertionError

    registry.register("logs", "test-broken-sniffer", description="x", example="x", sniff=boom, sniff_order=0)(load)
    try:
        yield
    finally:
        registry._LOADERS.pop(("logs", "test-broken-sniffer"), None)


def test_a_raising_sniffer_counts_as_not_accepting(broken_plugin: None) -> None:
    line = 'time=2025-03-01T09:00:00Z level=info msg="ok" service=api'
    got = [i.format for i in registry.accepting(line)]
    assert "test-broken-sniffer" not in got and "logfmt" in got
    assert registry.sniff("logs", line) == "logfmt"
