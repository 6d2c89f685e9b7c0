"""Three small incidents in shapes the first two samples lack, written as data for :mod:`samplegen.engine`.

- ``INC-2025-0311-checkout``: background 5xx (and a burst of 502s) before the impact, load-balancer
  health checks in the request log, the user id in the query string (``?uid=``), and a staging
  deploy of the same service at the same time as the production culprit.
- ``INC-2025-0311-orders``: a Python service logging logfmt with raw multi-line tracebacks, no SLO
  stated, no request log: per-minute request counts by status code are the only traffic evidence;
  Argo CD syncs and a plain chat transcript.
- ``INC-2025-0311-search``: latency only. The error rate stays at 0% while p90 latency jumps ~100x
  for ~25 minutes; a request log with durations and a Prometheus p90 series; a latency SLO.
"""

from __future__ import annotations

from samplegen.common import Rng, ms_of
from samplegen.engine import Alert, Deploy, Endpoint, Page, Phase, Say, Scenario


def _at(day: str) -> object:
    def at(hms: str) -> int:
        return ms_of(f"{day}T{hms}Z")

    return at


# ----------------------------------------------------------------------------- checkout

_c = _at("2025-03-11")


def _checkout_error(rng: Rng, path: str, uid: str) -> tuple[str, list[str]]:
    if path.startswith("/api/v2/checkout"):
        return f"checkout failed uid={uid}: address validation rejected the request: field 'postcode' is required", []
    return f"cart load failed uid={uid}: address-validation client: 422 Unprocessable Entity", []


