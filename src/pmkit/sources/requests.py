"""The requests frame: one row per request event, its fields as typed columns, decoded once at load.

Request-shaped sources (access logs, JSON request logs: any log event whose ``attrs`` carry an HTTP
``status``) keep, beside their events, these columns (:data:`REQUESTS_SCHEMA`): ``ts``, ``source``,
``service``, ``level``, ``origin``, ``status`` (int), ``method``, ``path``, ``user``, ``tenant``,
``bytes`` (int) and ``duration_s`` (float, seconds). The SLI, the impact, the baselines and the
signatures read them directly instead of decoding the ``attrs`` JSON of every request again.

They are decoded from the *redacted* ``attrs`` (:func:`pmkit.sources.base.run` redacts where evidence
enters), once (``Incident.requests``: per source into the load cache, else on first use): redaction keeps
its one place, and a typed value never differs from the one the events frame shows. A loader that parses
the fields itself (access logs) hands them over typed, as they would decode from the ``attrs`` it writes
(:func:`from_loader`: only rows the redaction changed are decoded). Definitions (the first field found wins):

- ``status``: ``status`` read as an integer (a request event without one is not a request);
- ``user``: the first of :data:`USER_FIELDS`, else the first of them in the path's query string
  (``?q=shoes&uid=u_42``); ``tenant`` likewise with :data:`TENANT_FIELDS`; ``"-"`` and ``""`` are null;
- ``duration_s``: the first of :data:`DURATION_FIELDS`, scaled to seconds;
- ``bytes``: ``bytes`` read as an integer (null when absent or ``-``).
"""

from __future__ import annotations

import polars as pl

from pmkit.schema import UTC_TS

USER_FIELDS = ("user", "user_id", "customer_id", "uid")  # attrs that name a request's user, first found wins
TENANT_FIELDS = ("tenant", "tenant_id")
# request durations as logs name them: (attrs key, factor to seconds), first found wins
DURATION_FIELDS = (
    ("duration_s", 1.0),
    ("request_time", 1.0),  # nginx $request_time
    ("latency_s", 1.0),
    ("response_time_s", 1.0),
    ("duration_ms", 1e-3),
    ("latency_ms", 1e-3),
    ("response_time_ms", 1e-3),
    ("elapsed_ms", 1e-3),
)
_REQUEST_KEYS = (
    "status",
    "method",
    "path",
    "bytes",
    *USER_FIELDS,
    *TENANT_FIELDS,
    *(k for k, _ in DURATION_FIELDS),
)

REQUESTS_SCHEMA: dict[str, pl.DataType] = {
    "ts": UTC_TS,
    "source": pl.String(),
    "service": pl.String(),
    "level": pl.String(),
    "origin": pl.String(),
    "status": pl.Int64(),
    "method": pl.String(),
    "path": pl.String(),
    "user": pl.String(),
    "tenant": pl.String(),
    "bytes": pl.Int64(),
    "duration_s": pl.Float64(),
}


def empty_requests() -> pl.DataFrame:
    """An empty requests frame."""
    return pl.DataFrame(schema=REQUESTS_SCHEMA)


def typed_requests(events: pl.DataFrame) -> pl.DataFrame:
    """The requests frame of an events frame (:data:`REQUESTS_SCHEMA`), rows in the events' order.

    Only log events whose attrs hold ``"status"`` are decoded (numbers may come as strings); those whose
    status does not read as an integer are not requests."""
    if events.height == 0 or "attrs" not in events.columns:
        return empty_requests()
    ev = events.filter((pl.col("kind") == "log") & pl.col("attrs").str.contains('"status"', literal=True))
    if ev.height == 0:
        return empty_requests()
    # in slices: polars' json_decode of a whole column holds several times the text at once (a 62,512-row
    # window peaked 90 MB higher in one piece, and took more CPU, than in 8,192-row slices)
    return pl.concat([_decode(ev.slice(i, _SLICE)) for i in range(0, ev.height, _SLICE)])


