"""Redaction of secrets and personal data (pmkit.redaction): each rule, a corpus, properties.

Secret values are built at run time from seeded random characters (``_tok``), so this file holds
no literal credential for a secret scanner to trip on, and each run uses the same values.
detect-secrets (a test dependency) is the reference: every secret it finds in the corpus must be
gone after ``redact``.
"""

from __future__ import annotations

import json
import math
import random
import re
import string
from collections.abc import Sequence
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sourcetest import scaled

from pmkit import redaction as R
from pmkit.redaction import EMAIL, IP, PHONE, REDACTED, redact, redact_frame

ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
B64URL = ALNUM + "_-"
HEX = "0123456789abcdef"
UPPER_DIGITS = string.ascii_uppercase + string.digits


def _tok(seed: int, alphabet: str, n: int) -> str:
    """A deterministic random token; retried until it has upper, lower and digit when the alphabet allows."""
    rng = random.Random(seed)
    while True:
        t = "".join(rng.choice(alphabet) for _ in range(n))
        need = [set(c) & set(alphabet) for c in (string.ascii_uppercase, string.ascii_lowercase, string.digits)]
        if all(set(t) & s for s in need if s):
            return t


def _entropy(s: str) -> float:
    return -sum(s.count(c) / len(s) * math.log2(s.count(c) / len(s)) for c in set(s))


# --- the corpus: (line, secret values that must be gone) ------------------------------------

AWS_ID = "AKIA" + _tok(1, UPPER_DIGITS, 16)
AWS_SECRET = _tok(2, B64, 40)
GH = "ghp_" + _tok(3, ALNUM, 36)
GH_PAT = "github_pat_" + _tok(4, ALNUM, 22) + "_" + _tok(5, ALNUM, 59)
SLACK_BOT = "xoxb-" + _tok(6, string.digits, 12) + "-" + _tok(7, string.digits, 13) + "-" + _tok(8, ALNUM, 24)
SLACK_HOOK_PATH = "T" + _tok(9, UPPER_DIGITS, 8) + "/B" + _tok(10, UPPER_DIGITS, 8) + "/" + _tok(11, ALNUM, 24)
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkphbmUgRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ." + _tok(12, B64URL, 43)
)
PEM_BODY = "\n".join(_tok(13 + i, B64, 64) for i in range(4))
PEM = f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----"
OPENSSH = "-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEAAAAA" + _tok(20, B64, 48)
STRIPE = "sk_" + "live_" + _tok(21, ALNUM, 24)
SENDGRID = "SG." + _tok(22, B64URL, 22) + "." + _tok(23, B64URL, 43)
GITLAB = "glpat-" + _tok(24, B64URL, 20)
NPM = "npm_" + _tok(25, ALNUM, 36)
TELEGRAM = "123456789:AA" + _tok(26, B64URL, 33)
HIGH = _tok(27, ALNUM, 40)
BASIC = "dXNlcjp" + _tok(28, ALNUM, 16)
COOKIE = _tok(29, ALNUM, 26)
AZURE = _tok(30, B64, 86) + "=="
PASSWORD = "Tr0ub4dor&3"
EMAIL_ADDR = "jane.doe@example.com"

SECRET_LINES: list[tuple[str, tuple[str, ...]]] = [
    (f"using access key {AWS_ID} for s3 sync", (AWS_ID,)),
    (f'aws_secret_access_key = "{AWS_SECRET}"', (AWS_SECRET,)),
    (f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}", (AWS_SECRET,)),
    (f"export aws key {AWS_ID} secret {AWS_SECRET}", (AWS_ID, AWS_SECRET)),
    (f"git clone https://x-access-token:{GH}@github.com/acme/payments.git", (GH,)),
    (f"GITHUB_TOKEN={GH} ./release.sh", (GH,)),
    (f"token {GH_PAT} expires in 30 days", (GH_PAT,)),
    (f'{{"token": "{SLACK_BOT}", "channel": "C024BE91L"}}', (SLACK_BOT,)),
    (f"posting to https://hooks.slack.com/services/{SLACK_HOOK_PATH}", (SLACK_HOOK_PATH,)),
    (f"GET /api/v1/me Authorization: Bearer {JWT}", (JWT,)),
    (f"session cookie jwt={JWT}; Path=/", (JWT,)),
    (f"loaded key:\n{PEM}\nok", (PEM_BODY, *PEM_BODY.split("\n"))),
    (f'{{"private_key": "{OPENSSH}"}}', (OPENSSH[40:],)),
    (f"charging with {STRIPE}", (STRIPE,)),
    (f"SENDGRID_API_KEY={SENDGRID}", (SENDGRID,)),
    (f"CI_JOB_TOKEN {GITLAB}", (GITLAB,)),
    (f"//registry.npmjs.org/:_authToken={NPM}", (NPM,)),
    (f"bot url https://api.telegram.org/bot{TELEGRAM}/sendMessage", (TELEGRAM,)),
    (f"request signed with {HIGH} at edge", (HIGH,)),
    (f"Authorization: Basic {BASIC}", (BASIC,)),
    (f"Cookie: sessionid={COOKIE}; csrftoken=abc", (COOKIE,)),
    (f"DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={AZURE};EndpointSuffix=core", (AZURE,)),
    (f"postgres://payments:{PASSWORD}@db-primary:5432/payments", (PASSWORD,)),
    (f"db_password: {PASSWORD}", (PASSWORD,)),
    (f'DB_PASSWORD="{PASSWORD}"', (PASSWORD,)),
    (f"connecting with password={PASSWORD} user=app", (PASSWORD,)),
    (f"page sent to {EMAIL_ADDR} by pagerduty", (EMAIL_ADDR,)),
]


@pytest.mark.parametrize(("line", "secrets"), SECRET_LINES, ids=[f"secret{i}" for i in range(len(SECRET_LINES))])
def test_corpus_secrets_are_gone(line: str, secrets: tuple[str, ...]) -> None:
    out = redact(line)
    for s in secrets:
        assert s not in out, f"{s!r} survived in {out!r}"
    assert REDACTED in out or EMAIL in out
    assert redact(out) == out


# detect-secrets as the reference ---------------------------------------------------------------


def _ds_findings(line: str) -> list[tuple[str, str]]:
    """Secrets detect-secrets' plugins report in ``line`` (thresholds and heuristic filters applied).

    The hex-entropy detector is left out: pmkit keeps hex identifiers (module docstring, rule 10).
    """
    ds = pytest.importorskip("detect_secrets")
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.filters import heuristic
    from detect_secrets.plugins.high_entropy_strings import HexHighEntropyString, HighEntropyStringsPlugin

    assert ds
    found = []
    for cls in get_mapping_from_secret_type_to_class().values():
        if cls is HexHighEntropyString:
            continue
        plugin = cls()
        eager = {"enable_eager_search": True} if isinstance(plugin, HighEntropyStringsPlugin) else {}
        for secret in plugin.analyze_line(filename="adhoc.txt", line=line, **eager):
            value = secret.secret_value or ""
            if isinstance(plugin, HighEntropyStringsPlugin) and (
                plugin.calculate_shannon_entropy(value) <= plugin.entropy_limit
            ):
                continue
            if (
                heuristic.is_sequential_string(value)
                or heuristic.is_potential_uuid(value)
                or heuristic.is_likely_id_string(value, line, plugin)
                or heuristic.is_templated_secret(value)
                or heuristic.is_not_alphanumeric_string(value)
            ):
                continue
            found.append((secret.type, value))
    return found


