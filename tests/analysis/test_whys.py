"""The 5 Whys scaffold: pre-filled from evidence, filled by the author, TODO where empty."""

from __future__ import annotations

import json

import pytest

from pmkit.analysis.whys import (
    CHECK_QUESTION,
    ROOT_CAUSE_CATEGORIES,
    Category,
    FiveWhys,
    category_scores,
    suggest_category,
)
from pmkit.report.document import whys_markdown
from pmkit.report.notebook import to_html
from pmkit.spec import parse_spec

# seeds/004, "Blameless postmortem (5 whys)", INC-2025-0142
SEED_WHYS = [
    {
        "why": "Why did payments fail?",
        "answer": "Connection pool exhausted, no connections available for new requests.",
        "would_still_happen": True,
    },
    {
        "why": "Why was the connection pool exhausted?",
        "answer": "Max connections set to 5 instead of 50 in v2.14.3.",
        "would_still_happen": True,
    },
    {
        "why": "Why was it set to 5?",
        "answer": "Environment variable `DB_MAX_CONNS` was changed from `50` to `5`\n"
        "(typo during config refactor, intended to set `DB_MAX_IDLE_CONNS` to `5`).",
        "would_still_happen": True,
    },
    {
        "why": "Why wasn't the typo caught?",
        "answer": "No integration test validates connection pool behavior under load.\n"
        "Code review approved the change — env var names are similar and easy to confuse.",
        "would_still_happen": True,
    },
    {
        "why": "Why didn't canary catch it before full rollout?",
        "answer": "Canary only checks HTTP 200 rate, not downstream dependency health.\n"
        "Low traffic during canary window didn't exhaust the 5-connection pool.",
        "would_still_happen": False,
    },
]

SEED_MARKDOWN = """## 5 Whys Analysis

1. **Why did payments fail?**
   → Connection pool exhausted, no connections available for new requests.

2. **Why was the connection pool exhausted?**
   → Max connections set to 5 instead of 50 in v2.14.3.

3. **Why was it set to 5?**
   → Environment variable `DB_MAX_CONNS` was changed from `50` to `5`
   (typo during config refactor, intended to set `DB_MAX_IDLE_CONNS` to `5`).

4. **Why wasn't the typo caught?**
   → No integration test validates connection pool behavior under load.
   Code review approved the change — env var names are similar and easy to confuse.

5. **Why didn't canary catch it before full rollout?**
   → Canary only checks HTTP 200 rate, not downstream dependency health.
   Low traffic during canary window didn't exhaust the 5-connection pool.
"""


def test_seed_chain_renders_like_the_seed() -> None:
    whys = FiveWhys.scaffold("payments fail", authored=SEED_WHYS)
    assert whys_markdown(whys, hints=False, checks=False, category=False) == SEED_MARKDOWN
    assert whys.answered == 5
    assert whys.root_cause == SEED_WHYS[4]["answer"]
    assert whys.dig_deeper is False
    assert whys.todo == []
    assert whys.category == "Configuration"


def test_small_case_markdown_exact() -> None:
    whys = FiveWhys.scaffold(
        "checkout return 500s",
        signatures=["db pool timeout after <n>ms (new, 4,210 lines)", "upstream reset", "retry", "ignored 4th"],
        suspects=["deploy v2.14.3 to payments-api at 14:18 UTC (5 min before impact)", "config change at 13:00"],
        authored=[
            {"answer": "The database pool timed out.", "would_still_happen": True},
            {"why": "Why did the pool time out?", "answer": "Max connections was 5.", "would_still_happen": True},
        ],
        depth=3,
    )
    assert whys_markdown(whys) == (
        "## 5 Whys Analysis\n"
        "\n"
        "1. **Why did checkout return 500s?**\n"
        "   → The database pool timed out.\n"
        "   - _If we fix this, would the incident still have happened?_ yes: dig deeper\n"
        "   - _Evidence:_ log signature: db pool timeout after <n>ms (new, 4,210 lines)\n"
        "   - _Evidence:_ log signature: upstream reset\n"
        "   - _Evidence:_ log signature: retry\n"
        "\n"
        "2. **Why did the pool time out?**\n"
        "   → Max connections was 5.\n"
        "   - _If we fix this, would the incident still have happened?_ yes: dig deeper (this is not the root cause yet)\n"
        "   - _Evidence:_ change suspect: deploy v2.14.3 to payments-api at 14:18 UTC (5 min before impact)\n"
        "\n"
        "> The last answer (level 2) would still have let the incident happen: dig deeper before calling it the "
        "root cause.\n"
        "\n"
        "**Root cause category (suggested):** Infrastructure\n"
    )


