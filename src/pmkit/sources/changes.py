"""The vocabulary every deploy (change) loader shares: rollback words, failure states, the event message.

A toolkit for ``pmkit.sources.deploys``; it imports no loader. Keeping these in one place keeps the
formats agreeing on what a rollback is (change-suspect ranking relies on ``attrs.rollback``), which
states are errors, and how a change reads in the timeline
(``deploy payments-api v2.14.3 to production: success (description)``).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["ERROR_STATES", "ROLLBACK", "json_head_has", "level", "login", "message"]

ROLLBACK = re.compile(r"(?i)\b(roll(?:ed|ing)?[\s_-]?back|rollback|revert(?:ed|ing)?|rollout undo)\b")
ERROR_STATES = ("failure", "failed", "fail", "error", "errored")


def level(state: str | None) -> str:
    """``error`` for a failure/error state, else ``info``."""
    return "error" if state and state.strip().lower() in ERROR_STATES else "info"


def _one_line(text: Any) -> str:
    return " ".join(str(text).split()) if text is not None else ""


def message(
    verb: str, service: str | None, version: str | None, env: str | None, state: str | None, desc: str | None
) -> str:
    """``deploy payments-api v2.14.3 to production: success (description)``, leaving out what is missing."""
    parts = [verb]
    if service:
        parts.append(_one_line(service))
    if version:
        parts.append(_one_line(version))
    if env:
        parts.append(f"to {_one_line(env)}")
    text = " ".join(parts)
    if state:
        text += f": {_one_line(state)}"
    if desc and _one_line(desc):
        text += f" ({_one_line(desc)})"
    return text


def login(user: Any) -> str | None:
    """Who a user object is (GitHub style ``{"login": ...}`` or ``{"name": ...}``), or a non-empty string as is."""
    if isinstance(user, dict):
        v = user.get("login") or user.get("name")
        return str(v) if v else None
    return str(user) if isinstance(user, str) and user else None


def json_head_has(head: str, *needles: str) -> bool:
    """Sniffing: the file starts as JSON (an object or a list) and its head holds every needle."""
    return head.lstrip("\ufeff \t\r\n").startswith(("{", "[")) and all(n in head for n in needles)
