"""Words shared by several steps of the flow (the timeline, the analyses, the document): how a status
update reads in chat. Kept low in the tree so that no step has to import another step's module for them."""

from __future__ import annotations

_STATES = r"(?:investigating|identified|monitoring|mitigated|resolved)"
UPDATE_FORMS: tuple[tuple[str, str], ...] = (
    ("header", r"\[\s*(?:sev|p)\s*-?\s*\d\s*\][^\n]*\bupdate\b"),
    ("incident update", r"\bincident\s+update\b"),
    ("declared", r"\bincident\s+declared\b"),
    ("resolved", r"\bincident\s+resolved\b|^\W*resolved\s*:"),
    ("mitigation", r"\bmitigation\s+in\s+progress\b"),
    ("status", r"\bstatus\s*[*_]*\s*:\s*[*_]*\s*" + _STATES + r"\b"),
    ("next update", r"\bnext\s+update\b|\b(?:provide|post|send|share)\s+(?:an?\s+)?updates?\s+(?:(?:with)?in|every)\b"),
    (
        "status page",
        r"\bstatus\s*page\b[^\n]*\b(?:updated|posted)\b|^\W*posted\s*:|\bwe\s+are\s+currently\s+"
        r"(?:investigating|experiencing)\b|\bissues?\s+with\b[^\n]*\bha(?:ve|s)\s+been\s+resolved\b",
    ),
    ("update", r"^\W*update\s*(?:#\s*\d+|\d+)?\s*[:\-—–]|^\W*update\s+on\b|\bupdate\s*#\s*\d+"),
)
STATUS_UPDATE = "(?im)" + "|".join(f"(?:{p})" for _, p in UPDATE_FORMS)
PAGERDUTY_STATUS_UPDATE = r"status_update_published|incident_status_update"
