"""Words shared by several steps of the flow (the timeline, the analyses, the document): how a status
update reads in chat, and how people say in chat that a milestone happened (acknowledged, declared, mitigated,
resolved). Kept low in the tree so that no step has to import another step's module for them."""

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
    ("update", r"^\W*(?:status\s+)?update\s*(?:#\s*\d+|\d+)?\s*[:\-—–]|^\W*update\s+on\b|\bupdate\s*#\s*\d+"),
)
STATUS_UPDATE = "(?im)" + "|".join(f"(?:{p})" for _, p in UPDATE_FORMS)
PAGERDUTY_STATUS_UPDATE = r"status_update_published|incident_status_update"

# --- how people say a milestone happened, in chat -------------------------------------------------------------
# Each milestone has words that say it happened and words that take it back: a negation right before the word
# ("not resolved yet", "isn't back to normal"), a short question ending on it ("is it resolved?", "should we
# declare a SEV2?") or a hedge ("should be back to normal soon", "once resolved", "before closing the incident").
# A message counts when it says the milestone and takes none of it back (analysis.milestones.chat_says).
# The patterns are Rust regex syntax (polars): no look-around, so the two lists are matched separately.
_APOS = "['’]"
_SEV = r"\b(?:sev\s*-?\s*[0-4]|p-?[0-4])\b"
_QUESTION = r"[^.!?\n]{0,16}\?"  # the word, then a question mark a few words later in the same sentence
_NOT = rf"(?:\b(?:not|never|no|nobody|no\s+one|nothing)|n{_APOS}t)\s+"
_HEDGE = (
    r"\b(?:will|should|would|could|might|may|can|once|when|until|till|if|unless|before|hope|hopefully|expect\w*"
    r"|ready\s+to|about\s+to|plan\s+to|going\s+to|gonna|eta\s+(?:for|to)|need\s+to|needs\s+to|to)\s+"
)
_FILLER = (
    rf"(?:(?:we|i|it|this|things|be|been|get|is|are|has|have|fully|officially|yet|quite|really|completely|all|"
    rf"even|an?|the|going\s+to|gonna|worth|it{_APOS}s|we{_APOS}re)\s+)*"
)


def _any(*patterns: str) -> str:
    return "(?im)" + "|".join(f"(?:{p})" for p in patterns)


ACK_WORDS = (
    r"\back(?:ed|s|nowledg\w*)?\b",
    r"\bon\s+it\b",
    r"\blooking\s+into\b",
    r"\blooking\s+(?:at\s+(?:it|this)|now)\b",
    r"\binvestigating\b",
    rf"\bi(?:{_APOS}ve|\s+have)?\s+got\s+(?:it|this)\b",
    rf"\b(?:taking|i{_APOS}ll\s+take|having)\s+a\s+look\b",
    r"\btaking\s+(?:this|it)\b",
    r"\beyes\s+on\s+(?:it|this)\b",
)
ACK_TAKEN_BACK = (
    _NOT + _FILLER + r"(?:ack\w*|on\s+it|looking|investigating|got\s+(?:it|this))",
    r"\b(?:please|pls|plz|can|could|need|needs)\s+(?:someone\s+|somebody\s+|anyone\s+|you\s+|an?\s+|@\S+\s+)?"
    r"(?:ack\w*|take\s+a\s+look|look\s+into)",
    r"\b(?:ack\w*|on\s+it|looking\s+(?:into|at)|investigating|got\s+(?:it|this))" + _QUESTION,
    rf"\bwho(?:{_APOS}s|\s+is)?\s+(?:on\s+it|looking|investigating|taking)\b",
    r"\bsyn[-/]ack\b",
)

