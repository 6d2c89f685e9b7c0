"""CPython's private regex parser: the one place pmkit imports ``re._parser`` and ``re._constants``.

The grok translation (:mod:`pmkit.sources.rustregex`) re-emits a Python regex in Rust syntax,
and the only parser of Python's regex dialect is CPython's own, which is private: it was
``sre_parse``/``sre_constants`` up to 3.10, became ``re._parser``/``re._constants`` in 3.11
(when atomic groups and possessive quantifiers arrived) and may change in any release.

Written for CPython 3.11, 3.12 and 3.13 (:data:`SUPPORTED`; tested on 3.11). On any other
version, or when the import or one of the names the translation uses fails
(``ImportError``/``AttributeError``), :func:`load` raises :class:`SreUnavailable`: grok then
has no translation and parses line by line with Python's regex engines, which is slower but
gives the same result, and the load notes say why.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SUPPORTED: tuple[tuple[int, int], ...] = ((3, 11), (3, 12), (3, 13))
# the names of re._constants the translation reads
CONSTANTS = (
    "ANY", "ASSERT", "ASSERT_NOT", "AT", "ATOMIC_GROUP", "AT_BEGINNING", "AT_BEGINNING_STRING", "AT_BOUNDARY",
    "AT_END", "AT_END_STRING", "AT_NON_BOUNDARY", "BRANCH", "CATEGORY", "CATEGORY_DIGIT", "CATEGORY_NOT_DIGIT",
    "CATEGORY_NOT_SPACE", "CATEGORY_NOT_WORD", "CATEGORY_SPACE", "CATEGORY_WORD", "GROUPREF", "GROUPREF_EXISTS",
    "IN", "LITERAL", "MAXREPEAT", "MAX_REPEAT", "MIN_REPEAT", "NEGATE", "NOT_LITERAL", "POSSESSIVE_REPEAT", "RANGE",
    "SUBPATTERN",
)  # fmt: skip


class SreUnavailable(Exception):
    """CPython's private regex parser cannot be used on this Python; the text says why."""


@dataclass(frozen=True)
class Sre:
    """The private API: ``parse(regex)`` gives the syntax tree, ``constants`` its opcodes and categories."""

    parse: Callable[[str], Any]
    constants: Any  # the module re._constants (untyped: private)


def load() -> Sre:
    """The parser and its constants, or :class:`SreUnavailable` on a version or build this was not written for."""
    version = sys.version_info[:2]
    if version not in SUPPORTED:
        known = ", ".join(f"{major}.{minor}" for major, minor in SUPPORTED)
        raise SreUnavailable(
            f"Python {version[0]}.{version[1]} is not one of the versions whose private regex parser the "
            f"translation was written for ({known})"
        )
    try:
        parser = importlib.import_module("re._parser")
        constants = importlib.import_module("re._constants")
        missing = [name for name in CONSTANTS if not hasattr(constants, name)]
        if missing:
            raise AttributeError(f"re._constants has no {', '.join(missing)}")
        return Sre(parser.parse, constants)
    except (ImportError, AttributeError) as exc:
        raise SreUnavailable(f"Python's private regex parser is not usable here ({exc})") from None