CHECKOUT = Scenario(
    id="INC-2025-0311-checkout",
    title="Checkout failures after checkout-api v4.2.0",
    service="checkout-api",
    seed="checkout",
    window=(_c("09:00:00"), _c("11:00:00")),
    rate_per_minute=200.0,
    users=2500,
    endpoints=(
        Endpoint("GET", "/api/v2/cart", 0.45, 35),
        Endpoint("GET", "/api/v2/products/{id}", 0.30, 25),
        Endpoint("POST", "/api/v2/checkout", 0.15, 180),
        Endpoint("GET", "/api/v2/recommendations", 0.10, 60),
    ),
    phases=(
        Phase(_c("10:02:10"), _c("10:30:45"), ("/api/v2/checkout",), error_ratio=0.7, statuses=(500, 500, 502)),
        Phase(_c("10:02:10"), _c("10:30:45"), ("/api/v2/cart",), error_ratio=0.2, statuses=(500,)),
    ),
    background_5xx=0.003,
    background_bursts=((_c("09:41:05"), 12, "/api/v2/recommendations", 502),),
    health_checks=("10.40.0.11", "10.40.1.12", "10.40.2.13"),
    uid_in_query=True,
    app_log="jsonl",
    error_lines=_checkout_error,
    culprit="checkout-prod",
    rollback="checkout-rollback",
    deploys=(
        Deploy(
            "inventory",
            "inventory-service",
            "inventory-service",
            "v2.7.1",
            "production",
            _c("09:31:12"),
            _c("09:33:40"),
            "inventory-service v2.7.1",
        ),
        Deploy(
            "checkout-prod",
            "checkout-api",
            "checkout-api",
            "v4.2.0",
            "production",
            _c("09:58:30"),
            _c("10:01:55"),
            "checkout-api v4.2.0: new address validation client",
        ),
        Deploy(
            "checkout-staging",
            "checkout-api",
            "checkout-api",
            "v4.3.0-rc.1",
            "staging",
            _c("09:58:41"),
            _c("10:01:31"),
            "checkout-api v4.3.0-rc.1",
        ),
        Deploy(
            "checkout-rollback",
            "checkout-api",
            "checkout-api",
            "v4.1.3",
            "production",
            _c("10:27:10"),
            _c("10:30:40"),
            "Rollback to v4.1.3",
            actor="bob-lee",
            rollback_of="checkout-prod",
        ),
    ),
    alerts=(
        Alert(
            "NodeDiskPressure",
            "logging",
            "warning",
            _c("09:12:20.418"),
            _c("09:40:50.102"),
            "node ip-10-40-3-7 disk pressure",
            "kubelet_volume_stats_available_bytes < 5e9",
        ),
        Alert(
            "CheckoutErrorBudgetBurn",
            "checkout-api",
            "critical",
            _c("10:05:31.207"),
            _c("10:33:01.377"),
            "checkout-api is burning its error budget faster than 14.4x",
            'sum(rate(nginx_http_requests_total{service="checkout-api",status=~"5.."}[5m])) > 0.0144',
            repeat_at=_c("10:10:01.000"),
        ),
    ),
    pages=(
        Page(_c("10:05:35.512"), "incident.triggered"),
        Page(_c("10:07:44.310"), "incident.acknowledged", "alice-ng"),
        Page(_c("10:20:12.004"), "incident.annotated", "bob-lee", "Correlated with checkout-api v4.2.0 (prod, 10:01)."),
        Page(_c("10:52:03.118"), "incident.resolved", "bob-lee"),
    ),
    chat=(
        Say(_c("10:06:10"), "alice-ng", "paged for checkout 5xx, looking"),
        Say(_c("10:09:02"), "bob-lee", "Declaring SEV2 for checkout failures. I'm IC, alice is tech lead.", "declare"),
        Say(
            _c("10:12:40"),
            "carol-diaz",
            "app errors all say address validation rejected the request, with uid= of real customers",
        ),
        Say(
            _c("10:16:05"),
            "alice-ng",
            "staging also got a deploy at 10:01 (v4.3.0-rc.1), ignore that one; prod got v4.2.0 at 10:01",
        ),
        Say(
            _c("10:19:30"),
            "bob-lee",
            "*[SEV2] Checkout — Update #1 (10:19 UTC)*: checkout requests failing since "
            "10:02 UTC, suspect checkout-api v4.2.0. Next update 10:34.",
            "update",
        ),
        Say(_c("10:26:30"), "bob-lee", "Decision: roll back checkout-api to v4.1.3"),
        Say(_c("10:31:20"), "alice-ng", "rollback to v4.1.3 complete at 10:30, 5xx dropping"),
        Say(
            _c("10:34:00"),
            "bob-lee",
            "*[SEV2] Checkout — Update #2 (10:34 UTC)*: rolled back at 10:30 UTC; errors "
            "back to baseline since 10:31 UTC. Monitoring.",
            "update",
        ),
        Say(
            _c("10:49:10"),
            "bob-lee",
            "*[SEV2] Checkout — Update #3 (10:49 UTC)*: stable for 18 minutes. Resolving shortly.",
            "update",
        ),
        Say(_c("10:52:20"), "bob-lee", "resolved. postmortem owner: carol", "resolve"),
    ),
    people=(("alice-ng", "Alice Ng"), ("bob-lee", "Bob Lee"), ("carol-diaz", "Carol Diaz")),
    slo={
        "name": "availability",
        "objective": 99.9,
        "period": "30d",
        "type": "request",
        "source": "nginx",
        "good": "status < 500",
    },
    spec={
        "severity": "SEV2",
        "severity_policy": "sev",
        "status": "resolved",
        "roles": {"incident_commander": "@bob-lee", "technical_lead": "@alice-ng"},
        "runbook": "https://runbooks.acme.example/checkout/error-budget-burn",
        "authors": ["@carol-diaz", "@bob-lee"],
        "date": "2025-03-12",
        "tags": ["checkout", "deploy", "validation"],
        "narrative": {
            "summary": "checkout-api v4.2.0, rolled out to production at 10:01 UTC, shipped a new address "
            "validation client that rejected requests without a postcode. Checkout and cart requests failed from "
            "10:02 UTC until a rollback to v4.1.3 completed at 10:30 UTC; errors were back at baseline from "
            "10:31 UTC. A staging deploy of v4.3.0-rc.1 at the same time was unrelated.",
            "root_cause": "The new address validation client in v4.2.0 treated the postcode as required; "
            "customers in countries without postcodes, and saved carts without one, were rejected.",
            "trigger": "Production rollout of checkout-api v4.2.0 at 10:01 UTC.",
            "resolution": "Rolled back to v4.1.3.",
            "customer_impact": "Some customers could not check out or load their cart for about half an hour.",
            "leadup": "checkout-api v4.2.0 replaced the address validation client. The new client was tested "
            "against the contract suite, whose fixtures hold addresses with a postcode only. A release candidate of the "
            "next version went to staging at the same time as v4.2.0 went to production.",
            "lucky": ["The rollback target v4.1.3 was still cached on every node, so the rollback took minutes"],
            "contributing_factors": ["Contract tests of the address client used only German addresses"],
            "went_well": ["The burn-rate alert paged within 4 minutes"],
            "went_wrong": ["Background 5xx and health checks made the first graphs hard to read"],
            "lessons": ["Validate new required fields against production data before enforcing them"],
        },
        "five_whys": [
            {"why": "Why did checkouts fail?", "answer": "The address validation client rejected the request."},
            {"why": "Why did it reject them?", "answer": "v4.2.0 made the postcode a required field."},
            {"why": "Why was that not caught?", "answer": "Contract tests covered only addresses with postcodes."},
        ],
        "action_items": [
            {
                "action": "Add contract tests with addresses without postcodes",
                "owner": "@checkout-team",
                "due": "2025-03-18",
                "priority": "P1",
                "status": "open",
            },
            {
                "action": "Canary checkout-api on the checkout success rate before full rollout",
                "owner": "@sre",
                "due": "2025-03-25",
                "priority": "P2",
                "status": "open",
            },
        ],
    },
)