DECLARE_WORDS = (
    r"\bincident\s+declared\b",
    r"\bdeclar\w*\b[^\n]*(?:\bincident\b|" + _SEV + ")",
    _SEV + r"[^\n]*\bdeclared\b",
    r"\bclassified\s+as\s+(?:an?\s+)?" + _SEV,
    r"\bseverity\s*(?:is|set\s+to|:|=)\s*" + _SEV,
    r"\bthis\s+is\s+(?:now\s+)?(?:an?\s+)?" + _SEV,
    rf"\b(?:i{_APOS}m|i\s+am|i{_APOS}ll\s+be|i\s+will\s+be|taking|assuming)\s+(?:the\s+)?(?:ic|incident\s+command(?:er)?)\b",
    r"\b(?:starting|opening|open|start|kicking\s+off|spinning\s+up|raising|opened|started)\s+(?:an?|the)\s+(?:\w+\s+)?"
    r"incident\b",
    r"\b(?:upgrad|escalat|bump|rais)\w*\s+(?:this\s+|it\s+)?to\s+(?:an?\s+)?" + _SEV,
    r"\bwe\s+have\s+an?\s+(?:\w+\s+)?incident\b",
)
DECLARE_TAKEN_BACK = (
    _NOT + _FILLER + r"(?:declar\w*|incident\b|ic\b|" + _SEV + ")",
    r"\bno\s+(?:need|reason)\s+to\s+declare",
    r"(?:\bdeclar\w*|\bincident\b|\bic\b|" + _SEV + ")" + _QUESTION,
    r"\b(?:should|shall|do|could|would|might)\s+(?:we|i)\s+(?:\w+\s+){0,2}(?:declar|start|open)",
    rf"\b(?:will|{_APOS}ll|going\s+to|gonna|might|may|could|would)\s+(?:probably\s+)?(?:need\s+to\s+)?declare",
    r"\bif\s+(?:\S+\s+){0,6}declar",
    r"\bincident\s+(?:review|retro\w*|postmortem|report|template|doc\w*)\b",
)

MITIGATE_WORDS = (
    r"\bmitigated\b",
    r"\bmitigation\s+(?:is\s+)?(?:in\s+place|complete|applied|done|worked|successful|holding)\b",
    r"\bback\s+(?:to|at|within|under)\s+(?:the\s+)?(?:[\d.]+\s*%\s+)?(?:normal|baseline|nominal|green"
    r"|(?:pre-?incident|usual|expected|normal)\s+levels?)\b",
    r"\brecovered\b",
    r"\b(?:service|services|traffic|api|site|everything|payments|checkout|it|errors?|error\s+rates?|latency)\s+"
    r"(?:is\s+|are\s+|has\s+|have\s+|now\s+|fully\s+)*(?:restored|back\s+up|healthy\s+again|stable\s+again|normal\s+again)\b",
    r"\b(?:errors?|5xx|failures?|impact)\s+(?:have\s+|has\s+)?(?:stopped|ended|gone|cleared|subsided)\b",
    r"\bimpact\s+(?:is\s+)?over\b",
    r"\bno\s+(?:more|new)\s+(?:errors|5xx|failures)\b",
    r"\b(?:green|healthy)\s+again\b",
    r"\bstatus\s*[*_]*\s*:\s*[*_]*\s*(?:mitigated|monitoring|recovered)\b",
)
MITIGATE_TAKEN_BACK = (
    _NOT + _FILLER + r"(?:mitigat\w*|recover\w*|back\b|restored|stable|healthy|normal)",
    r"\b(?:mitigat\w*|recover\w*|back\s+to\s+\w+|restored|normal|baseline)" + _QUESTION,
    _HEDGE + _FILLER + r"(?:mitigat\w*|recover\w*|back\s+to\s+(?:normal|baseline)|restored)",
    r"\brecover\w*\s+(?:the|a|an|some|all|those|these|our|from\s+backups?)\b",
    r"\bpartially\s+(?:mitigated|recovered|restored)\b",
)

