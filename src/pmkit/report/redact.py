"""Redaction of secrets and personal data before anything is rendered.

Postmortems are shared widely; the evidence they quote (log lines, chat, alert payloads, deploy
records) carries credentials and personal data. ``redact`` (one string) and ``redact_frame``
(frame columns, vectorised with polars regexes: no per-row Python) replace them with markers.
The rules run in this order: provider tokens, key blocks and JWTs (rules 1, 2, 5-8: one pass),
headers, URL passwords, Slack webhooks, AWS secret keys, Azure keys, secret assignments, emails, the
entropy rule, IPs; each one's output is chosen so that no rule matches it again, and rows a round
changed get another round until nothing changes (a redaction can expose its neighbour to a rule), so
redacting twice changes nothing. Patterns are Rust regexes (polars), so ``extra_patterns`` must be too.

Markers: ``[redacted]`` for secrets, ``[email]`` for email addresses, ``[ip]`` for IP addresses.

Secret rules (detect-secrets 1.5's detectors are the reference: its regexes are used where it has
one, widened where logs need it; ``tests/report/test_redact.py`` checks that every secret
detect-secrets finds in the test corpus is gone after ``redact``):

1. **Private keys**: PEM/OpenSSH/PGP/SSH2 ``BEGIN ... PRIVATE KEY`` blocks up to their ``END`` line,
   a block cut short (no ``END``) up to the end of its base64 body, and PuTTY key files.
2. **JWTs**: ``eyJ<header>.<payload>[.<signature>]`` (detect-secrets' ``JwtTokenDetector``).
3. **Authorization and Cookie headers**: ``Authorization: Bearer x`` -> ``Authorization: Bearer
   [redacted]`` (any scheme kept, the rest of the header value redacted, up to a quote, backslash
   or line end); ``Cookie:``/``Set-Cookie:`` values; and a bare ``Bearer <16+ token chars>``.
4. **Passwords in URLs**: ``scheme://user:pass@host`` -> ``scheme://user:[redacted]@host``
   (detect-secrets' ``BasicAuthDetector``, widened: an empty user, ``redis://:pass@host``, counts,
   and the password may hold the sub-delimiters ``!$&'()*+,;=`` people leave unencoded).
5. **Slack**: webhook URLs (``https://hooks.slack.com/services/[redacted]``) and tokens
   ``xox[abeoprs]-...`` and app tokens ``xapp-...`` (``SlackDetector``, widened to every form).
6. **GitHub** ``gh[pousr]_`` + 36+ chars and ``github_pat_`` tokens (``GitHubTokenDetector``);
   **GitLab** ``glpat-``/``gldt-``/``glft-``/``glsoat-``/``glrt-`` tokens (``GitLabTokenDetector``).
7. **AWS**: access key ids ``(A3T.|ABIA|ACCA|AKIA|ASIA)`` + 16 and 40-character secret keys within
   20 characters after ``aws ... key/secret/token/pass`` (``AWSKeyDetector``, quotes not required).
8. **Other providers** with unmistakable shapes (detect-secrets' detectors): Stripe ``sk_live_``/
   ``rk_live_`` (and ``_test_``) and ``whsec_``, SendGrid ``SG.x.y``, OpenAI ``sk-...T3BlbkFJ...``,
   PyPI ``pypi-AgE...``, npm ``npm_``, Azure ``AccountKey=``, Square ``sq0csp-``/``sq0atp-``,
   Twilio ``SK`` + 32 hex, Mailchimp ``<32 hex>-us<n>``, Discord bot and Telegram bot tokens.
9. **Secret assignments**: a key that *ends* with one of ``KEYWORDS`` (password, passwd,
   passphrase, pwd, pass, secret, token, signature/sig, credential(s), api/secret/private/access/
   auth/client/... key; any prefix after ``_ . -`` or in camelCase: ``DB_PASSWORD``,
   ``x-api-key``, ``clientSecret``), then ``=``, ``:``, ``:=`` or ``=>``, then the value:
   a quoted value (``"..."``, ``'...'``, or ``\\"...\\"`` inside a JSON string) is redacted
   inside its quotes; an unquoted value up to whitespace, a quote, ``, ; & < >``, a backslash,
   brackets or braces. Keys that only *contain* a keyword (``token_count``, ``max_tokens``,
   ``password_reset``) are not secrets. In JSON (``"token": null``) only quoted values are
   redacted, so the JSON stays valid. A value ``null``/``none``/``nil``/``undefined`` is kept
   (``ssl.key.password = null`` in a config dump); after a scheme word the value is the next word
   (``auth_token: Bearer [redacted]``). Also ``--password value`` style command-line flags.
10. **High-entropy strings** (detect-secrets' ``Base64HighEntropyString``): a token of the
    base64/base64url alphabet (``A-Z a-z 0-9 + / _ -`` and trailing ``=`` padding) at least
    ``MIN_TOKEN_LENGTH`` (20) characters long, with upper-case letters, lower-case letters and
    digits, whose Shannon entropy is above ``BASE64_ENTROPY`` (4.5 bits per character, detect-secrets'
    default) is redacted. Not redacted (documented exceptions, as detect-secrets' filters do):

    - **pure hex strings** (commit SHAs, trace/span/request ids, checksums, digests, ETags) and
      **UUIDs**: they are identifiers the postmortem needs (a deploy's ``sha``, a trace id), not
      secrets. Hex cannot reach 4.5 bits anyway (22 symbols: at most 4.46), and we deliberately
      do not apply detect-secrets' separate hex detector (3.0 bits), which flags every SHA-1.
      A hex secret is still caught by its name (rule 9: ``api_key=<hex>``).
    - tokens without all three of upper case, lower case and digits (random 20+ character
      base64 has all three more than 96% of the time; identifiers such as PagerDuty ids or ULIDs
      are upper case and digits, slugs lower case and digits);
    - the value of an id-like key (``id``, ``*_id``, ``*-id``, ``*Id``, ``hash``, ``digest``,
      ``checksum``, ``etag``, ``md5``, ``sha*``, ``fingerprint``, ``integrity``; detect-secrets'
      ``is_likely_id_string``), except session ids (``session_id``, ``sessionId``, ``sid``),
      which are credentials;
    - sequential strings (``ABCDEFGHIJKLMNOPQRSTUVWXYZ0123``; ``is_sequential_string``).

    Paths are judged per segment: a run with a ``/`` and a lower-case word segment of 3+ letters
    (``/api/v1/payments/pay_x``, ``com/log_entries/R6XN...``) is a path, and each ``/``-separated
    segment is a token of its own; otherwise ``/`` is a base64 character and the whole run, outer
    slashes stripped, is one token (an AWS secret key ``wJalr.../K7MDENG/...``). A redacted segment
    splits its run; the parts are judged again until nothing changes.

The Unicode noncharacter U+FDD0 is used as a transient marker and removed from every text.

Personal data: **email addresses** -> ``[email]`` (always); **IPv4 and IPv6 addresses** -> ``[ip]``
only with ``ips=True`` (IPs are often the very evidence of an incident, so they are kept unless
the author asks). A dotted quad version ``1.2.3.4`` is an IPv4 address to this rule; IPv6 forms
are the full 8-group form, ``::`` compressed forms and IPv4-mapped ones (``::ffff:10.0.0.1``).
``extra_patterns`` (Rust regexes) run once, last, and are replaced with ``[redacted]``; whether
they leave ``[redacted]`` alone (idempotence) is up to them.

Known limits: a secret with none of these shapes and no telling key (a plain-word password in
prose) is not found; the 4.5-bit limit needs length: random base64 passes it 6% of the time at 24
characters, 66% at 32, 98% at 40 (detect-secrets has the same limit); an unquoted value ends at a
space, so ``password: two words`` keeps ``words``; high-entropy URL path segments of 20+ mixed
characters (content hashes in asset URLs) are redacted although harmless; with ``ips=True``,
``Dead::Beef`` (hex words around ``::``) reads as an IPv6 address.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import polars as pl

REDACTED = "[redacted]"
EMAIL = "[email]"
IP = "[ip]"

MIN_TOKEN_LENGTH = 20
BASE64_ENTROPY = 4.5
MAX_ROUNDS = 8

KEYWORDS = (
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "pass",
    "secret",
    "token",
    "signature",
    "sig",
    "credentials",
    "credential",
    "apikey",
    "api[_-]?key",
    "(?:secret|private|access|auth|client|signing|encryption|master|service|account|license|db|database)[_-]?key",
)
_CAMEL_KEYWORDS = (
    "Password",
    "Passwd",
    "Passphrase",
    "Pwd",
    "Pass",
    "Secret",
    "Token",
    "Signature",
    "Credentials",
    "Credential",
    "ApiKey",
    "(?:Secret|Private|Access|Auth|Client|Signing|Encryption|Master|Service|Account|License)Key",
)


@dataclass(frozen=True)
class Rule:
    """One regex rule: a Rust-syntax pattern and its replacement (``${1}`` refers to a group)."""

    name: str
    pattern: str
    replacement: str


def _keyword_key() -> str:
    plain = r"\b(?:[A-Za-z0-9_.-]*[_.-])?(?i:" + "|".join(KEYWORDS) + ")"
    camel = r"\b[A-Za-z0-9_.-]*[a-z0-9](?:" + "|".join(_CAMEL_KEYWORDS) + ")"
    return f"(?:{plain}|{camel})"


_KEY = _keyword_key()
_SEP = r"[ \t]*(?:=>|:=|[:=])[ \t]*"
_PEM_LABEL = r"-{4,5} ?BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)? ?-{4,5}"
_PEM_END = r"-{4,5} ?END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)? ?-{4,5}"
_URL_RESERVED = r":/?#\[\]@!$&'()*+,;="
_MARK = "\ufdd0"  # a Unicode noncharacter, used as a transient marker and removed from every text

SECRET_RULES: tuple[Rule, ...] = (
    Rule("marker-character", _MARK, ""),  # the marker used below never comes from the input
    Rule("private-key", f"(?s){_PEM_LABEL}.*?{_PEM_END}", REDACTED),
    Rule("private-key-truncated", _PEM_LABEL + r"[A-Za-z0-9+/=\s\\:,-]*", REDACTED),
    Rule("putty-key", r"(?s)PuTTY-User-Key-File-[0-9]+:.*?Private-MAC: *[0-9A-Fa-f]+", REDACTED),
    Rule("putty-private-lines", r"Private-Lines: *[0-9]+[A-Za-z0-9+/=\s\\]*", REDACTED),
    Rule("jwt", r"eyJ[A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]+(?:\.[A-Za-z0-9_.+/=-]*)?", REDACTED),
    Rule("slack-token", r"(?i)\b(?:xox[abeoprs]|xapp)-[A-Za-z0-9-]{10,}", REDACTED),
    Rule("github-token", r"(?:gh[pousr]_[A-Za-z0-9_]{36,}|github_pat_[A-Za-z0-9_]{22,})", REDACTED),
    Rule("gitlab-token", r"\b(?:(?:glpat|gldt|glft|glsoat|glrt)-|GR1348941)[A-Za-z0-9_-]{20,}", REDACTED),
    Rule("aws-access-key-id", r"(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)[0-9A-Z]{16}", REDACTED),
    Rule("stripe-key", r"\b(?:[rs]k_(?:live|test)_[0-9a-zA-Z]{24,}|whsec_[0-9a-zA-Z]{24,})", REDACTED),
    Rule("sendgrid-key", r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}", REDACTED),
    Rule("openai-key", r"sk-[A-Za-z0-9_-]*T3BlbkFJ[A-Za-z0-9_-]+", REDACTED),
    Rule("pypi-token", r"pypi-AgE[A-Za-z0-9_-]{50,}", REDACTED),
    Rule("npm-token", r"\bnpm_[A-Za-z0-9]{36}", REDACTED),
    Rule("square-token", r"sq0(?:csp|atp)-[0-9A-Za-z_-]{22,}", REDACTED),
    Rule("twilio-api-key", r"\bSK[0-9a-fA-F]{32}\b", REDACTED),
    Rule("mailchimp-key", r"\b[0-9a-f]{32}-us[0-9]{1,2}\b", REDACTED),
    Rule("discord-bot-token", r"\b[MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,}", REDACTED),
    Rule("telegram-bot-token", r"\b[0-9]{8,10}:AA[0-9A-Za-z_-]{33}\b", REDACTED),
    Rule(
        "authorization-header",
        r"(?i)(\b(?:proxy-)?authorization\\?[\"']?" + _SEP + r"\\?[\"']?[ \t]*"
        r"(?:(?:bearer|basic|token|digest|negotiate|ntlm|hawk|apikey|aws4-hmac-sha256)[ \t]+)?)[^\"'\\\r\n]+",
        "${1}" + REDACTED,
    ),
    Rule("cookie-header", r"(?i)(\b(?:set-)?cookie\\?[\"']?[ \t]*:[ \t]*\\?[\"']?)[^\"'\\\r\n]+", "${1}" + REDACTED),
    Rule("bearer-token", r"(?i)(\bbearer[ \t]+)[A-Za-z0-9._~+/-]{16,}=*", "${1}" + REDACTED),
    Rule("url-password", rf"(://[^{_URL_RESERVED}\s]*:)[^:/?#\[\]@\s\"'\\]+@", "${1}" + REDACTED + "@"),
    Rule(
        "slack-webhook",
        r"(?i)(https?://hooks\.slack\.com/(?:services|workflows|triggers)/)[A-Za-z0-9_/-]+",
        "${1}" + REDACTED,
    ),
    Rule(
        "aws-secret-key",
        r"(?i)(aws.{0,20}?(?:key|pwd|pw|password|pass|token|secret).{0,20}?)[0-9a-zA-Z/+]{40}([^0-9a-zA-Z/+=]|$)",
        "${1}" + REDACTED + "${2}",
    ),
    Rule("azure-storage-key", r"(AccountKey=)[A-Za-z0-9+/=]{20,}", "${1}" + REDACTED),
    Rule(
        "keyword-double-quoted",
        rf"({_KEY}[\"'`]?{_SEP})\"(?:[^\"\\\r\n]|\\.)+\"",
        "${1}" + f'"{REDACTED}"',
    ),
    Rule("keyword-single-quoted", rf"({_KEY}[\"'`]?{_SEP})'[^'\r\n]+'", "${1}" + f"'{REDACTED}'"),
    Rule(
        "keyword-escaped-quoted",
        rf'({_KEY}\\"[ \t]*:[ \t]*)\\"(?:[^"\\]|\\[^"])+\\"',
        "${1}" + f'\\"{REDACTED}\\"',
    ),
    # "password = null" (a config dump) is no secret, and in "auth_token: Bearer x" the secret is x:
    # such values are marked, the mark keeps the plain value rule off them, and goes again
    Rule(
        "keyword-value-mark",
        rf"({_KEY}{_SEP})((?i:null|none|nil|undefined)(?:[^A-Za-z0-9_]|$)|(?i:bearer|basic|token|digest)[ \t]+)",
        "${1}" + _MARK + "${2}",
    ),
    Rule(
        "keyword-scheme",
        rf"({_KEY}{_SEP}{_MARK}(?i:bearer|basic|token|digest)[ \t]+)[^\s\"'`,;&<>\\\[\]{{}}{_MARK}]+",
        "${1}" + REDACTED,
    ),
    Rule("keyword-unquoted", rf"({_KEY}{_SEP})[^\s\"'`,;&<>\\\[\]{{}}{_MARK}]+", "${1}" + REDACTED),
    Rule("keyword-value-unmark", _MARK, ""),
    Rule(
        "keyword-cli-flag",
        r"(?i)(--[a-z0-9-]*(?:password|passwd|passphrase|token|secret|api-?key)(?:=|[ \t]+))[^\s\"'`\[-][^\s\"'`]*",
        "${1}" + REDACTED,
    ),
)

_L = "[A-Za-z0-9._%+-]"
# any local part but exactly "git" (git@github.com:org/repo.git is an SSH remote, not a person)
_LOCAL = rf"(?:{_L}{{4,}}|{_L}{{1,2}}|[A-Za-fh-z0-9._%+-]{_L}{{2}}|g[A-Za-hj-z0-9._%+-]{_L}|gi[A-Za-su-z0-9._%+-])"
EMAIL_RULE = Rule(
    "email", rf"(^|[^A-Za-z0-9._%+-]){_LOCAL}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{{2,}}", "${1}" + EMAIL
)

_H = "[0-9A-Fa-f]{1,4}"
_V4 = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}"
IP_RULES: tuple[Rule, ...] = (
    Rule(
        "ipv6",
        # IPv4-mapped forms first, then the full form, then "::" compressed forms; the characters
        # around must not continue an identifier (so "std::vector" and "14:23:01" are no addresses)
        rf"(?P<pre>^|[^0-9A-Za-z_:.])(?:(?:{_H}:){{1,6}}:?(?:ffff:)?{_V4}|::(?:ffff:)?{_V4}|(?:{_H}:){{7}}{_H}"
        rf"|(?:(?:{_H}:){{1,6}}|:)(?::{_H}){{1,7}}|(?:{_H}:){{1,7}}:)(?:%[0-9A-Za-z]+)?(?P<post>[^0-9A-Za-z_:]|$)",
        "${pre}" + IP + "${post}",
    ),
    Rule("ipv4", rf"\b{_V4}\b", IP),
)


def rules(*, ips: bool = False) -> tuple[Rule, ...]:
    """The regex rules ``redact`` applies, in order (the entropy rule runs after them)."""
    return (*SECRET_RULES, EMAIL_RULE, *(IP_RULES if ips else ()))


# --- high-entropy tokens --------------------------------------------------------------

_WORD = r"A-Za-z0-9+_\-"
PIECE = rf"[{_WORD}]+|=+|/|[^{_WORD}/=]+"
_RUN = rf"[{_WORD}/]{{{MIN_TOKEN_LENGTH},}}=*"
_LOWER_WORD = r"^[a-z][a-z_-]{2,}$"
# words and numbers joined by _ or -: DFSClient_NONMAPREDUCE_1537864556_1, blk_-8796256534683400159
_COMPOUND_ID = r"^(?:[A-Za-z]+|[0-9]+)(?:[_-]+(?:[A-Za-z]+|[0-9]+))*$"
_ID_KEY = (
    r"(?:(?i:(?:^|[^a-z0-9])(?:ids?|myid|userid|hash|digest|checksum|integrity|etag|md5|sha[0-9]*|fingerprint))"
    r"|[a-z0-9](?:Ids?|Hash|Digest|Checksum|Sha[0-9]*))"
    r"\\?[\"'`]?[ \t]*(?:=>|:=|[:=])?[ \t]*\\?[\"'`]?$"
)
_SESSION_KEY = r"(?i)(?:session[_-]?ids?|sid)\\?[\"'`]?[ \t]*(?:=>|:=|[:=])?[ \t]*\\?[\"'`]?$"
# detect-secrets' is_sequential_string alphabets
_SEQUENCES = (
    "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/",
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ+/",
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "01234567890123456789",
    "0123456789ABCDEF0123456789ABCDEF",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ=/",
)


def shannon_entropy(expr: pl.Expr) -> pl.Expr:
    """Shannon entropy in bits per character of each string (detect-secrets' formula), vectorised."""
    return (
        expr.str.split("")
        .list.eval((pl.element().unique_counts() / pl.element().len()).pipe(lambda p: -(p * p.log(2)).sum()))
        .list.first()
        .fill_null(0.0)
    )


def _is_secret_token(core: pl.Expr) -> pl.Expr:
    """The shape test of rule 10 on a token's core (see :func:`_core`): length, classes, not an id."""
    upper = core.str.to_uppercase()
    sequential = pl.any_horizontal(*(pl.lit(seq).str.contains(upper, literal=True) for seq in _SEQUENCES))
    return (
        (core.str.len_chars() >= MIN_TOKEN_LENGTH)
        & core.str.contains("[A-Z]")
        & core.str.contains("[a-z]")
        & core.str.contains("[0-9]")
        & ~sequential
        & ~core.str.contains(_COMPOUND_ID)
    )


def _high_entropy(tokens: pl.Expr) -> pl.Expr:
    """Shape and entropy test of rule 10 (no context), on token cores."""
    return _is_secret_token(tokens) & (shannon_entropy(tokens) > BASE64_ENTROPY)


def _path_like(run: pl.Expr, has_lower_word: pl.Expr) -> pl.Expr:
    """A run with a ``/`` and a lower-case word segment is a path, judged per ``/`` segment."""
    return run.str.contains("/", literal=True) & has_lower_word


def _core(token: pl.Expr) -> pl.Expr:
    """The part of a token that is judged: ``=`` padding and outer slashes stripped."""
    return token.str.strip_chars_end("=").str.strip_chars("/")


def _maybe_rows(s: pl.Series) -> pl.Series:
    """Row indices that may hold a rule-10 token: a superset of what :func:`_redact_pieces` flags.

    A unit there is a whole run of ``[A-Za-z0-9+/_-]`` (with ``=`` padding) or, in a path-like run,
    one ``/`` segment; both are found here with the same path test, and checked for shape and
    entropy but not context, so a row with no such token can be skipped.
    """
    frame = pl.DataFrame({"s": s}).with_row_index("row").filter(pl.col("s").str.contains(_RUN).fill_null(False))
    if frame.height == 0:
        return pl.Series("row", [], dtype=pl.UInt32)
    runs = (
        frame.lazy()
        .select("row", pl.col("s").str.extract_all(_RUN).alias("run"))
        .explode("run")
        .filter(pl.col("run").is_not_null())
        .unique()
        .collect()
    )
    segments = pl.col("run").str.strip_chars_end("=").str.split("/")
    lower_word = segments.list.eval(pl.element().str.contains(_LOWER_WORD)).list.any()
    tokens = (
        runs.lazy()
        .with_columns(
            pl.when(_path_like(pl.col("run"), lower_word))
            .then(segments)
            .otherwise(pl.concat_list(_core(pl.col("run"))))
            .alias("t")
        )
        .explode("t")
        .filter(pl.col("t").str.len_chars() >= MIN_TOKEN_LENGTH)
        .select("row", "t")
        .collect()
    )
    unique = tokens.select(pl.col("t").unique()).filter(_is_secret_token(pl.col("t")))
    unique = unique.filter(shannon_entropy(pl.col("t")) > BASE64_ENTROPY)
    return tokens.join(unique, on="t", how="semi").get_column("row").unique().sort()


def _redact_entropy(s: pl.Series) -> pl.Series:
    """Rule 10 on a String series: cheap candidate rows first, the exact piece analysis on those only."""
    rows = _maybe_rows(s)
    if rows.len() == 0:
        return s
    return s.scatter(rows, _redact_pieces(s.gather(rows)))


def _redact_pieces(sub: pl.Series) -> pl.Series:
    """Rule 10 exactly: split each string into pieces, find runs and units, flag, reassemble.

    ``sub`` holds only non-empty strings (rows from :func:`_maybe_rows`), so every row has pieces.
    """
    kind = (
        pl.when(pl.col("p") == "/")
        .then(pl.lit("slash"))
        .when(pl.col("p").str.starts_with("="))
        .then(pl.lit("eq"))
        .when(pl.col("p").str.contains(f"^[{_WORD}]"))
        .then(pl.lit("word"))
        .otherwise(pl.lit("other"))
    )
    pieces = (
        pl.DataFrame({"row": pl.int_range(0, sub.len(), eager=True), "p": sub.str.extract_all(PIECE)})
        .lazy()
        .explode("p")
        .filter(pl.col("p").is_not_null())
        .with_row_index("i")
        .with_columns(kind.alias("kind"))
        .with_columns(pl.col("kind").shift(-1).over("row").alias("next_kind"))
        # "=" between two runs is a key/value separator; at the end of a run it is base64 padding
        .with_columns(
            (
                (pl.col("kind") == "other") | ((pl.col("kind") == "eq") & pl.col("next_kind").is_in(["word", "slash"]))
            ).alias("sep")
        )
        .with_columns(pl.col("sep").cum_sum().over("row").alias("run"))
        .with_columns(
            pl.concat_str(
                [pl.col("p").shift(2).over("row").fill_null(""), pl.col("p").shift(1).over("row").fill_null("")]
            ).alias("ctx")
        )
    )
    in_run = ~pl.col("sep")
    run_text = pl.col("p").filter(in_run).str.join("").over(["row", "run"])
    word_segment = (pl.col("kind") == "word") & pl.col("p").str.contains(_LOWER_WORD)
    path_like = _path_like(run_text, (word_segment & in_run).any().over(["row", "run"]))
    run_start = pl.col("i").filter(in_run).min().over(["row", "run"])
    own = pl.when(pl.col("kind") == "word").then(pl.col("i"))
    unit = (
        pl.when(~in_run)
        .then(None)
        .when(~path_like)
        .then(run_start)
        .when(pl.col("kind") == "slash")
        .then(None)
        .otherwise(own.forward_fill().over("row"))
    )
    pieces = pieces.with_columns(unit.alias("unit")).collect()
    flagged = (
        pieces.lazy()
        .filter(pl.col("unit").is_not_null())
        .group_by("unit")
        .agg(_core(pl.col("p").str.join("")).alias("core"), pl.col("ctx").first().alias("ctx"))
        .filter(~pl.col("ctx").str.contains(_ID_KEY) | pl.col("ctx").str.contains(_SESSION_KEY))
        .filter(_high_entropy(pl.col("core")))
        .select("unit")
        .collect()
    )
    if flagged.height == 0:
        return sub
    first = pl.col("i") == pl.col("unit")
    out = (
        pieces.lazy()
        .join(flagged.lazy().with_columns(pl.lit(True).alias("hit")), on="unit", how="left")
        .sort("i")
        .with_columns(
            pl.when(pl.col("hit").fill_null(False) & first)
            .then(pl.lit(REDACTED))
            .when(pl.col("hit").fill_null(False))
            .then(pl.lit(""))
            .otherwise(pl.col("p"))
            .alias("p")
        )
        .group_by("row", maintain_order=True)
        .agg(pl.col("p").str.join(""))
        .sort("row")
        .collect()
    )
    return out.get_column("p").alias(sub.name)


# --- public API -------------------------------------------------------------------------


def _checked(extra_patterns: Iterable[str]) -> tuple[str, ...]:
    """The extra patterns, each compiled once by polars so a bad one fails here, named."""
    patterns = tuple(extra_patterns)
    for p in patterns:
        if not isinstance(p, str):
            raise TypeError(f"extra_patterns holds {p!r}; expected regex strings (Rust syntax, as polars uses)")
        try:
            pl.Series(["x"]).str.replace_all(p, REDACTED)
        except pl.exceptions.ComputeError as exc:
            raise ValueError(
                f"extra pattern {p!r} is not a valid Rust regex (polars): {exc}. "
                "Look-arounds and back-references are not supported"
            ) from None
    return patterns


@functools.cache
def _plan(ips: bool) -> tuple[tuple[str, str], ...]:
    """The (pattern, replacement) passes: consecutive rules that replace their whole match with
    ``[redacted]`` run as one alternation (earlier rules first at the same position), so fewer
    passes run and polars' compiled-regex cache holds them all."""
    passes: list[tuple[str, str]] = []
    plain: list[str] = []
    for rule in rules(ips=ips):
        if rule.replacement == REDACTED:
            plain.append(f"(?:{rule.pattern})")
            continue
        if plain:
            passes.append(("|".join(plain), REDACTED))
            plain = []
        passes.append((rule.pattern, rule.replacement))
        if rule.name == "ipv6":  # a match's trailing character may be the next address's leading one
            passes.append((rule.pattern, rule.replacement))
    if plain:
        passes.append(("|".join(plain), REDACTED))
    return tuple(passes)


def _regex_stage(expr: pl.Expr, *, ips: bool) -> pl.Expr:
    for pattern, replacement in _plan(ips):
        expr = expr.str.replace_all(pattern, replacement)
    return expr


def _extra_stage(s: pl.Series, extra: Sequence[str]) -> pl.Series:
    if not extra:
        return s
    expr = pl.col(s.name)
    for p in extra:
        expr = expr.str.replace_all(p, REDACTED)
    return s.to_frame().select(expr).to_series()


def _to_fixpoint(original: pl.Series, first: pl.Series, *, ips: bool) -> pl.Series:
    """Run every rule again on the rows the last round changed, until a round changes nothing.

    A redaction can expose a neighbour to a rule (``AKIA...fe80::1``: once the token goes, ``::1``
    stands alone), so one round is not always idempotent; a few rounds are, on the few rows that
    hold secrets. ``MAX_ROUNDS`` bounds pathological input.
    """
    out = first
    rows = (first != original).fill_null(False).arg_true()
    for _ in range(MAX_ROUNDS):
        if rows.len() == 0:
            break
        before = out.gather(rows)
        staged = before.to_frame().select(_regex_stage(pl.col(before.name), ips=ips)).to_series()
        after = _redact_entropy(staged)
        out = out.scatter(rows, after)
        rows = rows.filter((before != after).fill_null(False))
    return out


def _redact_columns(df: pl.DataFrame, names: Sequence[str], *, ips: bool, extra: Sequence[str]) -> pl.DataFrame:
    staged = df.lazy().with_columns(_regex_stage(pl.col(c), ips=ips) for c in names).collect()
    done = []
    for c in names:
        first = _redact_entropy(staged.get_column(c))
        done.append(_extra_stage(_to_fixpoint(df.get_column(c), first, ips=ips), extra))
    return df.with_columns(done)


_SURROGATES = re.compile("[\ud800-\udfff]")


def redact(text: str, *, ips: bool = False, extra_patterns: Iterable[str] = ()) -> str:
    """``text`` with secrets and personal data replaced by markers (the rules: module docstring).

    ``ips=True`` also redacts IPv4/IPv6 addresses; ``extra_patterns`` are further Rust regexes
    (polars syntax) replaced with ``[redacted]``. Lone surrogates, which UTF-8 cannot hold,
    become U+FFFD.
    """
    if not isinstance(text, str):
        raise TypeError(f"redact() takes a str, got {type(text).__name__}; use redact_frame for frames")
    extra = _checked(extra_patterns)
    frame = pl.DataFrame({"s": [_SURROGATES.sub("\ufffd", text)]}, schema={"s": pl.String})
    return _redact_columns(frame, ["s"], ips=ips, extra=extra).item()


def redact_frame(
    df: pl.DataFrame,
    columns: Sequence[str] | None = ("message", "actor", "attrs"),
    *,
    ips: bool = False,
    extra_patterns: Iterable[str] = (),
) -> pl.DataFrame:
    """``df`` with ``columns`` redacted like :func:`redact`, vectorised; other columns untouched.

    The default columns are the events frame's free-text ones; ``columns=None`` means every String
    column. A named column the frame lacks is skipped (frames differ: suspects have no ``attrs``);
    a named column that is not String is an error.
    """
    extra = _checked(extra_patterns)
    if isinstance(columns, str):
        raise TypeError(f"columns={columns!r} is one string; pass a sequence of names, e.g. ({columns!r},)")
    if columns is None:
        names = [c for c, t in df.schema.items() if t == pl.String]
    else:
        names = [c for c in columns if c in df.columns]
        wrong = [f"{c} ({df.schema[c]})" for c in names if df.schema[c] != pl.String]
        if wrong:
            raise TypeError(f"redact_frame redacts String columns; these are not: {', '.join(wrong)}")
    if not names or df.height == 0:
        return df
    return _redact_columns(df, names, ips=ips, extra=extra)