# ----------------------------------------------------------------------------- orders (logfmt, tracebacks)

_o = _at("2025-03-11")

_ORDERS_TB = (
    "Traceback (most recent call last):",
    '  File "/app/orders/api/views.py", line 212, in get_order',
    "    return Response(OrderSerializer(order).data)",
    '  File "/usr/local/lib/python3.12/site-packages/rest_framework/serializers.py", line 555, in data',
    "    ret = super().data",
    '  File "/app/orders/api/serializers.py", line 88, in to_representation',
    '    data["total"] = format_money(instance.total, instance.meta["currency"])',
    "KeyError: 'currency'",
)


def _orders_error(rng: Rng, path: str, uid: str) -> tuple[str, list[str]]:
    return f"Internal Server Error: {path}", list(_ORDERS_TB)


ORDERS = Scenario(
    id="INC-2025-0311-orders",
    title="Order lookups failing with KeyError after orders-api v3.8.0",
    service="orders-api",
    seed="orders",
    window=(_o("13:00:00"), _o("15:00:00")),
    rate_per_minute=150.0,
    users=2000,
    endpoints=(
        Endpoint("GET", "/v1/orders/{id}", 0.6, 40),
        Endpoint("POST", "/v1/orders", 0.25, 120),
        Endpoint("GET", "/v1/orders", 0.15, 80),
    ),
    phases=(Phase(_o("13:38:45"), _o("14:07:12"), ("/v1/orders/{id}",), error_ratio=0.35, statuses=(500,)),),
    background_5xx=0.001,
    request_log=False,
    app_log="logfmt",
    metrics=("requests_by_status",),
    deploy_format="argocd",
    chat_format="transcript",
    error_lines=_orders_error,
    culprit="orders-380",
    rollback="orders-rollback",
    deploys=(
        Deploy(
            "orders-372",
            "orders-api",
            "orders-api",
            "v3.7.2",
            "production",
            _o("13:04:10"),
            _o("13:06:02"),
            "orders-api v3.7.2",
        ),
        Deploy(
            "billing",
            "billing-worker",
            "billing-worker",
            "v1.12.0",
            "production",
            _o("13:12:30"),
            _o("13:13:58"),
            "billing-worker v1.12.0",
        ),
        Deploy(
            "orders-380",
            "orders-api",
            "orders-api",
            "v3.8.0",
            "production",
            _o("13:36:02"),
            _o("13:38:40"),
            "orders-api v3.8.0: money formatting moved to the serializer",
        ),
        Deploy(
            "orders-rollback",
            "orders-api",
            "orders-api",
            "v3.7.2",
            "production",
            _o("14:05:30"),
            _o("14:07:10"),
            "Rollback to v3.7.2",
            actor="dan-okafor",
            rollback_of="orders-380",
        ),
    ),
    alerts=(
        Alert(
            "KubeJobFailed",
            "billing-worker",
            "warning",
            _o("13:20:04.551"),
            _o("13:35:04.551"),
            "Job billing-worker-reconcile failed",
            'kube_job_failed{job_name=~"billing-worker-.*"} > 0',
        ),
        Alert(
            "OrdersHigh5xxRate",
            "orders-api",
            "critical",
            _o("13:44:07.730"),
            _o("14:10:37.730"),
            "orders-api 5xx ratio above 5% for 5m",
            'sum(increase(http_requests_total{service="orders-api",code=~"5.."}[5m])) / '
            'sum(increase(http_requests_total{service="orders-api"}[5m])) > 0.05',
        ),
    ),
    pages=(
        Page(_o("13:44:12.514"), "incident.triggered"),
        Page(_o("13:47:30.201"), "incident.acknowledged", "dan-okafor"),
        Page(_o("14:31:05.902"), "incident.resolved", "erin-walsh"),
    ),
    chat=(
        Say(_o("13:48:02"), "dan-okafor", "ack'd the OrdersHigh5xxRate page, tracebacks say KeyError: 'currency'"),
        Say(
            _o("13:51:40"),
            "erin-walsh",
            "declaring SEV2, I'll run comms. orders lookups failing for a third of requests",
            "declare",
        ),
        Say(
            _o("13:58:15"),
            "dan-okafor",
            "old orders have no meta.currency; v3.8.0 moved money formatting into the serializer (synced 13:38)",
        ),
        Say(
            _o("14:03:00"),
            "erin-walsh",
            "status update: order lookups failing since 13:38 UTC, rollback of orders-api v3.8.0 about to start",
            "update",
        ),
        Say(_o("14:04:10"), "erin-walsh", "ok let's roll back to v3.7.2"),
        Say(_o("14:07:40"), "dan-okafor", "argo synced v3.7.2 at 14:07, KeyErrors stopped"),
        Say(_o("14:18:00"), "erin-walsh", "status update: back to normal since 14:08 UTC, watching", "update"),
        Say(_o("14:31:20"), "erin-walsh", "all clear, closing the incident", "resolve"),
    ),
    people=(("dan-okafor", "Dan Okafor"), ("erin-walsh", "Erin Walsh")),
    slo=None,
    spec={
        "severity": "SEV2",
        "severity_policy": "sev",
        "status": "resolved",
        "roles": {"incident_commander": "@erin-walsh", "technical_lead": "@dan-okafor"},
        "runbook": "https://runbooks.acme.example/orders/high-5xx",
        "authors": ["@erin-walsh"],
        "date": "2025-03-12",
        "tags": ["orders", "deploy", "data"],
        "narrative": {
            "summary": "orders-api v3.8.0, synced by Argo CD at 13:38 UTC, read a currency field that orders "
            "created before 2023 do not have. About a third of order lookups failed with KeyError from 13:38 UTC "
            "until v3.7.2 was synced back at 14:07 UTC.",
            "root_cause": "The serializer of v3.8.0 assumed every order carries meta.currency; legacy orders do not.",
            "trigger": "Argo CD sync of orders-api v3.8.0 at 13:38 UTC.",
            "resolution": "Synced orders-api back to v3.7.2.",
            "customer_impact": "Customers opening older orders saw an error page.",
            "leadup": "orders-api v3.8.0 moved money formatting into the order serializer, which reads "
            "meta.currency. Orders created before 2023 were never backfilled with that field. Argo CD synced v3.8.0 "
            "automatically when the tag was pushed.",
            "contributing_factors": ["Legacy orders were never backfilled with meta.currency"],
            "went_well": ["The tracebacks named the missing key, so the cause was found from the logs alone"],
            "went_wrong": [
                "There is no request log and no SLO for orders-api: only per-minute counts showed the impact"
            ],
            "lucky": ["New orders, the busiest path, were not affected"],
            "lessons": ["Test serializers on a sample of production data, old records included"],
        },
        "five_whys": [
            {"why": "Why did order lookups fail?", "answer": "The serializer raised KeyError: 'currency'."},
            {"why": "Why was currency missing?", "answer": "Orders created before 2023 have no meta.currency."},
            {"why": "Why did tests pass?", "answer": "Test fixtures hold only orders created after 2023."},
        ],
        "action_items": [
            {
                "action": "Backfill meta.currency on legacy orders",
                "owner": "@orders-team",
                "due": "2025-03-21",
                "priority": "P1",
                "status": "open",
            },
            {
                "action": "Add orders created before 2023 to the serializer test fixtures",
                "owner": "@orders-team",
                "due": "2025-03-28",
                "priority": "P2",
                "status": "open",
            },
        ],
    },
)