def test_empty_scaffold_prefills_only_the_first_question() -> None:
    whys = FiveWhys.scaffold("payments fail.", signatures=[], suspects=[], authored=[])
    assert len(whys.levels) == 5
    first = whys.levels[0]
    assert (first.question, first.prefilled, first.answer, first.would_still_happen) == (
        "Why did payments fail?",
        True,
        None,
        None,
    )
    assert all(lv.question is None and lv.answer is None for lv in whys.levels[1:])
    assert (whys.answered, whys.root_cause, whys.dig_deeper, whys.category) == (0, None, False, None)
    assert whys.todo[:4] == [
        "level 1: answer",
        "level 2: question",
        "level 2: answer",
        "level 3: question",
    ]  # no check to answer before an answer to check
    md = whys_markdown(whys)
    assert md.count("→ TODO") == 5
    assert "Root cause category" not in md


def test_authored_first_question_wins_and_why_symptom_is_kept() -> None:
    whys = FiveWhys.scaffold("payments fail", authored=[{"why": "Why did checkout break?"}])
    assert whys.levels[0].question == "Why did checkout break?"
    assert whys.levels[0].prefilled is False
    assert FiveWhys.scaffold("why is checkout slow").levels[0].question == "why is checkout slow?"


def test_more_than_five_authored_levels_are_kept() -> None:
    authored = [{"why": f"Why {i}?", "answer": f"because {i}", "would_still_happen": True} for i in range(7)]
    authored[-1]["would_still_happen"] = False
    whys = FiveWhys.scaffold("x", authored=authored)
    assert len(whys.levels) == 7
    assert whys.root_cause == "because 6"


def test_spec_whys_are_accepted() -> None:
    spec = parse_spec({"id": "X", "five_whys": SEED_WHYS[:3]})
    whys = FiveWhys.scaffold("payments fail", authored=spec.five_whys)
    assert whys.answered == 3
    assert whys.dig_deeper is True
    assert whys.levels[2].check_text(last=True) == "yes: dig deeper (this is not the root cause yet)"
    assert "dig deeper before calling it the root cause" in whys_markdown(whys)


def test_blank_answers_are_todo_not_text() -> None:
    whys = FiveWhys.scaffold("x", authored=[{"why": "Why?", "answer": "   "}])
    assert whys.levels[0].answer is None
    assert whys.answered == 0


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("A race condition in the retry logic dropped the lock", "Code bug"),
        ("The TLS certificate expired and the credential was not rotated", "Configuration"),
        ("Disk full on the primary node; CPU saturation on the replicas", "Infrastructure"),
        ("Corrupt records with a malformed payload after schema drift", "Data"),
        ("A bad deploy shipped an incompatible version without the migration", "Deployment"),
    ],
)
def test_suggest_category(text: str, category: str) -> None:
    assert suggest_category(text) == category


def test_suggest_category_none_and_ties() -> None:
    assert suggest_category("the moon was full") is None
    assert suggest_category("") is None
    # one hit each for Configuration ("config") and Deployment ("deploy"): the earlier category wins
    assert category_scores("config deploy")["Configuration"] == 1
    assert suggest_category("config deploy") == "Configuration"