# lines whose secret detect-secrets does not report (pmkit goes further): cookies and emails have no
# detector, its keyword detector wants quotes in plain text, its URL rule no "&" in the password,
# and a 23-character Basic credential stays under its entropy limit
BEYOND_DETECT_SECRETS = {
    f"Cookie: sessionid={COOKIE}; csrftoken=abc",
    f"page sent to {EMAIL_ADDR} by pagerduty",
    f"Authorization: Basic {BASIC}",
    f"postgres://payments:{PASSWORD}@db-primary:5432/payments",
    f"db_password: {PASSWORD}",
    f"connecting with password={PASSWORD} user=app",
}


@pytest.mark.parametrize("line", [line for line, _ in SECRET_LINES], ids=[f"ds{i}" for i in range(len(SECRET_LINES))])
def test_detect_secrets_finds_nothing_after_redaction(line: str) -> None:
    before = _ds_findings(line)
    if line not in BEYOND_DETECT_SECRETS:
        assert before, f"detect-secrets finds no secret in {line!r}: the corpus line is not a reference secret"
    markers = (REDACTED, EMAIL, IP)
    after = [f for f in _ds_findings(redact(line)) if not any(m.strip("[]") in f[1] for m in markers)]
    assert after == []


# --- ordinary lines survive ----------------------------------------------------------------------

ORDINARY = [
    "Deployed payments-api v2.14.3 (sha 8749bd86da36494b79636ca72c4dfdd76eae4455) to production",
    "commit 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b Merge pull request #4211 from acme/config-refactor",
    "request_id=550e8400-e29b-41d4-a716-446655440000 status=502 duration_ms=30012",
    "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    '{"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7", "level": "error"}',
    '{"node_id": "MDE2OkRlcGxveW1lbnRTdGF0dXMzMDg4NTU5MjA2", "state": "success"}',
    "image sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 pulled",
    "pod payments-api-7d9f8b6c5d-x2x9k CrashLoopBackOff (restarts: 5)",
    '10.1.2.3 - - [15/Jun/2025:14:19:23 +0000] "POST /api/v1/payments/pay_usp2HxQ6y3lJC2 HTTP/1.1" 502 157 "-" '
    '"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"',
    "2025-06-15T14:23:01.734Z ERROR db pool exhausted: 5/5 connections in use, waited 30s (pool=payments)",
    "ALERT PaymentsAvailabilityBudgetBurn firing for payments-api (14.4x burn over 1h)",
    "PagerDuty incident Q2P7K4NX8W1ZRT acknowledged by Jane Doe",
    "ULID 01ARZ3NDEKTSV4RRFFQ69G5FAV queued; PD log entry R6XNGC35VF6U1TUSVIE2DWXD4Z",
    "Failed to renew lease for [DFSClient_NONMAPREDUCE_1537864556_1] for 30 seconds",
    "ssl.keystore.password = null",
    '{"password": null, "token": null, "max_tokens": 1024, "token_count": 3, "password_reset": true}',
    "kafka: ssl.key.password = [hidden]",
    "git remote git@github.com:acme/payments-api.git fetched",
    "Rollback to v2.14.2 completed in 4m 0s by the deploy bot",
    "SLO availability 99.9% over 30d: budget 43.2 min, consumed 51.5%",
    "std::vector<int> overflow at Cafe::Bar() 14:23:01",
    "user_id=cus_12345 tenant=acme-corp path=/v1/customers/cus_12345/subscriptions",
    "",
]


@pytest.mark.parametrize("line", ORDINARY, ids=[f"plain{i}" for i in range(len(ORDINARY))])
def test_ordinary_lines_survive(line: str) -> None:
    assert redact(line) == line


@pytest.mark.real
@pytest.mark.parametrize("system", ["HDFS", "Zookeeper", "Spark", "OpenSSH", "HealthApp", "Proxifier", "Apache"])
def test_loghub_logs_survive(real: Path, system: str) -> None:
    """Real logs (loghub 2k samples) hold no secrets: redaction leaves every line as it was."""
    lines = (real / "loghub" / system / f"{system}_2k.log").read_text(encoding="utf-8", errors="replace").splitlines()
    df = pl.DataFrame({"message": lines})
    out = redact_frame(df, ["message"])
    changed = df.with_columns(out.get_column("message").alias("after")).filter(pl.col("message") != pl.col("after"))
    assert changed.height == 0, changed.head(3).to_dicts()


