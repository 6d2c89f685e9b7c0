"""The 5 Whys scaffold: the first question and evidence hints from the data, the rest by the author.

Definitions (also in docs/analyses.md):

- **Levels**: the levels the author wrote under ``five_whys:`` in incident.yaml, as many as
  there are (a 3-level chain stays 3 levels: how many the policy asks for is the ``five_whys``
  gate's finding, not padding). With none written, the scaffold has five empty levels to fill.
  Level 1's question is ``Why did <symptom>?`` unless the author wrote one; every other question
  and every answer comes from incident.yaml. pmkit never writes an answer.
- **Answered**: an answer that is neither empty nor a placeholder (:func:`is_placeholder`:
  ``TODO``, ``TODO: ...``, ``TBD``, ``FIXME``, ``XXX``, ``N/A``, ``?``, ``...``, ``-``, ``[fill in]``,
  ``<answer>``) answers its level.
- **Evidence hints**: the top three log signatures (new or surging during the impact) are
  attached to level 1, where the first answer usually lies; the top change suspect to level 2
  (what changed). Hints are evidence to weigh, not answers.
- **The check**: "If we fix this, would the incident still have happened?" (seeds/001, Step 3: "if
  yes, dig deeper") is the author's ``would_still_happen``. It is asked where it decides something
  (:meth:`FiveWhys.asks_check`): on the last answered level, the root cause candidate, where an
  unanswered check is ``TODO``, and on every level where the author answered it. A level above the
  last was dug past already, and a level not yet answered has nothing to check: neither carries a
  ``TODO`` for it (five identical prompts would pad the document). ``True`` says "yes: dig deeper",
  so on the last answered level it means the chain stopped at a symptom (``dig_deeper`` is true
  and the rendering says so).
- **Root cause** = the answer of the last answered level.
- **Categories** (seeds/002): Code bug, Configuration, Infrastructure, Data, Deployment, each
  with its examples. ``suggest_category`` counts keyword hits per category (whole words,
  case-insensitive, see ``CATEGORY_KEYWORDS``) and returns the category with most hits (ties go
  to the earlier category), or ``None`` when nothing matches. ``FiveWhys.category`` applies it to
  all the answers together. It is a suggestion for the author, never a finding.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

DEPTH = 5
CHECK_QUESTION = "If we fix this, would the incident still have happened?"
TODO = "TODO"
PLACEHOLDER = re.compile(
    r"^\s*(?:(?:todo|tbd|tba|fixme|xxx)\b.*|n/?a|-+|\?+|\.{2,}|…|\[[^\]]*\]|<[^>]*>)\s*\.?\s*$",
    re.IGNORECASE | re.DOTALL,
)


def is_placeholder(text: str | None) -> bool:
    """Nothing written: empty, or a placeholder (``TODO``, ``TODO: ask ops``, ``TBD``, ``N/A``, ``?``, ``[fill in]``)."""
    return text is None or not text.strip() or bool(PLACEHOLDER.match(text))


# Whole-word, case-insensitive regex fragments; a trailing \w* lets a stem match its forms.
CATEGORY_KEYWORDS: dict[str, tuple[str, ...]] = {
    "Code bug": (
        r"bug\w*",
        r"logic",
        r"race condition\w*",
        r"error handling",
        r"unhandled",
        r"null pointer",
        r"nil pointer",
        r"off-by-one",
        r"exception\w*",
        r"deadlock\w*",
        r"regression\w*",
        r"infinite loop",
        r"memory leak\w*",
        r"panic\w*",
    ),
    "Configuration": (
        r"config\w*",
        r"misconfig\w*",
        r"setting\w*",
        r"env var\w*",
        r"environment variable\w*",
        r"credential\w*",
        r"certificate\w*",
        r"secret\w*",
        r"feature flag\w*",
        r"flag\w*",
        r"parameter\w*",
        r"typo\w*",
        r"expired",
    ),
    "Infrastructure": (
        r"exhaust\w*",
        r"resource\w*",
        r"capacity",
        r"cpu",
        r"memory",
        r"disk\w*",
        r"network\w*",
        r"dns",
        r"dependenc\w*",
        r"node\w*",
        r"host\w*",
        r"hardware",
        r"load balancer\w*",
        r"saturat\w*",
        r"oom\w*",
        r"timeout\w*",
        r"timed out",
        r"outage of",
        r"provider",
    ),
    "Data": (
        r"data",
        r"corrupt\w*",
        r"schema drift",
        r"schema",
        r"volume",
        r"malformed",
        r"duplicate\w*",
        r"payload\w*",
        r"record\w*",
        r"backfill\w*",
    ),
    "Deployment": (
        r"deploy\w*",
        r"rollout\w*",
        r"release\w*",
        r"version\w*",
        r"v\d+(?:\.\d+)+",
        r"migration\w*",
        r"rollback\w*",
        r"canary",
        r"incompatib\w*",
        r"upgrade\w*",
    ),
}


@dataclass(frozen=True)
class Category:
    """A root-cause category, its examples (seeds/002) and the keywords that suggest it."""

    name: str
    examples: tuple[str, ...]
    keywords: tuple[str, ...] = ()

    @property
    def pattern(self) -> re.Pattern[str]:
        return _compile(self.keywords)


@functools.lru_cache(maxsize=64)
def _compile(keywords: tuple[str, ...]) -> re.Pattern[str]:
    if not keywords:
        return re.compile(r"(?!x)x")  # matches nothing
    return re.compile(r"(?i)(?<![\w-])(?:" + "|".join(keywords) + r")(?![\w-])")


ROOT_CAUSE_CATEGORIES: tuple[Category, ...] = tuple(
    Category(name, examples, CATEGORY_KEYWORDS[name])
    for name, examples in (
        ("Code bug", ("Logic error", "race condition", "missing error handling")),
        ("Configuration", ("Wrong setting", "missing environment variable", "expired credential")),
        ("Infrastructure", ("Resource exhaustion", "network issue", "dependency failure")),
        ("Data", ("Corrupt data", "unexpected volume", "schema drift")),
        ("Deployment", ("Bad deploy", "missing migration", "incompatible version")),
    )
)


def category_scores(text: str, categories: Iterable[Category] = ROOT_CAUSE_CATEGORIES) -> dict[str, int]:
    """Keyword hits per category in ``text`` (see ``CATEGORY_KEYWORDS``)."""
    return {c.name: len(c.pattern.findall(text or "")) for c in categories}


def suggest_category(text: str, categories: Iterable[Category] = ROOT_CAUSE_CATEGORIES) -> str | None:
    """The category with the most keyword hits in ``text``; ties go to the earlier one; ``None`` if none hit."""
    scores = category_scores(text, categories)
    best = max(scores.values(), default=0)
    return next((name for name, n in scores.items() if n == best), None) if best else None


@dataclass(frozen=True)
class WhyLevel:
    """One level: the question, the author's answer, the check, and evidence hints."""

    number: int
    question: str | None
    answer: str | None
    would_still_happen: bool | None
    hints: tuple[str, ...] = ()
    prefilled: bool = False

    @property
    def answered(self) -> bool:
        """An answer is written: not empty and not a placeholder such as ``TODO``."""
        return not is_placeholder(self.answer)

    def check_text(self, last: bool) -> str:
        """The check's answer in words."""
        if self.would_still_happen is None:
            return TODO
        if self.would_still_happen:
            return "yes: dig deeper (this is not the root cause yet)" if last else "yes: dig deeper"
        return "no"


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)