# ----------------------------------------------------------------------------- search (latency only)

_s = _at("2025-03-11")

SEARCH = Scenario(
    id="INC-2025-0311-search",
    title="Search latency 100x after search-api v1.8.0 disabled the query cache",
    service="search-api",
    seed="search",
    window=(_s("18:00:00"), _s("20:00:00")),
    rate_per_minute=240.0,
    users=3500,
    endpoints=(
        Endpoint("GET", "/api/v1/search", 0.75, 22),
        Endpoint("GET", "/api/v1/suggest", 0.25, 12),
    ),
    phases=(Phase(_s("18:47:40"), _s("19:12:30"), ("/api/v1/search", "/api/v1/suggest"), slow=100.0),),
    latency_threshold_ms=300.0,
    app_log="jsonl",
    metrics=("latency_p90",),
    chat_format="transcript",
    culprit="search-180",
    rollback="search-rollback",
    deploys=(
        Deploy(
            "search-171",
            "search-api",
            "search-api",
            "v1.7.1",
            "production",
            _s("18:10:05"),
            _s("18:12:44"),
            "search-api v1.7.1",
        ),
        Deploy(
            "search-180",
            "search-api",
            "search-api",
            "v1.8.0",
            "production",
            _s("18:44:50"),
            _s("18:47:31"),
            "search-api v1.8.0: query cache behind a feature flag (default off)",
        ),
        Deploy(
            "search-rollback",
            "search-api",
            "search-api",
            "v1.7.1",
            "production",
            _s("19:08:50"),
            _s("19:12:25"),
            "Rollback to v1.7.1",
            actor="gus-moreau",
            rollback_of="search-180",
        ),
    ),
    alerts=(
        Alert(
            "SearchLatencyHigh",
            "search-api",
            "critical",
            _s("18:53:12.040"),
            _s("19:15:42.040"),
            "search-api p90 latency above 1 s for 5m",
            'histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket{service="search-api"}'
            "[5m]))) > 1",
            repeat_at=_s("18:58:12.000"),
        ),
    ),
    pages=(
        Page(_s("18:53:16.331"), "incident.triggered"),
        Page(_s("18:55:40.918"), "incident.acknowledged", "gus-moreau"),
        Page(_s("19:31:02.470"), "incident.resolved", "gus-moreau"),
    ),
    chat=(
        Say(_s("18:56:30"), "gus-moreau", "search p90 is at 2-3 seconds, no errors though"),
        Say(_s("18:59:05"), "hana-ito", "declaring SEV1: search is unusably slow for everyone", "declare"),
        Say(
            _s("19:03:40"),
            "gus-moreau",
            "v1.8.0 went out at 18:47 and put the query cache behind a flag that defaults to off",
        ),
        Say(
            _s("19:05:00"),
            "hana-ito",
            "update: search slow since 18:47 UTC, rolling back search-api to v1.7.1",
            "update",
        ),
        Say(_s("19:13:10"), "gus-moreau", "rollback done 19:12, p90 back to ~30 ms"),
        Say(_s("19:20:00"), "hana-ito", "update: latency normal since 19:13 UTC", "update"),
        Say(_s("19:31:30"), "hana-ito", "resolved", "resolve"),
    ),
    people=(("gus-moreau", "Gus Moreau"), ("hana-ito", "Hana Ito")),
    slo={
        "name": "latency",
        "objective": 99.0,
        "period": "30d",
        "type": "request",
        "source": "nginx",
        "good": "duration_s < 0.3",
    },
    spec={
        "severity": "SEV1",
        "severity_policy": "sev",
        "status": "resolved",
        "roles": {"incident_commander": "@hana-ito", "technical_lead": "@gus-moreau"},
        "runbook": "https://runbooks.acme.example/search/latency",
        "authors": ["@hana-ito", "@gus-moreau"],
        "date": "2025-03-12",
        "tags": ["search", "latency", "feature-flag"],
        "narrative": {
            "summary": "search-api v1.8.0, rolled out at 18:47 UTC, put the query cache behind a feature flag that "
            "defaults to off. Every search went to the index: p90 latency rose from about 30 ms to about 3 s "
            "from 18:47 UTC until the rollback to v1.7.1 completed at 19:12 UTC. No request failed.",
            "root_cause": "The new feature flag for the query cache defaulted to off in production.",
            "trigger": "Rollout of search-api v1.8.0 at 18:47 UTC.",
            "resolution": "Rolled back to v1.7.1; the cache flag now defaults to on.",
            "customer_impact": "Search and suggestions took seconds instead of milliseconds for 25 minutes.",
            "leadup": "search-api v1.8.0 put the query cache behind a new feature flag. The flag was meant to default "
            "to on; its default in the production configuration was off. The canary judged the rollout on its error "
            "rate, which stayed at zero.",
            "contributing_factors": ["The canary analysis looked at errors only, not latency"],
            "went_well": ["The latency alert fired and paged although no request failed"],
            "went_wrong": ["The error-rate dashboards stayed green and first suggested a client-side problem"],
            "lucky": ["The search index kept up with the uncached load, so requests were slow, not failing"],
            "lessons": ["A latency SLO catches what an availability SLO cannot"],
        },
        "five_whys": [
            {"why": "Why was search slow?", "answer": "Every query went to the index: the query cache was off."},
            {"why": "Why was the cache off?", "answer": "v1.8.0 put it behind a flag that defaults to off."},
            {"why": "Why did the canary not catch it?", "answer": "The canary checks error rate only, not latency."},
        ],
        "action_items": [
            {
                "action": "Add p90 latency to the canary analysis",
                "owner": "@search-team",
                "due": "2025-03-20",
                "priority": "P1",
                "status": "open",
            },
            {
                "action": "Default new performance flags to the current behaviour",
                "owner": "@search-team",
                "due": "2025-03-27",
                "priority": "P2",
                "status": "open",
            },
        ],
    },
)

SCENARIOS = (CHECKOUT, ORDERS, SEARCH)