@pytest.mark.real
def test_real_slack_export_file_tokens_are_redacted(real: Path) -> None:
    """The public Slack export carries file URLs with xoxe- access tokens: real secrets, all caught."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted((real / "slack").rglob("*.json")))
    assert "xoxe-" in text
    assert "xoxe-" not in redact(text)


# --- each rule ---------------------------------------------------------------------------------------

RULE_CASES = [
    # emails
    ("mail alice@example.com and bob.smith+ops@corp.example.co.uk", f"mail {EMAIL} and {EMAIL}"),
    ("https://alice@example.com/path", f"https://{EMAIL}/path"),
    # passwords in URLs
    ("https://user:pa55word@host.example.com/x", f"https://user:{REDACTED}@host.example.com/x"),
    ("redis://:s3cr3t@redis-0:6379/0", f"redis://:{REDACTED}@redis-0:6379/0"),
    # authorization headers
    ("Authorization: Bearer abc.def.ghi", f"Authorization: Bearer {REDACTED}"),
    ('{"authorization":"Basic dXNlcjpwYXNz"}', f'{{"authorization":"Basic {REDACTED}"}}'),
    ("proxy-authorization: Digest username=x, response=y", f"proxy-authorization: Digest {REDACTED}"),
    ("Set-Cookie: sid=abc123; HttpOnly", f"Set-Cookie: {REDACTED}"),
    ("sent bearer " + "q" * 10 + "W1" * 5 + " upstream", f"sent bearer {REDACTED} upstream"),
    # AWS
    (f"id {AWS_ID} used", f"id {REDACTED} used"),
    (f"aws secret: {AWS_SECRET}.", f"aws secret: {REDACTED}."),
    # GitHub / GitLab
    (f"push with {GH}", f"push with {REDACTED}"),
    ("x " + "ghs_" + _tok(40, ALNUM, 36), f"x {REDACTED}"),
    (f"pat {GH_PAT}", f"pat {REDACTED}"),
    (f"t={GITLAB}", f"t={REDACTED}"),
    # Slack
    (f"slack {SLACK_BOT}", f"slack {REDACTED}"),
    (f"<https://hooks.slack.com/services/{SLACK_HOOK_PATH}>", f"<https://hooks.slack.com/services/{REDACTED}>"),
    # JWT
    (f"jwt={JWT}&x=1", f"jwt={REDACTED}&x=1"),
    # private keys
    (f"k {PEM} end", f"k {REDACTED} end"),
    ('{"k": "-----BEGIN EC PRIVATE KEY-----\\nMHcCAQEEI' + "A" * 40 + '"}', f'{{"k": "{REDACTED}"}}'),
    ("PuTTY-User-Key-File-2: ssh-rsa\nPrivate-Lines: 2\nAAAA\nBBBB\nPrivate-MAC: 0a1b2c", REDACTED),
    # other providers
    (f"stripe {STRIPE}", f"stripe {REDACTED}"),
    (f"sg {SENDGRID}", f"sg {REDACTED}"),
    (f"npm {NPM}", f"npm {REDACTED}"),
    (f"AccountKey={AZURE};x", f"AccountKey={REDACTED};x"),
    # generic assignments
    ("password=hunter2 user=bob", f"password={REDACTED} user=bob"),
    ("secret: s3cr3t", f"secret: {REDACTED}"),
    ("?api_key=abc123&page=2", f"?api_key={REDACTED}&page=2"),
    ("x-api-key: 0123456789abcdef0123456789abcdef", f"x-api-key: {REDACTED}"),
    ('clientSecret="a b c"', f'clientSecret="{REDACTED}"'),
    ("{'token': 'tok-1'}", f"{{'token': '{REDACTED}'}}"),
    ('"{\\"password\\": \\"p4ss\\"}"', f'"{{\\"password\\": \\"{REDACTED}\\"}}"'),
    ("DB_PASS => hunter2", f"DB_PASS => {REDACTED}"),
    ("auth_token: Bearer abc123", f"auth_token: Bearer {REDACTED}"),
    ("password: none; token=undefined", "password: none; token=undefined"),
    ("mysql --password=hunter2 -h db", f"mysql --password={REDACTED} -h db"),
    ("vault login --token s.abcdef123", f"vault login --token {REDACTED}"),
    # high entropy
    (f"sig {HIGH}", f"sig {REDACTED}"),
    (f'"{HIGH}=="', f'"{REDACTED}"'),
    (f"creds {AWS_SECRET} end", f"creds {REDACTED} end"),
    (f"trace_id={HIGH} session_id={HIGH}", f"trace_id={HIGH} session_id={REDACTED}"),
    (f"GET /reset/{HIGH}/confirm", f"GET /reset/{REDACTED}/confirm"),
]


@pytest.mark.parametrize(("text", "expected"), RULE_CASES, ids=[f"rule{i}" for i in range(len(RULE_CASES))])
def test_rule(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_rule_names_are_unique_and_documented() -> None:
    names = [r.name for r in R.rules(ips=True)]
    assert len(names) == len(set(names))
    doc = R.__doc__ or ""
    for name in R.RULE_NAMES:  # every public rule name has its paragraph, in bold
        assert f"**{name}**" in doc, name
    assert set(R.RULE_NAMES) == {r.rule for r in R.rules(ips=True) if r.counted} | {R.ENTROPY_RULE}


def test_hex_and_uuids_are_kept_but_a_named_hex_secret_is_not() -> None:
    sha = _tok(41, HEX, 40)
    assert redact(f"deploy {sha}") == f"deploy {sha}"
    assert redact(f"api_key={sha}") == f"api_key={REDACTED}"


def test_entropy_threshold_is_detect_secrets_limit() -> None:
    """Just above 4.5 bits per character is redacted, just below is kept."""
    rng = random.Random(7)
    above = below = None
    while above is None or below is None:
        t = "".join(rng.choice(ALNUM) for _ in range(24))
        if not (set(t) & set(string.digits) and set(t) & set(string.ascii_lowercase) and set(t) & set(UPPER_DIGITS)):
            continue
        h = _entropy(t)
        if 4.5 < h < 4.55 and any(c.isupper() for c in t):
            above = t
        elif 4.4 < h < 4.5 and any(c.isupper() for c in t):
            below = t
    assert redact(f"x {above} y") == f"x {REDACTED} y"
    assert redact(f"x {below} y") == f"x {below} y"


def test_shannon_entropy_matches_detect_secrets_formula() -> None:
    words = ["", "a", "aaaa", "abcd", HIGH, AWS_SECRET]
    got = pl.DataFrame({"w": words}).select(R.shannon_entropy(pl.col("w"))).to_series().to_list()
    assert got == pytest.approx([_entropy(w) if w else 0.0 for w in words])


def test_paths_are_judged_per_segment() -> None:
    long_path = "/api/v1/organizations/acme-corp/projects/checkout-service/deployments/1234/logs"
    assert redact(f"GET {long_path}") == f"GET {long_path}"
    font = "/presentations/css/fonts/" + _tok(42, B64URL, 43) + ".ttf"
    assert redact(font) == f"/presentations/css/fonts/{REDACTED}.ttf"  # documented: content hashes go too


# --- IPs ------------------------------------------------------------------------------------------------

IP_CASES = [
    ("client 10.0.0.1 to 192.168.1.254:8080", f"client {IP} to {IP}:8080"),
    ("v6 2001:db8::1 and [::1]:443 and fe80::1ff:fe23:4567:890a%eth0", f"v6 {IP} and [{IP}]:443 and {IP}"),
    ("full 2001:0db8:85a3:0000:0000:8a2e:0370:7334.", f"full {IP}."),
    ("mapped ::ffff:10.0.0.1 ok", f"mapped {IP} ok"),
    ("list ::1,::2,::3", f"list {IP},{IP},{IP}"),
]


@pytest.mark.parametrize(("text", "expected"), IP_CASES)
def test_ips_when_asked(text: str, expected: str) -> None:
    assert redact(text, ips=True) == expected
    assert redact(text) == text


@pytest.mark.parametrize(
    "text", ["at 14:23:01.123", "mac 00:1a:2b:3c:4d:5e", "std::vector and Foo::Bar", "version v1.2.3.4", "ratio 99.95"]
)
def test_ip_rule_leaves_lookalikes(text: str) -> None:
    assert redact(text, ips=True) == text


# --- extra patterns and arguments -------------------------------------------------------------------------


def test_extra_patterns() -> None:
    text = "db-primary.corp.acme.internal is slow"
    assert redact(text, extra_patterns=[r"\b[\w-]+(?:\.[\w-]+)*\.internal\b"]) == f"{REDACTED} is slow"


def test_bad_extra_pattern_is_named() -> None:
    with pytest.raises(ValueError, match=r"\(\?<=x\)"):
        redact("x", extra_patterns=["(?<=x)y"])
    with pytest.raises(TypeError, match="regex strings"):
        redact("x", extra_patterns=[3])  # type: ignore[list-item]


def test_redact_takes_text_only() -> None:
    with pytest.raises(TypeError, match="redact_frame"):
        redact(None)  # type: ignore[arg-type]


def test_lone_surrogates_do_not_raise() -> None:
    assert redact("a\ud800b password=x") == f"a\ufffdb password={REDACTED}"


# --- frames -----------------------------------------------------------------------------------------------


def _events() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "ts": [1, 2, 3],
            "message": [f"login by {EMAIL_ADDR}", None, f"token {GH}"],
            "actor": ["alice@example.com", "deploy-bot", None],
            "attrs": ['{"password": "x", "n": 1}', None, '{"sha": "8749bd86da36494b79636ca72c4dfdd76eae4455"}'],
            "origin": ["a.log:1", "a.log:2", f"{EMAIL_ADDR}.log:3"],
        }
    )


def test_redact_frame_default_columns() -> None:
    out = redact_frame(_events())
    assert out.get_column("message").to_list() == [f"login by {EMAIL}", None, f"token {REDACTED}"]
    assert out.get_column("actor").to_list() == [EMAIL, "deploy-bot", None]
    assert out.get_column("attrs").to_list() == [
        f'{{"password": "{REDACTED}", "n": 1}}',
        None,
        '{"sha": "8749bd86da36494b79636ca72c4dfdd76eae4455"}',
    ]
    assert out.get_column("origin").to_list() == _events().get_column("origin").to_list()  # not a redacted column
    assert out.get_column("ts").to_list() == [1, 2, 3]


def test_redact_frame_all_string_columns_and_missing_ones() -> None:
    out = redact_frame(_events(), columns=None)
    assert out.get_column("origin")[2] == f"{EMAIL}:3"  # example.com.log is a domain to the email rule
    assert redact_frame(_events(), columns=("message", "nope")).get_column("message")[0] == f"login by {EMAIL}"
    empty = _events().head(0)
    assert redact_frame(empty).equals(empty)


def test_redact_frame_rejects_non_string_columns() -> None:
    with pytest.raises(TypeError, match=r"ts \(Int64\)"):
        redact_frame(_events(), columns=("ts", "message"))
    with pytest.raises(TypeError, match="one string"):
        redact_frame(_events(), columns="message")


def test_redact_frame_keeps_attrs_json_valid() -> None:
    attrs = [
        '{"password": "x\\"y", "token": null, "headers": {"Authorization": "Bearer abcdefghijklmnop1234"}}',
        '{"payload": "{\\"api_key\\": \\"k-123\\"}", "n": 2}',
        '{"key": "-----BEGIN RSA PRIVATE KEY-----\\nMIIEow' + "A" * 30 + '"}',
    ]
    out = redact_frame(pl.DataFrame({"attrs": attrs}), ["attrs"])
    decoded = [json.loads(a) for a in out.get_column("attrs")]
    assert decoded[0]["token"] is None
    assert decoded[0]["headers"]["Authorization"] == f"Bearer {REDACTED}"
    assert "k-123" not in out.get_column("attrs")[1]


def test_sample_events_frame_is_redacted_without_damage(samples: Path) -> None:
    """INC-2025-0142's evidence: no email survives; deploy SHAs, ids and request lines are kept."""
    import pmkit

    events = pmkit.Incident.load(samples / "INC-2025-0142", cache=False).events
    out = redact_frame(events)
    assert out.shape == events.shape
    for col in ("message", "actor", "attrs"):
        assert not out.get_column(col).str.contains(R.EMAIL_RULE.pattern).any()
    changed = events.with_columns(out.get_column("attrs").alias("after")).filter(
        pl.col("attrs").ne_missing(pl.col("after"))
    )
    # attrs change only where personal data or secrets were: never on deploys' SHAs or node ids
    assert changed.filter(pl.col("kind") == "deploy").height == 0
    shas = events.filter(pl.col("kind") == "deploy").get_column("attrs").str.extract(r'"sha":\s*"([0-9a-f]{40})"', 1)
    assert shas.drop_nulls().len() > 0


