"""Django in the benchmark process: the seed, and the SQL of one call counted and timed."""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid

from .config import (
    AUTOMATE_BODY,
    CASE_JOURNEYS,
    GATE_PATH,
    HOST,
    HUMAN_BODY,
    PING_PATH,
    ROOT,
    case_body,
)


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def seed() -> str:
    """The journey under test; returns the plain API key."""
    from audit.services.ledger import Actor
    from oversight.models import AISystem, AuthorityLevel, Journey, JudgementPoint, TriggerCondition
    from oversight.services.credentials import create_api_key

    system = AISystem.objects.create(
        slug="support-assistant",
        name="Support assistant",
        provider="Benchmark",
        intended_purpose="Answers customer questions and proposes refunds.",
    )
    reviewer = AuthorityLevel.objects.create(name="Reviewer", rank=1)
    lead = AuthorityLevel.objects.create(
        name="Team lead", rank=2, may_override=True, may_approve_irreversible=True
    )
    journey = Journey.objects.create(
        ai_system=system,
        slug="refunds",
        name="Refunds",
        required_context_keys=["order_id", "customer_tier"],
        automation_state="running",  # live: new journeys start in shadow
    )
    points = [
        # slug, name, level, combinator, conditions (signal, operator, value)
        ("low-confidence", "Low confidence", reviewer, "any", [("confidence", "lt", 0.7)]),
        ("irreversible-action", "Irreversible action", lead, "any", [("irreversible", "is_true")]),
        ("high-amount", "High amount", lead, "any", [("amount", "gt", 500)]),
        ("upset-customer", "Upset customer", reviewer, "any", [("sentiment", "lt", -0.5)]),
        (
            "identity-fraud",
            "Identity mismatch with recent fraud",
            lead,
            "all",
            [("identity_mismatch", "is_true"), ("recent_fraud_attempts", "gte", 1)],
        ),
    ]
    for slug, name, level, combinator, conditions in points:
        point = JudgementPoint.objects.create(
            journey=journey,
            slug=slug,
            name=name,
            required_level=level,
            combinator=combinator,
            four_eyes=slug == "identity-fraud",
        )
        for position, (signal_name, operator, *value) in enumerate(conditions):
            TriggerCondition.objects.create(
                judgement_point=point,
                signal=signal_name,
                operator=operator,
                value=value[0] if value else None,
                position=position,
            )
    # Eight journeys for the case-opening row: one per concurrent caller, each routing every
    # call to a person, so the callers contend only on what all case openings share.
    for number in range(1, CASE_JOURNEYS + 1):
        case_journey = Journey.objects.create(
            ai_system=system,
            slug=f"cases-{number}",
            name=f"Cases {number}",
            automation_state="running",  # live: the low-confidence point opens the cases
        )
        point = JudgementPoint.objects.create(
            journey=case_journey,
            slug="low-confidence",
            name="Low confidence",
            required_level=reviewer,
        )
        TriggerCondition.objects.create(
            judgement_point=point, signal="confidence", operator="lt", value=0.7, position=0
        )
    _, plain = create_api_key(ai_system=system, name="benchmark", actor=Actor.system("benchmark"))
    return plain


class _QueryTimer:
    """connection.execute_wrapper: wall time of every statement sent through a cursor."""

    def __init__(self):
        self.calls: list[tuple[str, float]] = []

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.calls.append((sql, time.perf_counter() - start))


# Transaction control is logged by CaptureQueriesContext but bypasses execute wrappers.
_NOT_WRAPPED = ("BEGIN", "COMMIT", "ROLLBACK")


def _short_sql(sql: str) -> str:
    sql = " ".join(sql.split())
    if '"oversight_aisystemapikey" k ' in sql:  # oversight.api.key_lookup
        with_journey = '"oversight_journey" j ' in sql
        return "SELECT … key, AI system" + (", journey + rules stamp (one read)" * with_journey)
    head = sql.split(" WHERE ")[0]
    if head.startswith("SELECT "):
        return "SELECT … " + head[head.find(" FROM ") + 1 :][:62]
    return head[:71]


def measure_in_process(api_key: str, calls: int) -> tuple[dict, dict[str, int]]:
    """Queries per call (exact) and the time of each (mean over `calls` calls); also returns
    how many gate evaluations and cases these calls created."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST=HOST, HTTP_AUTHORIZATION=f"Api-Key {api_key}")
    senders = {
        "ping": (200, lambda: client.get(PING_PATH)),
        "gate_automate": (200, lambda: client.post(GATE_PATH, AUTOMATE_BODY, "application/json")),
        "gate_human": (202, lambda: client.post(GATE_PATH, HUMAN_BODY, "application/json")),
        "gate_case": (202, lambda: client.post(GATE_PATH, case_body(0), "application/json")),
        "gate_idempotent": (
            200,
            lambda: client.post(
                GATE_PATH,
                AUTOMATE_BODY,
                "application/json",
                headers={"Idempotency-Key": str(uuid.uuid4())},
            ),
        ),
    }
    result = {}
    for name, (expected, send) in senders.items():
        send()  # warm caches (URL resolver, serializers) before counting
        with CaptureQueriesContext(connection) as captured:
            response = send()
        # Read now: the next request's request_started signal empties the connection's log.
        sqls = [_short_sql(q["sql"]) for q in captured.captured_queries]
        if response.status_code != expected:
            raise SystemExit(f"{name}: HTTP {response.status_code} {response.content[:500]!r}")
        timer = _QueryTimer()
        with connection.execute_wrapper(timer):
            start = time.perf_counter()
            for _ in range(calls):
                send()
            elapsed = time.perf_counter() - start
        wrapped = [i for i, sql in enumerate(sqls) if sql not in _NOT_WRAPPED]
        per_query: list[float | None] = [None] * len(sqls)
        if len(timer.calls) == calls * len(wrapped):  # same statements every call: by position
            for slot, index in enumerate(wrapped):
                samples = [t for _, t in timer.calls[slot :: len(wrapped)]]
                per_query[index] = statistics.fmean(samples) * 1000
        result[name] = {
            "queries": len(sqls),
            "sql": sqls,
            "ms_per_call": elapsed / calls * 1000,
            "db_ms_per_call": sum(t for _, t in timer.calls) / calls * 1000,
            "per_query_ms": per_query,
        }
    connection.close()
    made = {"evaluations": 4 * (calls + 2), "cases": 2 * (calls + 2)}  # 4 gate senders, 2 cases
    return result, made


def profile_gate(api_key: str, calls: int) -> int:
    """--profile: cProfile of in-process gate calls that automate, by cumulative time."""
    import cProfile
    import pstats

    from django.db import connection
    from django.test import Client

    client = Client(HTTP_HOST=HOST, HTTP_AUTHORIZATION=f"Api-Key {api_key}")
    client.post(GATE_PATH, AUTOMATE_BODY, "application/json")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        client.post(GATE_PATH, AUTOMATE_BODY, "application/json")
    profiler.disable()
    connection.close()
    print(f"\ncProfile of {calls} in-process gate calls (automate), by cumulative time:")
    stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs().sort_stats("cumulative")
    stats.print_stats(r"views|authentication|idempotency|serializers|gate|triggers|pii|query", 30)
    return calls + 1  # gate evaluations created