def _question(symptom: str) -> str:
    text = " ".join(symptom.split()).rstrip(" ?.!")
    if text.lower().startswith("why "):
        return text + "?"
    return f"Why did {text}?"


@dataclass(frozen=True)
class FiveWhys:
    """A 5 Whys chain: :meth:`scaffold` builds it from evidence and the author's answers."""

    symptom: str
    levels: tuple[WhyLevel, ...]
    categories: tuple[Category, ...] = ROOT_CAUSE_CATEGORIES

    @classmethod
    def scaffold(
        cls,
        symptom: str,
        signatures: list[str] | None = None,
        suspects: list[str] | None = None,
        authored: Iterable[Any] | None = None,
        categories: Iterable[Category] = ROOT_CAUSE_CATEGORIES,
        *,
        depth: int = DEPTH,
    ) -> FiveWhys:
        """Pre-fill the chain (see module docstring): the authored levels, never padded; ``depth`` empty levels
        when nothing is authored.

        ``authored`` holds ``five_whys`` items from incident.yaml (``pmkit.spec.Why`` or mappings
        with ``why``, ``answer``, ``would_still_happen``), in order. ``signatures`` and
        ``suspects`` are readable one-line descriptions, best first.
        """
        written = list(authored or [])
        n = len(written) or depth  # the author's levels as written; the empty scaffold has ``depth``
        hints: dict[int, tuple[str, ...]] = {
            1: tuple(f"log signature: {s}" for s in (signatures or [])[:3]),
            2: tuple(f"change suspect: {s}" for s in (suspects or [])[:1]),
        }
        levels = []
        for i in range(1, n + 1):
            item = written[i - 1] if i <= len(written) else None
            question = _field(item, "why") if item is not None else None
            question = question.strip() if isinstance(question, str) and not is_placeholder(question) else None
            prefilled = False
            if i == 1 and question is None and symptom.strip():
                question, prefilled = _question(symptom), True
            answer = _field(item, "answer") if item is not None else None
            answer = answer.strip() if isinstance(answer, str) and answer.strip() else None
            still = _field(item, "would_still_happen") if item is not None else None
            levels.append(WhyLevel(i, question, answer, still, hints.get(i, ()), prefilled))
        return cls(symptom=symptom, levels=tuple(levels), categories=tuple(categories))

    @property
    def answered(self) -> int:
        """How many levels have an answer."""
        return sum(lv.answered for lv in self.levels)

    @property
    def last_answered(self) -> WhyLevel | None:
        done = [lv for lv in self.levels if lv.answered]
        return done[-1] if done else None

    def asks_check(self, level: WhyLevel) -> bool:
        """Whether the check question is shown on ``level``: the author answered it there, or ``level``
        is the last answered one (the root cause candidate, where the check decides whether to dig deeper)."""
        return level.would_still_happen is not None or level is self.last_answered

    @property
    def root_cause(self) -> str | None:
        """The answer of the last answered level."""
        last = self.last_answered
        return last.answer if last else None

    @property
    def dig_deeper(self) -> bool:
        """True when the last answer would still have let the incident happen."""
        last = self.last_answered
        return bool(last and last.would_still_happen)

    @property
    def todo(self) -> list[str]:
        """What the author still has to write, one line per slot."""
        out = []
        for lv in self.levels:
            if lv.question is None:
                out.append(f"level {lv.number}: question")
            if not lv.answered:
                out.append(f"level {lv.number}: answer")
            if lv.would_still_happen is None and self.asks_check(lv):
                out.append(f"level {lv.number}: would it still have happened?")
        return out

    @property
    def category(self) -> str | None:
        """The suggested root-cause category, from all the answers."""
        return suggest_category(" ".join(lv.answer for lv in self.levels if lv.answer), self.categories)

    def to_dict(self) -> dict[str, Any]:
        return {
            "symptom": self.symptom,
            "levels": [
                {
                    "number": lv.number,
                    "question": lv.question,
                    "answer": lv.answer,
                    "would_still_happen": lv.would_still_happen,
                    "hints": list(lv.hints),
                    "prefilled": lv.prefilled,
                }
                for lv in self.levels
            ],
            "answered": self.answered,
            "root_cause": self.root_cause,
            "dig_deeper": self.dig_deeper,
            "category": self.category,
            "todo": self.todo,
        }