# --- properties -----------------------------------------------------------------------------------------------

FRAGMENTS = [
    "password=",
    "token: ",
    '"secret": "',
    '\\"api_key\\": \\"',
    "Authorization: Bearer ",
    "Cookie: ",
    "https://",
    "://u:",
    "@",
    ".com",
    "eyJ",
    ".",
    "=",
    "==",
    "/",
    "//",
    '"',
    "'",
    "\\",
    " ",
    "\n",
    ":",
    "::",
    "[redacted]",
    "[email]",
    "[ip]",
    "null",
    "id=",
    "trace_id=",
    "session_id=",
    "-----BEGIN RSA PRIVATE KEY-----",
    "-----END RSA PRIVATE KEY-----",
    "AKIA",
    "ghp_",
    "xoxb-",
    "sk_live_",
    "10.0.0.1",
    "fe80::1",
    "git@",
    "\ufdd0",
]
chunk = st.one_of(
    st.sampled_from(FRAGMENTS),
    st.text(alphabet=B64 + "_-=", min_size=1, max_size=45),
    st.text(alphabet=HEX, min_size=1, max_size=40),
    st.text(max_size=8),
)
messy_text = st.lists(chunk, max_size=14).map("".join)


@settings(max_examples=scaled(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messy_text, st.booleans())
def test_redaction_is_idempotent(text: str, ips: bool) -> None:
    once = redact(text, ips=ips)
    assert redact(once, ips=ips) == once


@settings(max_examples=scaled(200), deadline=None)
@given(st.text(st.characters(exclude_categories=())), st.booleans())
def test_redaction_never_raises(text: str, ips: bool) -> None:
    assert isinstance(redact(text, ips=ips), str)


def _secret_strategy() -> st.SearchStrategy[str]:
    def high(t: str) -> bool:
        return (
            any(c.isupper() for c in t)
            and any(c.islower() for c in t)
            and any(c.isdigit() for c in t)
            and _entropy(t) > 4.6
        )

    return st.one_of(
        st.text(alphabet=UPPER_DIGITS, min_size=16, max_size=16).map(lambda s: "AKIA" + s),
        st.text(alphabet=ALNUM, min_size=36, max_size=40).map(lambda s: "ghp_" + s),
        st.tuples(
            st.text(alphabet=string.digits, min_size=10, max_size=12),
            st.text(alphabet=ALNUM, min_size=24, max_size=24),
        ).map(lambda p: f"xoxb-{p[0]}-{p[0]}-{p[1]}"),
        st.text(alphabet=B64URL, min_size=30, max_size=48).filter(high),
        st.text(alphabet=B64, min_size=40, max_size=40).filter(high),
        st.text(alphabet=string.ascii_lowercase, min_size=3, max_size=12).map(lambda u: f"{u}.{u}@example.org"),
    )


CONTEXTS = [
    "{} ",
    "x {} y",
    "password={}",
    'config {{"secret": "{}"}}',
    "see https://example.com/a/{}/b",
    "Authorization: Bearer {}",
    "x {}\nnext line",
]


@settings(max_examples=scaled(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_secret_strategy(), st.sampled_from(CONTEXTS), st.text(max_size=20), st.text(max_size=20), st.integers(1, 3))
def test_planted_secret_is_gone(secret: str, context: str, before: str, after: str, copies: int) -> None:
    assume(secret not in before + after)
    assume("/" not in secret or "/a/" not in context)  # in a URL path "/" separates segments
    # a run with a lower-case word segment is a path (rule 10): judged per segment, by design
    assume("/" not in secret or not any(re.fullmatch(r"[a-z][a-z_-]{2,}", seg) for seg in secret.split("/")))
    text = f"{before} | " + " ; ".join([context.format(secret)] * copies) + f" | {after}"
    out = redact(text)
    assert secret not in out
    # "grows back": removing the markers must not reassemble the secret from what was left around it
    for marker in (REDACTED, EMAIL):
        assert secret not in out.replace(marker, "")


@settings(max_examples=scaled(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.none(), messy_text), max_size=8))
def test_frame_equals_row_by_row(texts: list[str | None]) -> None:
    df = pl.DataFrame({"message": texts}, schema={"message": pl.String})
    got = redact_frame(df, ["message"]).get_column("message").to_list()
    assert got == [None if t is None else redact(t) for t in texts]


@settings(max_examples=scaled(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(messy_text.filter(bool), min_size=1, max_size=8))
def test_candidate_rows_are_a_superset(texts: list[str]) -> None:
    """The cheap row filter never skips a row the exact piece analysis would change."""
    s = pl.Series("s", texts)
    assert R._redact_entropy(s).to_list() == R._redact_pieces(s).to_list()


# --- the labelled corpus (tests/fixtures/redaction, made by make_corpus.py there) ----------------

CORPUS_DIR = Path(__file__).resolve().parent / "fixtures" / "redaction"
RECALL_TARGET, INTACT_TARGET = 0.99, 0.97


def _corpus() -> list[dict[str, str | None]]:
    lines = (CORPUS_DIR / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _luhn(number: str) -> bool:
    total = 0
    for i, d in enumerate(int(c) for c in reversed(number)):
        total += (d * 2 - 9 if d >= 5 else d * 2) if i % 2 else d
    return total % 10 == 0


def _iban_ok(value: str) -> bool:
    s = value.replace(" ", "")
    return int("".join(str(int(c, 36)) for c in s[4:] + s[:4])) % 97 == 1


def test_corpus_meets_the_targets() -> None:
    """The issue's targets: >= 99% of the secrets gone, >= 97% of the look-alikes (keeps) intact."""
    rows = _corpus()
    out = redact_frame(pl.DataFrame({"t": [r["text"] for r in rows]}), ["t"]).get_column("t").to_list()
    secrets = [(r, o) for r, o in zip(rows, out, strict=True) if r["secret"]]
    keeps = [(r, o) for r, o in zip(rows, out, strict=True) if r["keep"]]
    missed = [(r["kind"], r["text"]) for r, o in secrets if r["secret"] in o]
    damaged = [(r["kind"], o) for r, o in keeps if r["keep"] not in o]
    assert 1 - len(missed) / len(secrets) >= RECALL_TARGET, missed
    assert 1 - len(damaged) / len(keeps) >= INTACT_TARGET, damaged
    assert redact_frame(pl.DataFrame({"t": out}), ["t"]).get_column("t").to_list() == out  # idempotent


def test_corpus_shape_and_checksums() -> None:
    rows = _corpus()
    secrets = [r for r in rows if r["secret"]]
    assert len(rows) >= 300 and len(secrets) >= 150 and len(rows) - len(secrets) >= 120
    assert len({r["kind"] for r in secrets}) >= 40
    for r in rows:
        assert (r["secret"] or "") in r["text"] and (r["keep"] or "") in r["text"], r
    cards = [r["secret"] for r in secrets if r["kind"] == "credit-card"]
    ibans = [r["secret"] for r in secrets if r["kind"] == "iban"]
    assert len(cards) >= 10 and all(_luhn(re.sub(r"[ -]", "", c)) for c in cards)
    assert len(ibans) >= 8 and all(_iban_ok(i) for i in ibans) and len({i[:2] for i in ibans}) >= 6
    assert not any(_luhn(re.sub(r"[ -]", "", r["keep"] or "")) for r in rows if r["kind"] == "luhn-invalid")
    assert not any(_iban_ok(r["keep"] or "") for r in rows if r["kind"] == "iban-invalid")


def test_corpus_is_what_make_corpus_writes() -> None:
    """The corpus is generated (deterministic): editing the JSON by hand shows up here."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS_DIR / "make_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.to_jsonl(module.build()) == (CORPUS_DIR / "corpus.jsonl").read_text(encoding="utf-8")


# --- checked rules: cards, IBANs, phone numbers ------------------------------------------------


def test_luhn_expression_matches_the_reference() -> None:
    rng = random.Random(11)
    numbers = ["".join(rng.choice(string.digits) for _ in range(rng.randrange(12, 20))) for _ in range(3000)]
    got = pl.DataFrame({"n": numbers}).select(R.luhn_valid(pl.col("n"))).to_series().to_list()
    assert got == [_luhn(n) for n in numbers]
    assert sum(got) > 200  # both outcomes are exercised


def test_iban_expression_matches_the_reference() -> None:
    rng = random.Random(12)
    values = []
    for country, n in R.IBAN_LENGTHS.items():
        for _ in range(20):
            bban = "".join(rng.choice(string.digits + string.ascii_uppercase[:6]) for _ in range(n - 4))
            check = 98 - int("".join(str(int(c, 36)) for c in bban + country + "00")) % 97
            values.append(f"{country}{check:02d}{bban}")
            values.append(f"{country}{(check + rng.randrange(1, 97)) % 100:02d}{bban}")
    got = pl.DataFrame({"v": values}).select(R.iban_valid(pl.col("v"))).to_series().to_list()
    assert got == [_iban_ok(v) for v in values]
    assert 0 < sum(got) < len(got)


VISA = "4111111111111111"
MC = "5555555555554444"
AMEX = "378282246310005"
VISA19 = "4" + "0" * 17
VISA19 += str(
    (
        10
        - sum(
            (int(d) * 2 - 9 if int(d) >= 5 else int(d) * 2) if i % 2 == 0 else int(d)
            for i, d in enumerate(reversed(VISA19))
        )
    )
    % 10
)

CARD_CASES = [
    (
        f"{'2025-06-15'} ERROR payment failed for card 4111 1111 1111 1111",
        f"2025-06-15 ERROR payment failed for card {REDACTED}",
    ),
    ("card 5555-5555-5555-4444 declined", f"card {REDACTED} declined"),
    ("amex 3782 822463 10005, amex 3782-822463-10005", f"amex {REDACTED}, amex {REDACTED}"),
    (f'{{"pan":"{VISA}","exp":"12/27"}}', f'{{"pan":"{REDACTED}","exp":"12/27"}}'),
    (f"pan={MC}&amount=12.00", f"pan={REDACTED}&amount=12.00"),
    (f"19 digits {VISA19}.", f"19 digits {REDACTED}."),
]
CARD_KEPT = [
    "test number 4111 1111 1111 1112 rejected",  # fails Luhn
    "account 1234567812345670 (Luhn-valid, no issuer starts with 1)",
    "epoch_ms=1718459181734 ts_ns=1718459200123456789",
    "card ending 4242, masked 4111 **** **** 1111, bin 411111",
    f"x=0.{VISA} y={VISA}.25 z=7-{VISA}",  # parts of longer numbers
    f"blk_-{VISA19} v{VISA}",  # identifiers
    f"dd.trace_id={VISA19} span_id: {VISA}",  # values of id keys
    f"call +{VISA[:13]}",  # a plus sign: a phone number's digits, not a card
]


@pytest.mark.parametrize(("text", "expected"), CARD_CASES)
def test_card_numbers_with_a_valid_luhn_digit_go(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", CARD_KEPT)
def test_card_lookalikes_stay(text: str) -> None:
    assert redact(text, disable=("phone",)) == text


IBAN_CASES = [
    ("SEPA payout failed: IBAN DE89 3704 0044 0532 0130 00 rejected", f"SEPA payout failed: IBAN {REDACTED} rejected"),
    ('{"iban":"GB82WEST12345698765432"}', f'{{"iban":"{REDACTED}"}}'),
    ("refund to FR14 2004 1010 0505 0001 3M02 606.", f"refund to {REDACTED}."),
    ("iban=NL91ABNA0417164300 bic=ABNANL2A", f"iban={REDACTED} bic=ABNANL2A"),
    ("CH93 0076 2011 6238 5295 7 / BE68 5390 0754 7034", f"{REDACTED} / {REDACTED}"),
]
IBAN_KEPT = [
    "IBAN DE90 3704 0044 0532 0130 00 failed validation",  # check digits wrong
    "short DE89 3704 0044 0532 0130 0",  # one character short for Germany
    "lower case de89370400440532013000 is not how IBANs are written",
    "unknown country XX89370400440532013000",
    "glued DE89370400440532013000X",
]


@pytest.mark.parametrize(("text", "expected"), IBAN_CASES)
def test_ibans_with_valid_check_digits_go(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", IBAN_KEPT)
def test_iban_lookalikes_stay(text: str) -> None:
    assert redact(text, disable=("phone",)) == text


PHONE_CASES = [
    ("sms to +4915112345678 failed", f"sms to {PHONE} failed"),
    ("callback: +1 (415) 555-0132 (after 5pm)", f"callback: {PHONE} (after 5pm)"),
    ("+44 (0)20 7946 0958, +33 6 12 34 56 78", f"{PHONE}, {PHONE}"),
    ("on-call (415) 555-0199 / 415-555-0142 / 415.555.0174", f"on-call {PHONE} / {PHONE} / {PHONE}"),
    ("toll free 1-800-555-0199.", f"toll free {PHONE}."),
    ("Rückruf 030 23125678, mobil 0151 23456789", f"Rückruf {PHONE}, mobil {PHONE}"),
    ("tel: 06 12 34 56 78 / 07700 900123", f"tel: {PHONE} / {PHONE}"),
    ("<tel:+14155550132|call>", f"<tel:{PHONE}|call>"),
]
PHONE_KEPT = [
    "deploy window 2025-06-15 14:00-15:00",
    "at 2025-06-15T14:23:01.734Z and 14:23:01",
    "report for 06/15/2025, released 15.06.2025",
    "v2.14.3, 1.2.3.4567, python 3.11.9",
    "client 10.0.0.1 to 192.168.100.200:8080",
    "order 4155550132 and epoch 1718459200",  # no separators: could be anything
    "pod payments-api-7d9f8b6c5-x2k4q id-415-555-0132 x415-555-0132",
    "offset +0200, diff +1234 -567, +12 ms",
    "ext. 4021, room 0042, zip 94107",
    "ratio 0.5 0.25, amount 1 048 576 bytes",
    "amex 3782 055840 94843 (digit groups of a longer number)",
    "IBAN NL92 ABNA 0417 1643 00 failed validation",
]


@pytest.mark.parametrize(("text", "expected"), PHONE_CASES)
def test_phone_numbers_go(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", PHONE_KEPT)
def test_phone_lookalikes_stay(text: str) -> None:
    assert redact(text) == text


# --- look-alikes the issue named, URL passwords, session ids, provider shapes ----------------------

KEPT = [
    "charge ch_3MmlLrLkdIwHu7ix0snN0B15 failed, customer cus_NffrFeUfNV2Hib",
    "GET /v1/payment_intents/pi_3MtwBwLkdIwHu7ix28a3tqPa 200; evt_1NG8Du2eZvKYlo2CUI79vXWy delivered",
    "sub_1MowQVLkdIwHu7ixeRlqHVzs in_1MtHbELkdIwHu7ixl4OzzPMv price_1MoBy5LkdIwHu7ixZhnattbh prod_NWjs8kKbJWmuuc",
    "API_KEY=${API_KEY}",
    'env: {"DB_PASSWORD": "${DB_PASSWORD}", "token": "{{ .Values.slack.token }}"}',
    "export GITHUB_TOKEN=$GITHUB_TOKEN; password: <PASSWORD>; secret=%(secret)s",
    "Authorization: Bearer ${TOKEN}",
    "auth_token: Bearer ${{ secrets.DEPLOY_TOKEN }}",
    "postgres://app:${DB_PASSWORD}@db:5432/app",
    "--token $CI_JOB_TOKEN --url https://gitlab.example.com",
    "DB_PASSWORD=******** client_secret: REDACTED kafka.password = [hidden]",
    "botocore.credentials: Found credentials in environment variables.",
    "sessions: 1204 active, session_timeout=30m; sessionid 0x14ed93111f20005",
    '{"account_sid": "AC-not-a-session", "call_sid": "CA123"}',
    "https://registry.npmjs.org:443/@scope/pkg",
    "GET https://app.example.com/r/" + "Y2hlY2tvdXQtcGFnZS12Mi9wYXltZW50cy9vdmVydmlldw",  # base64 of a path
    "stripe.js loaded with pk_live_" + _tok(50, ALNUM, 24),
]


@pytest.mark.parametrize("text", KEPT, ids=[f"kept{i}" for i in range(len(KEPT))])
def test_lookalikes_the_issue_named_stay(text: str) -> None:
    assert redact(text) == text


SECRET_CASES = [
    ("postgres://u:p@ss/w#rd@db:5432/x", f"postgres://u:{REDACTED}@db:5432/x"),
    ("https://user:pass@word@host/x", f"https://user:{REDACTED}@host/x"),
    ("amqp://guest:gu:est/42@rabbit.svc:5672/%2f", f"amqp://guest:{REDACTED}@rabbit.svc:5672/%2f"),
    (
        "mongodb+srv://admin:Mongo$2025!@cluster0.ab1cd.mongodb.net/test",
        f"mongodb+srv://admin:{REDACTED}@cluster0.ab1cd.mongodb.net/test",
    ),
    ("GET /login?user=ops&password=Winter2025!&next=%2F", f"GET /login?user=ops&password={REDACTED}&next=%2F"),
    ("x?key=abc123&sig=AbC%2Bd%3D&v=2", f"x?key={REDACTED}&sig={REDACTED}&v=2"),
    ("Server=sql01;User Id=sa;Password=Mssql#2025;", f"Server=sql01;User Id=sa;Password={REDACTED};"),
    ("GET /cart;jsessionid=8F2C0A1B3D4E5F60?item=42", f"GET /cart;jsessionid={REDACTED}?item=42"),
    ("PHPSESSID=abcdef0123456789; connect.sid=s%3AaBc.dEf0123", f"PHPSESSID={REDACTED}; connect.sid={REDACTED}"),
    ('{"session_id":"tok-1"}', f'{{"session_id":"{REDACTED}"}}'),
    ("Authorization=Bearer abc123; User-Agent=curl/8", f"Authorization=Bearer {REDACTED}; User-Agent=curl/8"),
    ("use Basic " + "ZGVwbG95OnMzY3IzdA==" + " for staging", f"use Basic {REDACTED} for staging"),
    ("Basic authentication disabled", "Basic authentication disabled"),
    ("export PGPASSWORD=pg-secret && psql", f"export PGPASSWORD={REDACTED} && psql"),
    ("<password>Hunter2!</password>", f"<password>{REDACTED}</password>"),
    (
        "docker login -u ci -p Dkr123 registry; redis-cli -a 'R3dis!' ping",
        f"docker login -u ci -p {REDACTED} registry; redis-cli -a '{REDACTED}' ping",
    ),
    ("curl -u admin:Gr4f4na https://grafana", f"curl -u admin:{REDACTED} https://grafana"),
    ("X-Shopify-Access-Token: shpat_" + "0a" * 16, f"X-Shopify-Access-Token: {REDACTED}"),
    ("doctl auth init --access-token dop_v1_" + "ab" * 32, f"doctl auth init --access-token {REDACTED}"),
    ("vault token hvs." + _tok(51, ALNUM, 24) + " ok", f"vault token {REDACTED} ok"),
    ("maps key AIza" + _tok(52, B64URL, 35), f"maps key {REDACTED}"),
    ("twilio AC" + "0f" * 16 + " suspended", f"twilio {REDACTED} suspended"),
]


@pytest.mark.parametrize(("text", "expected"), SECRET_CASES, ids=[f"new{i}" for i in range(len(SECRET_CASES))])
def test_new_secret_rules(text: str, expected: str) -> None:
    assert redact(text) == expected


# --- configuration: disable, extra, allow, counts ---------------------------------------------------


def test_disable_by_name() -> None:
    text = f"call +4915112345678 card {VISA} mail jane@example.com password=x"
    assert (
        redact(text, disable=("phone", "credit-card"))
        == f"call +4915112345678 card {VISA} mail {EMAIL} password={REDACTED}"
    )
    assert (
        redact(text, disable=("email", "secret-assignment"))
        == f"call {PHONE} card {REDACTED} mail jane@example.com password=x"
    )
    assert redact(f"JSESSIONID={COOKIE}", disable=("session-id",)) == f"JSESSIONID={COOKIE}"
    assert redact(f"x {HIGH} y", config=R.Rules(disable={"entropy"})) == f"x {HIGH} y"
    with pytest.raises(ValueError, match=r"unknown redaction rule\(s\) nope; the rules are: private-key"):
        redact("x", disable=("nope",))
    with pytest.raises(TypeError, match="sequence of strings"):
        redact("x", disable="phone")  # type: ignore[arg-type]


def test_extra_rules() -> None:
    assert redact("ticket ACME-123456", extra=[r"\bACME-[0-9]+"]) == f"ticket {REDACTED}"
    rule = {"name": "customer", "pattern": r"\bCUST-[0-9]+", "replacement": "[customer]"}
    assert redact("by CUST-42", extra=[rule]) == "by [customer]"
    assert redact("by CUST-42", extra=[R.Rule("c", r"CUST-[0-9]+", "[c]")]) == "by [c]"
    with pytest.raises(ValueError, match="built-in rule's name"):
        R.Rules(extra=({"name": "phone", "pattern": "x"},))
    with pytest.raises(ValueError, match="expected keys pattern"):
        R.Rules(extra=({"regex": "x"},))


def test_allow_list() -> None:
    assert redact("password=hunter2 and token=abc", allow=["hunter2"]) == f"password=hunter2 and token={REDACTED}"
    text = "test card 4242 4242 4242 4242, real 4111 1111 1111 1111, support@acme.example, jane@example.com"
    got = redact(text, allow=["4242 4242 4242 4242", "support@acme.example"])
    assert got == f"test card 4242 4242 4242 4242, real {REDACTED}, support@acme.example, {EMAIL}"
    df = pl.DataFrame({"message": [text, None]})
    out = redact_frame(df, ["message"], config=R.Rules(allow=("support@acme.example",)))
    assert out.get_column("message").to_list() == [redact(text, allow=["support@acme.example"]), None]
    with pytest.raises(TypeError, match="non-empty strings"):
        R.Rules(allow=("",))


def test_rules_from_mapping() -> None:
    cfg = R.Rules.from_mapping(
        {"disable": ["phone"], "allow": ["x1"], "extra": [{"name": "t", "pattern": "T-[0-9]+"}], "ips": True}
    )
    assert cfg.disable == frozenset({"phone"}) and cfg.allow == ("x1",) and cfg.ips
    assert redact("T-1 at 10.0.0.1 tel +4915112345678", config=cfg) == f"{REDACTED} at {IP} tel +4915112345678"
    assert R.Rules.from_mapping(None) == R.Rules()
    with pytest.raises(ValueError, match="unknown redaction setting"):
        R.Rules.from_mapping({"disabled": ["phone"]})


def test_counts_per_rule() -> None:
    df = pl.DataFrame(
        {
            "message": [
                f"password=x token=y card {VISA} mail a.b@example.com",
                "Authorization: Bearer " + "a1B2" * 5 + " and sms +4915112345678",
                f"postgres://u:pw@db:5432/x ticket T-1 {HIGH}",
                None,
            ],
            "attrs": ['{"api_key": "k"}', None, "{}", "{}"],
        }
    )
    cfg = R.Rules(extra=({"name": "ticket", "pattern": r"\bT-[0-9]+"},))
    out, counts = R.redact_counts(df, ["message", "attrs"], cfg)
    assert out.equals(redact_frame(df, ["message", "attrs"], config=cfg))
    nonzero = {k: v for k, v in counts.items() if v}
    assert nonzero == {
        "secret-assignment": 3,
        "credit-card": 1,
        "email": 1,
        "authorization": 1,
        "phone": 1,
        "url-password": 1,
        "entropy": 1,
        "ticket": 1,
    }
    assert set(counts) >= set(R.RULE_NAMES) - {"ip"}  # every active rule, zeros too
    _, again = R.redact_counts(out, ["message", "attrs"], cfg)  # replays of a redaction are not counted
    assert not any(again.values())


# --- properties of the new rules ------------------------------------------------------------------------

CARD_PREFIXES = [
    ("4", 16),
    ("4", 13),
    ("4", 19),
    ("51", 16),
    ("55", 16),
    ("2221", 16),
    ("2720", 16),
    ("34", 15),
    ("37", 15),
]
CARD_PREFIXES += [("6011", 16), ("65", 16), ("644", 19), ("3528", 16), ("62", 17), ("36", 14)]


@st.composite
def luhn_cards(draw: st.DrawFn) -> str:
    prefix, n = draw(st.sampled_from(CARD_PREFIXES))
    body = prefix + draw(st.text(alphabet=string.digits, min_size=n - len(prefix) - 1, max_size=n - len(prefix) - 1))
    digits = body + next(d for d in string.digits if _luhn(body + d))
    if n == 16:
        sep = draw(st.sampled_from(["", " ", "-"]))
        return sep.join(digits[i : i + 4] for i in range(0, 16, 4))
    if n == 15 and draw(st.booleans()):
        sep = draw(st.sampled_from([" ", "-"]))
        return sep.join((digits[:4], digits[4:10], digits[10:]))
    return digits


CARD_CONTEXTS = ["{}", "card {} declined", '{{"pan": "{}", "exp": "12/27"}}', "pan={}&amount=12.00", "x\n{}\ny", "({})"]


@settings(max_examples=scaled(100), deadline=None)
@given(luhn_cards(), st.sampled_from(CARD_CONTEXTS), st.text(alphabet=string.ascii_letters + " ", max_size=20))
def test_planted_luhn_valid_card_is_gone(number: str, context: str, words: str) -> None:
    text = f"{words} | {context.format(number)} | {words}"
    out = redact(text)
    assert number not in out and re.sub(r"[ -]", "", number) not in re.sub(r"[ -]", "", out)
    assert redact(out) == out


NEW_FRAGMENTS = [
    "4111 1111 1111 1111",
    "4111111111111111",
    "5555-5555-5555-4444",
    "DE89 3704 0044 0532 0130 00",
    "GB82WEST12345698765432",
    "+4915112345678",
    "+1 (415) 555-0132",
    "030 23125678",
    "2025-06-15",
    "14:23:01",
    "10.0.0.1",
    "://u:",
    "p@ss/w#rd",
    "@db:5432/",
    "?password=",
    "&token=",
    "JSESSIONID=",
    "${API_KEY}",
    "{{ .Values.x }}",
    "Basic ",
    "ZGVwbG95OnMzY3IzdA==",
    "ch_3MmlLrLkdIwHu7ix0snN0B15",
    "[phone]",
    "\ufdd1",
    "\ufdd3",
]
new_text = st.lists(
    st.one_of(st.sampled_from(NEW_FRAGMENTS + FRAGMENTS), st.text(alphabet=string.digits + " -.+()", max_size=12)),
    max_size=12,
).map("".join)


@settings(max_examples=scaled(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(new_text, st.booleans())
def test_redaction_with_the_new_rules_is_idempotent(text: str, ips: bool) -> None:
    once = redact(text, ips=ips)
    assert redact(once, ips=ips) == once


@settings(max_examples=scaled(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.none(), new_text), min_size=1, max_size=8))
def test_gates_and_checks_equal_the_plain_passes(texts: list[str | None]) -> None:
    """Gated blocks skip only rows their rules cannot change; checked rules treat each row on its own."""
    import dataclasses

    s = pl.Series("m", texts, dtype=pl.String).str.replace_all(R._ANY_MARK, "")
    plan = R._plan(frozenset(), False, ())
    ungated = R._Plan(tuple(dataclasses.replace(step, gate="") for step in plan.steps))
    assert R._round(s, plan, None).to_list() == R._round(s, ungated, None).to_list()
    one_by_one = [None if t is None else R._round(pl.Series("m", [t]), plan, None).item() for t in s.to_list()]
    assert R._round(s, plan, None).to_list() == one_by_one


def test_the_union_prefilter_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A block of regex passes runs only on the rows one of its patterns matches (one scan with their union):
    the same text and the same counts as every pass over every (gated) row, secrets and look-alikes alike."""
    from pmkit import redaction

    texts = pl.DataFrame({"t": [r["text"] for r in _corpus()]})
    fast, fast_counts = redaction.redact_counts(texts, ["t"])

    def gate_only(s: pl.Series, block: Sequence[object]) -> pl.Series | None:
        gate = block[0].gate  # type: ignore[attr-defined]
        return s.str.contains(gate).fill_null(False) if gate else None

    monkeypatch.setattr(redaction, "_block_candidates", gate_only)
    slow, slow_counts = redaction.redact_counts(texts, ["t"])
    assert fast.equals(slow) and fast_counts == slow_counts
    assert sum(fast_counts.values()) > 100  # the corpus holds secrets: the prefilter had rows to keep


def test_a_repeating_column_is_redacted_once_per_value(monkeypatch: pytest.MonkeyPatch) -> None:
    """A column whose values repeat (an access log's messages) is redacted per distinct value and mapped
    back: the same text and the same counts as redacting every row, secrets, look-alikes, nulls and marks."""
    from pmkit import redaction

    texts = [*[r["text"] for r in _corpus()][:300], None, "plain \ufdd1 text", "GET /checkout 200"]
    rows = [texts[(i * 7) % len(texts)] for i in range(5000)]  # every value many times, not in runs
    df = pl.DataFrame({"t": rows}, schema={"t": pl.String})
    fast, fast_counts = redaction.redact_counts(df, ["t"])
    monkeypatch.setattr(redaction, "_DISTINCT_MIN_ROWS", 10**9)  # every row on its own
    slow, slow_counts = redaction.redact_counts(df, ["t"])
    assert fast.equals(slow) and fast_counts == slow_counts
    assert sum(fast_counts.values()) > 1000  # each secret counted once per row it is on


def test_fused_scan_and_distinct_runs_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A column whose rule blocks are prefiltered by one fused scan gives the text and counts of the block by
    block path (the fused scan off), on the corpus's lines and the same wrapped in JSON as an ``attrs`` holds
    them; the entropy rule, judging each distinct candidate run once, still redacts every row holding one."""
    texts = [str(r["text"]) for r in _corpus()]
    token = "Zx8Kq2LmN4pR7sT1vW3yB5dF9hJ0"
    rows: list[str | None] = [*texts, *(json.dumps({"msg": t, "n": i}) for i, t in enumerate(texts))]
    rows += [f'{{"path":"/api/v1/users/{i}/orders","ua":"curl/8.5.0","t":"{token}"}}' for i in range(80)]
    rows += [None, ""]
    frame = pl.DataFrame({"attrs": rows}, schema={"attrs": pl.String})
    cfg = R.Rules(ips=True)
    assert frame.height > R._FUSE_MIN_ROWS
    fused, fused_counts = R.redact_counts(frame, ["attrs"], cfg)
    monkeypatch.setattr(R, "_FUSE_MIN_ROWS", frame.height)
    blocks, block_counts = R.redact_counts(frame, ["attrs"], cfg)
    assert fused.get_column("attrs").to_list() == blocks.get_column("attrs").to_list()
    assert fused_counts == block_counts
    tokens = fused.get_column("attrs").to_list()[-82:-2]
    assert all(t is not None and token not in t and REDACTED in t for t in tokens)
