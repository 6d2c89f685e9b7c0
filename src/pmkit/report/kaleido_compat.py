"""kaleido without a page reload after every figure: the one place pmkit uses kaleido's private API.

kaleido reloads its page after every figure (``Kaleido._return_kaleido_tab``), which makes the
browser parse plotly.js (4.6 MB) again: half of the browser's CPU for our figures. A figure drawn
without the reload has the same bytes (``tests/report/test_figures_png.py`` checks it), so
:func:`keep_page_class` reloads the page every :data:`RELOAD_EVERY` figures instead, and
:func:`use_keep_page` has kaleido's sync server build its browser from that class.

Both rest on private names (``Kaleido._return_kaleido_tab``, ``Kaleido.tabs_ready``,
``kaleido._sync_server.Kaleido``), so they are used only with the kaleido versions this was written
for (:data:`WRITTEN_FOR`), read from the installed distribution when the first figure is drawn.
With any other version, or without those names, the figures are drawn by kaleido's own class (a
reload per figure: slower, the same images) and a warning says so.
"""

from __future__ import annotations

import importlib.metadata
import re
import warnings
from typing import Any

RELOAD_EVERY = 25
# kaleido releases (major, minor) whose Kaleido._return_kaleido_tab(tab) reloads the tab, then puts it
# back on the tabs_ready queue; checked against 1.5.1 (tests/report/test_figures_png.py)
WRITTEN_FOR = ((1, 0), (1, 5))


class KaleidoVersionWarning(UserWarning):
    """The installed kaleido is not one :mod:`pmkit.report.kaleido_compat` was written for."""


def kaleido_version() -> str | None:
    """The installed kaleido's version (its distribution metadata), None when there is none."""
    try:
        return importlib.metadata.version("kaleido")
    except importlib.metadata.PackageNotFoundError:
        return None


def written_for(version: str | None) -> bool:
    """Whether ``version`` (``"1.5.1"``) is in :data:`WRITTEN_FOR`."""
    m = re.match(r"(\d+)\.(\d+)", version or "")
    return m is not None and WRITTEN_FOR[0] <= (int(m[1]), int(m[2])) <= WRITTEN_FOR[1]


def keep_page_class(version: str | None = None) -> type | None:
    """kaleido's ``Kaleido`` with the page reloaded every :data:`RELOAD_EVERY` figures, not after each;
    None (kaleido's own behaviour, with a :class:`KaleidoVersionWarning`) for a kaleido this was not
    written for. ``version``: the installed kaleido's unless given."""
    import kaleido  # type: ignore[import-untyped]  # kaleido ships no type information

    version = kaleido_version() if version is None else version
    base = kaleido.Kaleido
    if not written_for(version) or not hasattr(base, "_return_kaleido_tab"):
        lo, hi = WRITTEN_FOR
        warnings.warn(
            f"kaleido {version or '(version unknown)'} is not a version pmkit's figure drawing was written for "
            f"({lo[0]}.{lo[1]} to {hi[0]}.{hi[1]}.x): kaleido reloads its page after every figure "
            "(slower, the same images)",
            KaleidoVersionWarning,
            stacklevel=2,
        )
        return None

    class KeepPage(base):  # type: ignore[misc, valid-type]  # kaleido ships no type information
        _figures_drawn = 0

        async def _return_kaleido_tab(self, tab: Any) -> None:
            self._figures_drawn += 1
            if self._figures_drawn % RELOAD_EVERY == 0 or not hasattr(self, "tabs_ready"):
                await super()._return_kaleido_tab(tab)
            else:
                await self.tabs_ready.put(tab)

    return KeepPage


def use_keep_page() -> bool:
    """Have kaleido's sync server build its browser from :func:`keep_page_class`; False (nothing changed)
    where that is None or the server no longer builds it from ``kaleido._sync_server.Kaleido``."""
    import kaleido
    from kaleido import _sync_server

    keep = keep_page_class()
    if keep is None or getattr(_sync_server, "Kaleido", None) is not kaleido.Kaleido:
        return False
    _sync_server.Kaleido = keep  # the server builds its browser from this name
    return True