def test_categories_are_the_seed_list_and_custom_ones_work() -> None:
    assert [c.name for c in ROOT_CAUSE_CATEGORIES] == [
        "Code bug",
        "Configuration",
        "Infrastructure",
        "Data",
        "Deployment",
    ]
    assert ROOT_CAUSE_CATEGORIES[1].examples == ("Wrong setting", "missing environment variable", "expired credential")
    custom = (
        Category(
            "Vendor",
            ("third-party outage",),
            (r"vendor\w*", r"stripe"),
        ),
    )
    assert suggest_category("Stripe had an outage", custom) == "Vendor"


def test_to_dict_and_html() -> None:
    whys = FiveWhys.scaffold("<b>pay</b> fail", authored=[{"answer": "a <script> in the DNS config"}])
    d = whys.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["levels"][0]["question"] == "Why did <b>pay</b> fail?"
    assert (d["answered"], d["category"]) == (1, "Configuration")
    out = to_html(whys)
    assert "<b>pay</b>" not in out
    assert "<script>" not in out
    assert "&lt;b&gt;pay&lt;/b&gt;" in out
    assert "1 of 1 answered" in out


def test_an_authored_chain_is_not_padded() -> None:
    """A 3-level chain stays 3 levels (it was padded to 5 with "TODO: ask why"); the policy note says what is missing."""
    whys = FiveWhys.scaffold("payments fail", authored=SEED_WHYS[:3])
    assert len(whys.levels) == 3
    md = whys_markdown(whys, min_levels=3)
    assert "TODO" not in md.replace("dig deeper", "")
    assert "\n4. " not in md
    two = whys_markdown(FiveWhys.scaffold("payments fail", authored=SEED_WHYS[:2]), min_levels=3)
    assert "> 2 of the 3 levels the policy asks for are answered (1 missing): `pmkit check` fails `five_whys`" in two


@pytest.mark.parametrize(
    "answer",
    ["TODO", "todo", "TODO: ask the DBA", "TBD", "FIXME", "XXX", "N/A", "?", "...", "-", "[fill in]", "<answer>"],
)
def test_placeholder_answers_are_not_answers(answer: str) -> None:
    whys = FiveWhys.scaffold("x", authored=[{"why": "Why?", "answer": answer}] * 5)
    assert whys.answered == 0
    assert whys.root_cause is None
    assert len(whys.todo) == 5  # an answer per level (the check waits for an answer)


@pytest.mark.parametrize("answer", ["Todos were lost from the queue", "N/A values overflowed the parser", "TBDs"])
def test_real_answers_that_start_like_a_placeholder(answer: str) -> None:
    assert FiveWhys.scaffold("x", authored=[{"why": "Why?", "answer": answer}]).answered == 1


def test_the_check_is_asked_on_the_root_cause_candidate_and_where_answered() -> None:
    """seeds/001's check decides whether to dig deeper: asked on the last answered level (TODO until
    answered) and wherever the author answered it; never a row of identical TODO prompts."""
    plain = FiveWhys.scaffold(
        "payments fail",
        authored=[
            {"answer": "Pool exhausted."},
            {"why": "Why?", "answer": "Max 5."},
            {"why": "Why 5?", "answer": "Typo."},
        ],
    )
    md = whys_markdown(plain, hints=False, category=False)
    assert md.count(CHECK_QUESTION) == 1
    assert f"   → Typo.\n   - _{CHECK_QUESTION}_ TODO" in md
    assert [t for t in plain.todo if "would it" in t] == ["level 3: would it still have happened?"]
    answered = FiveWhys.scaffold(
        "payments fail",
        authored=[
            {"answer": "Pool exhausted.", "would_still_happen": True},
            {"why": "Why?", "answer": "Max 5."},
            {"why": "Why 5?", "answer": "Typo.", "would_still_happen": False},
            {"why": "Why not caught?"},
        ],
    )
    md = whys_markdown(answered, hints=False, category=False)
    assert md.count(CHECK_QUESTION) == 2
    assert f"   → Pool exhausted.\n   - _{CHECK_QUESTION}_ yes: dig deeper" in md
    assert f"   → Typo.\n   - _{CHECK_QUESTION}_ no" in md
    assert not [t for t in answered.todo if "would it" in t]
    assert md.count("TODO") == 1  # level 4's answer