RESOLVE_WORDS = (
    r"\bincident\s+(?:is\s+|has\s+been\s+|now\s+|officially\s+)*(?:resolved|closed|over)\b",
    r"\bresolved\b[^\n]*\bincident\b",
    r"\b(?:inc|incident)[-\s#]*[\w-]*\d[\w-]*\s+(?:is\s+|has\s+been\s+|now\s+)*(?:resolved|closed)\b",
    r"^\W*resolved\b",
    r"\bclos(?:e|ed|ing)\s+(?:out\s+)?(?:the|this|our)\s+(?:incident|inc\b|sev|page|bridge)",
    r"\bclosing\s+(?:it|this)\s+out\b",
    r"\ball[\s-]+clear\b",
    r"\bstatus\s*[*_]*\s*:\s*[*_]*\s*(?:resolved|closed)\b",
    r"\bmark(?:ed|ing)?\s+(?:it\s+|this\s+|the\s+incident\s+)?(?:as\s+)?resolved\b",
    rf"\b(?:we|it|this|issue|problem|outage)\s*(?:{_APOS}re|{_APOS}s|\s+are|\s+is|\s+has\s+been|\s+have\s+been)\s+"
    r"(?:now\s+|fully\s+|officially\s+)*resolved\b",
    r"\b(?:fully|now)\s+resolved\b",
    r"\bresolving\s+(?:the|this)\s+(?:incident|page)\b",
    r"\bstand(?:ing)?\s+down\b",
)
RESOLVE_TAKEN_BACK = (
    _NOT + _FILLER + r"(?:resolv\w*|clos\w*|over\b|clear\b|standing\s+down)",
    r"\b(?:resolv\w*|clos\w*|clear|over|stand\w*\s+down)" + _QUESTION,
    _HEDGE + _FILLER + r"(?:resolv\w*|clos(?:e|ed|ing)\b|all[\s-]+clear|stand\s+down)",
    r"\bkeep(?:ing)?\s+(?:the\s+incident\s+|it\s+|this\s+)open\b",
    r"\bre-?open\w*",
)

# milestone -> (the words that say it, the words that take it back), as two regexes
MILESTONE_CHAT: dict[str, tuple[str, str]] = {
    "acknowledged": (_any(*ACK_WORDS), _any(*ACK_TAKEN_BACK)),
    "declared": (_any(*DECLARE_WORDS), _any(*DECLARE_TAKEN_BACK)),
    "mitigated": (_any(*MITIGATE_WORDS), _any(*MITIGATE_TAKEN_BACK)),
    "resolved": (_any(*RESOLVE_WORDS), _any(*RESOLVE_TAKEN_BACK)),
}