_SLICE = 8192


def _decode(ev: pl.DataFrame) -> pl.DataFrame:
    """:func:`typed_requests` of request events."""
    shape = pl.Struct({name: pl.String for name in _REQUEST_KEYS})
    f = pl.col("_a").struct.field
    return (
        ev.select("ts", "source", "service", "level", "origin", pl.col("attrs").str.json_decode(shape).alias("_a"))
        .select(
            "ts",
            "source",
            "service",
            "level",
            "origin",
            f("status").cast(pl.Int64, strict=False).alias("status"),
            f("method").alias("method"),
            f("path").alias("path"),
            pl.coalesce(*(id_value(f(k)) for k in USER_FIELDS), *(_query(f("path"), k) for k in USER_FIELDS)).alias(
                "user"
            ),
            pl.coalesce(*(id_value(f(k)) for k in TENANT_FIELDS), *(_query(f("path"), k) for k in TENANT_FIELDS)).alias(
                "tenant"
            ),
            f("bytes").cast(pl.Int64, strict=False).alias("bytes"),
            pl.coalesce(*(f(k).cast(pl.Float64, strict=False) * factor for k, factor in DURATION_FIELDS)).alias(
                "duration_s"
            ),
        )
        .filter(pl.col("status").is_not_null())
        .cast(REQUESTS_SCHEMA)  # type: ignore[arg-type]
    )


def query_value(path: pl.Expr, key: str) -> pl.Expr:
    """The value of ``key`` in a request path's query string (``/search?q=x&uid=u_42`` gives ``u_42``), or null."""
    return id_value(path.str.extract(rf"\?(?:[^#]*&)?{key}=([^&#\s]*)", 1))


_query = query_value


def from_loader(frame: pl.DataFrame, typed: pl.DataFrame, attrs_before: pl.Series) -> pl.DataFrame:
    """The requests frame of ``frame`` (a source's events, redacted) from its loader's typed fields: ``typed``
    holds ``origin`` and the fields of :data:`REQUESTS_SCHEMA` as :func:`typed_requests` would decode them
    from the ``attrs`` the loader wrote (one row per event, an origin each), ``attrs_before`` the events'
    ``attrs`` before redaction. Rows the redaction changed are decoded from their redacted ``attrs`` (a
    typed value never differs from the one the events frame shows); the others take the loader's values
    without decoding any JSON (625,116 access-log requests: 1.4 CPU-s of ``json_decode`` saved)."""
    if frame.height == 0:
        return empty_requests()
    changed = (frame.get_column("attrs") != attrs_before).fill_null(False)
    keep = frame.select("ts", "source", "service", "level", "origin").with_columns(
        _row=pl.int_range(pl.len(), dtype=pl.UInt32), _changed=changed
    )
    if typed.height == frame.height and typed.get_column("origin").equals(frame.get_column("origin")):
        joined = pl.concat([keep, typed.drop("origin")], how="horizontal")  # row for row: no join
    else:  # rows dropped after the loader (times out of range, the exact window): by origin
        joined = keep.join(typed, on="origin", how="left", maintain_order="left")
    same = joined.filter(~pl.col("_changed") & pl.col("status").is_not_null())
    parts = [same.drop("_changed")]
    if changed.any():
        redone = typed_requests(frame.filter(changed))
        parts.append(redone.join(keep.select("origin", "_row"), on="origin", how="left", maintain_order="left"))
    out = pl.concat([p.select("_row", *REQUESTS_SCHEMA).cast(REQUESTS_SCHEMA) for p in parts])  # type: ignore[arg-type]
    return out.sort("_row").drop("_row") if len(parts) > 1 else out.drop("_row")


def id_value(expr: pl.Expr) -> pl.Expr:
    """An id field, with the log formats' "no value" markers ("-", "") as null."""
    return pl.when(expr.is_in(["-", ""])).then(None).otherwise(expr)