# --- decisions taken in chat (the curated timeline keeps them) -------------------------------------------------
# A decision is a person saying the team will now do one of the moves that change an incident's course: roll back,
# revert, fail over, declare, escalate, page someone. It is said as a decision ("Decision: roll back to v2.14.2",
# "we decided to revert"), a commitment ("let's roll back", "we'll fail over to eu-west", "I'm paging the DBA"), an
# imperative opening a sentence ("Roll back now.", "Page the database on-call") or an action started ("rolling
# back: `gh workflow run ...`", "we're failing over"). A question, a negation or a condition takes it back
# ("should we roll back?", "not rolling back yet", "if it isn't back by 14:48 we'll roll back"), and so does the
# move reported as a state ("rollback complete", "the revert is done"): that is an outcome, not a decision.
# who is paged: a handle, a team or rota, someone ("page the DBA", "paging @db-oncall"), never "the status page"
_PAGED = (
    r"(?:in\s+|out\s+)?(?:@\S+|someone|somebody|them|(?:the\s+|an?\s+)?(?:[\w-]+\s+)?(?:on[-\s]?call|team|dba|sre|owner"
    r"|lead|manager|ic|primary|secondary|expert|vendor|support|engineer)\b)"
)
_MOVE = (
    r"(?:roll(?:ing|ed)?[\s-]*back|rollback|revert(?:ing|ed)?|fail(?:ing|ed)?[\s-]*over|failover|"
    r"escalat(?:e|ing|ed)|pag(?:e|ing|ed)\s+"
    + _PAGED
    + r"|declar(?:e|ing|ed)|invok(?:e|ing)\s+(?:the\s+)?(?:dr|disaster)|"
    r"freez(?:e|ing)\s+(?:all\s+)?(?:deploys|deployments|releases)|pull(?:ing)?\s+the\s+release)"
)
_MOVE_ACTION = (
    r"(?:rolling[\s-]*back|reverting|failing[\s-]*over|escalating|paging\s+"
    + _PAGED
    + r"|declaring|invoking\s+(?:the\s+)?dr"
    r"|freezing\s+(?:all\s+)?(?:deploys|deployments|releases))"
)
_MOVE_IMPERATIVE = (
    r"(?:roll\s+(?:it\s+|this\s+|that\s+)?back|rollback|revert|fail\s*over|escalate|page\s+"
    + _PAGED
    + r"|declare|invoke\s+(?:the\s+)?dr"
    r"|freeze\s+(?:all\s+)?(?:deploys|deployments|releases))"
)
DECISION_WORDS = (
    r"\bdecision\s*[:\-—–]",
    r"\b(?:decided|deciding|the\s+call\s+is|calling\s+it)\s*(?:to|:|,)?\s+(?:\w+\s+){0,2}?" + _MOVE,
    rf"(?:\blet{_APOS}?s|\bwe{_APOS}ll|\bwe\s+will|\bwe\s+(?:are|{_APOS}re)\s+going\s+to|\bwe\s+need\s+to|\bi{_APOS}ll"
    rf"|\bi\s+will|\bi{_APOS}m\s+going\s+to|\bgoing\s+to|\bgo(?:ing)?\s+ahead\s+(?:and|with)|\bproceed(?:ing)?\s+with"
    rf"|\btime\s+to|\bplan\s+is\s+to|\bapproved?\s*:?)\s+(?:\w+\s+){{0,2}}?" + _MOVE,
    rf"\b(?:we{_APOS}re|we\s+are|i{_APOS}m|i\s+am|now|starting|start)\s+(?:\w+\s+)?" + _MOVE_ACTION,
    r"^\W*" + _MOVE_ACTION + r"\b",
    r"(?:^|[.!;]\s+)\W*(?:please\s+|ok(?:ay)?[,.]?\s+)?" + _MOVE_IMPERATIVE + r"\b",
)
DECISION_TAKEN_BACK = (
    _MOVE + _QUESTION,
    r"\b(?:should|shall|could|can|do|would|must)\s+(?:we|i)\b[^\n?]*\?",
    _NOT + _FILLER + r"(?:\w+\s+){0,2}?" + _MOVE,
    rf"\b(?:don{_APOS}t|do\s+not|won{_APOS}t|no\s+need\s+to|hold\s+off\s+on|hold\s+off)\s+(?:\w+\s+){{0,2}}?" + _MOVE,
    r"\b(?:if|unless|in\s+case|otherwise)\b[^.\n]*" + _MOVE,
    _MOVE + r"\s+(?:\S+\s+){0,3}?(?:is|was|has\s+been|are)?\s*(?:complete|completed|done|finished|succeeded|"
    r"successful|in\s+progress|progressing|safe|underway|rejected|failed)\b",
)
DECISION = _any(*DECISION_WORDS)
DECISION_NOT = _any(*DECISION_TAKEN_BACK)


# An action item is done when its status is one of these words (case-insensitive); every other status is open.
# One rule for the document's checklist, the portfolio's completion and `pmkit actions`.
DONE_STATUSES = frozenset({"done", "closed", "complete", "completed", "resolved", "fixed"})


def is_done(status: str | None) -> bool:
    """Whether an action item's status says it is done (:data:`DONE_STATUSES`, case-insensitive)."""
    return str(status or "").strip().lower() in DONE_STATUSES
