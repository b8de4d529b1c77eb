"""The Python client (clients/python) against a live server: gate, cases, decisions, outcomes,
retries with one idempotency key, webhook verification and the guard decorator."""

import asyncio
import hashlib
import hmac
import threading
import time

import httpx
import pytest
from django.db import OperationalError, transaction
from hitl_oversight_client import (
    ActionRejected,
    AsyncOversightClient,
    ChangesRequired,
    DecisionTimeout,
    OversightClient,
    OversightError,
    OversightUnavailable,
    PendingHumanDecision,
    RetryPolicy,
    verify_webhook,
)

from oversight.models import Case, GateEvaluation, Outcome
from oversight.services.cases import claim_case
from oversight.services.decisions import DecisionInput, decide_case
from tests.factories import OverrideReasonFactory

FAST = RetryPolicy(attempts=3, base=0.01, cap=0.05)
REFUND = {"type": "refund", "amount": "80.00", "currency": "EUR"}


def decide(case_id, reviewer, outcome, **fields):
    """A person decides, from a thread beside the live server that the client polls.

    On SQLite the test database is one shared in-memory cache: a poll reading the case table at
    that moment makes the write fail with "table is locked". Nothing is kept of a failed try
    (one transaction), so it is tried again, as a person would press the button again.
    """
    for attempt in range(40):
        try:
            with transaction.atomic():
                case = Case.objects.get(pk=case_id)
                claim_case(case=case, reviewer=reviewer)
                decide_case(
                    case=case, reviewer=reviewer, decision=DecisionInput(outcome=outcome, **fields)
                )
            return
        except OperationalError as error:
            if "locked" not in str(error) or attempt == 39:
                raise
            time.sleep(0.05)


def modify(case_id, reviewer):
    decide(
        case_id,
        reviewer,
        "modify",
        final_action={"option": "partial refund", "amount": "40.00"},
        override_reason=OverrideReasonFactory(code="policy-exception"),
        rationale="Opened item: half refund under the returns policy.",
    )


@pytest.fixture
def client(product):
    with OversightClient(product.url, product.key, retry=FAST) as client:
        yield client


def test_gate_automates_or_opens_a_case_and_the_decision_is_read(client, product):
    automated = client.gate("refunds", action=REFUND, signals={"confidence": 0.95})
    assert automated.automate and automated.case_id is None

    routed = client.gate("refunds", action=REFUND, signals={"confidence": 0.4})
    assert routed.route == "human"
    assert routed.matched == ["low-confidence"]
    assert client.get_case(routed.case_id).instruction == "wait"

    modify(routed.case_id, product.reviewer)
    case = client.wait_for_decision(routed.case_id, timeout=5, poll_interval=0.05)
    assert case.instruction == "proceed_with_changes"
    assert case.action == {"option": "partial refund", "amount": "40.00"}
    assert case.decision["overridden"] is True


def test_waiting_returns_when_a_person_decides_meanwhile(client, product):
    routed = client.gate("refunds", action=REFUND, signals={"confidence": 0.3})
    timer = threading.Timer(0.3, decide, (routed.case_id, product.reviewer, "approve"))
    timer.start()
    try:
        case = client.wait_for_decision(routed.case_id, timeout=10, poll_interval=0.05)
    finally:
        timer.join()
    assert case.instruction == "proceed"


def test_waiting_gives_up_after_the_timeout(client):
    routed = client.gate("refunds", action=REFUND, signals={"confidence": 0.3})
    started = time.monotonic()
    with pytest.raises(DecisionTimeout) as raised:
        client.wait_for_decision(routed.case_id, timeout=0.3, poll_interval=0.05)
    assert raised.value.case_id == routed.case_id
    assert time.monotonic() - started < 3


def test_api_errors_arrive_typed_and_create_nothing(client):
    with pytest.raises(OversightError) as raised:
        client.gate("no-such-journey", action=REFUND, signals={"confidence": 0.9})
    assert raised.value.status == 404
    assert raised.value.code == "unknown_journey"
    assert raised.value.request_id
    with pytest.raises(OversightError) as raised:
        client.gate("refunds", action={"type": "refund", "amount": "5"}, signals={})
    assert raised.value.code == "invalid_input"
    assert "action.currency" in raised.value.fields
    assert GateEvaluation.objects.count() == 0


def test_a_wrong_key_is_refused(product):
    with (
        OversightClient(product.url, "not-a-key", retry=FAST) as client,
        pytest.raises(OversightError) as raised,
    ):
        client.ping()
    assert raised.value.status == 401


def test_a_lost_answer_is_retried_with_the_same_key_and_nothing_is_done_twice(product):
    """The first answer is lost on the way back (the server did the work): the retry carries
    the same Idempotency-Key, so the product replays its answer instead of opening a second
    case."""
    real = httpx.HTTPTransport()
    sent_keys = []

    class LoseFirstAnswer(httpx.BaseTransport):
        def handle_request(self, request):
            sent_keys.append(request.headers.get("Idempotency-Key"))
            response = real.handle_request(request)
            if len(sent_keys) == 1:
                response.read()
                raise httpx.ReadTimeout("answer lost", request=request)
            return response

    with OversightClient(product.url, product.key, retry=FAST, transport=LoseFirstAnswer()) as c:
        routed = c.gate("refunds", action=REFUND, signals={"confidence": 0.2})
    assert len(sent_keys) == 2 and sent_keys[0] == sent_keys[1] and sent_keys[0]
    assert Case.objects.count() == 1
    assert str(Case.objects.get().pk) == routed.case_id


def test_503_and_429_wait_for_retry_after_then_give_up_bounded():
    calls = []

    def busy(request):
        calls.append((time.monotonic(), request.headers["Idempotency-Key"]))
        status = 429 if len(calls) == 1 else 503
        return httpx.Response(status, headers={"Retry-After": "0.02"})

    policy = RetryPolicy(attempts=3, base=5, cap=0.05)
    with (
        OversightClient(
            "http://oversight.test", "k", retry=policy, transport=httpx.MockTransport(busy)
        ) as c,
        pytest.raises(OversightUnavailable, match="failed 3 times"),
    ):
        c.gate("refunds", action=REFUND)
    assert len(calls) == 3
    assert len({key for _, key in calls}) == 1
    assert calls[-1][0] - calls[0][0] < 1  # Retry-After, capped, not the 5 s base back-off


def test_an_unreachable_product_fails_closed():
    with (
        OversightClient("http://127.0.0.1:9", "k", retry=FAST, timeout=0.5) as client,
        pytest.raises(OversightUnavailable),
    ):
        client.ping()


def test_outcomes_are_recorded(client):
    routed = client.gate("refunds", action=REFUND, signals={"confidence": 0.9})
    recorded = client.report_outcome(evaluation=routed.evaluation, complaint=True, note="upset")
    outcome = Outcome.objects.get(pk=recorded["id"])
    assert outcome.complaint is True
    with pytest.raises(ValueError, match="Name the evaluation or the case"):
        client.report_outcome(complaint=True)


def test_the_async_client_does_the_same(product):
    async def walk():
        async with AsyncOversightClient(product.url, product.key, retry=FAST) as client:
            assert (await client.ping()) == {"ai_system": "support-assistant"}
            routed = await client.gate("refunds", action=REFUND, signals={"confidence": 0.1})
            case = await client.get_case(routed.case_id)
            with pytest.raises(DecisionTimeout):
                await client.wait_for_decision(routed.case_id, timeout=0.2, poll_interval=0.05)
            return routed, case

    routed, case = asyncio.run(walk())
    assert routed.route == "human" and case.instruction == "wait"


# Webhooks ------------------------------------------------------------------------------------


def signed(body: bytes, secret: str, timestamp: int) -> dict[str, str]:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-HITL-Timestamp": str(timestamp), "X-HITL-Signature": f"v1={mac}"}


def test_verify_webhook_accepts_the_products_signature():
    from oversight.services.webhooks import sign

    body, now = b'{"event":"case.decided"}', 1_800_000_000
    headers = {"X-HITL-Timestamp": str(now), "X-HITL-Signature": f"v1={sign(body, 's3', now)}"}
    assert verify_webhook(headers, body, "s3", now=now + 10)
    lower = {name.lower(): value for name, value in headers.items()}
    assert verify_webhook(lower, body, "s3", now=now)


@pytest.mark.parametrize(
    "change",
    ["body", "secret", "stale", "future", "no-signature", "bad-timestamp"],
)
def test_verify_webhook_refuses_anything_else(change):
    body, now, secret = b'{"event":"case.decided"}', 1_800_000_000, "s3"
    headers = signed(body, secret, now)
    check_now = now
    if change == "body":
        body = body.replace(b"decided", b"Decided")
    elif change == "secret":
        secret = "other"
    elif change == "stale":
        check_now = now + 301
    elif change == "future":
        check_now = now - 301
    elif change == "no-signature":
        del headers["X-HITL-Signature"]
    else:
        headers["X-HITL-Timestamp"] = "soon"
    assert not verify_webhook(headers, body, secret, now=check_now)


# The guard -----------------------------------------------------------------------------------


def test_guard_runs_the_function_only_when_the_gate_automates(client):
    done = []

    @client.guard(
        "refunds",
        action=lambda order_id, amount, confidence: {**REFUND, "amount": amount},
        signals=lambda order_id, amount, confidence: {"confidence": confidence},
        context=lambda order_id, amount, confidence: {"order_id": order_id},
    )
    def refund(order_id, amount, confidence):
        done.append(order_id)
        return "refunded"

    assert refund("A-1", "20.00", 0.95) == "refunded"
    with pytest.raises(PendingHumanDecision) as raised:
        refund("A-2", "20.00", 0.2)
    assert done == ["A-1"]
    case = Case.objects.get(pk=raised.value.case_id)
    assert case.context == {"order_id": "A-2"}
    assert "confidence is below 0.7 (was 0.2)" in str(raised.value)


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [("approve", "ran"), ("modify", ChangesRequired), ("reject", ActionRejected)],
)
def test_guard_waits_for_the_person_and_runs_only_on_approval(client, product, outcome, expected):
    done = []

    @client.guard(
        "refunds", action=REFUND, signals={"confidence": 0.2}, wait=10, poll_interval=0.05
    )
    def refund():
        done.append(True)
        return "ran"

    def person_decides():
        case = Case.objects.latest("opened_at")
        if outcome == "modify":
            modify(case.pk, product.reviewer)
        elif outcome == "reject":
            decide(
                case.pk,
                product.reviewer,
                "reject",
                override_reason=OverrideReasonFactory(code="fraud-risk"),
                rationale="The order was already refunded once.",
            )
        else:
            decide(case.pk, product.reviewer, "approve")

    timer = threading.Timer(0.4, person_decides)
    timer.start()
    try:
        if expected == "ran":
            assert refund() == "ran"
            assert done == [True]
            return
        with pytest.raises(expected) as raised:
            refund()
    finally:
        timer.join()
    assert done == []
    if expected is ChangesRequired:
        assert raised.value.action == {"option": "partial refund", "amount": "40.00"}


def test_guard_fails_closed_when_the_product_is_unreachable():
    done = []
    with OversightClient("http://127.0.0.1:9", "k", retry=FAST, timeout=0.5) as client:

        @client.guard("refunds", action=REFUND)
        def refund():
            done.append(True)

        with pytest.raises(OversightUnavailable):
            refund()
    assert done == []


# Memory and corrections ----------------------------------------------------------------------


def test_precedents_and_corrections_through_the_client(client, product):
    routed = [client.gate("refunds", action=REFUND, signals={"confidence": c}) for c in (0.3, 0.5)]
    for answer in routed:
        modify(answer.case_id, product.reviewer)

    memory = client.precedents("refunds", signals={"confidence": 0.31}, limit=1)
    assert memory["would_fire"] == ["low-confidence"]
    [best] = memory["results"]
    assert best["case"] == routed[0].case_id
    assert best["human"]["override_reason"] == "policy-exception"

    taken = list(client.corrections(page_size=1))
    assert [record["case"] for record in taken] == [a.case_id for a in routed]


# Approval tokens -----------------------------------------------------------------------------


def test_an_approval_changed_after_the_fact_does_not_run(client, product):
    """The agent's arguments change while it waits (a mutable order dict): the approval was for
    the old amount, so the function does not run."""
    from hitl_oversight_client import ApprovalInvalid

    order = {"amount": "80.00"}
    done = []

    @client.guard(
        "refunds",
        action=lambda order: {**REFUND, "amount": order["amount"]},
        signals={"confidence": 0.2},
        wait=10,
        poll_interval=0.05,
    )
    def refund(order):
        done.append(order["amount"])

    def approve_then_tamper():
        case = Case.objects.latest("opened_at")
        decide(case.pk, product.reviewer, "approve")
        order["amount"] = "800.00"

    timer = threading.Timer(0.4, approve_then_tamper)
    timer.start()
    try:
        with pytest.raises(ApprovalInvalid, match="another action"):
            refund(order)
    finally:
        timer.join()
    assert done == []


def test_approvals_are_checked_offline_for_case_action_expiry_and_key(client, product):
    import datetime

    from hitl_oversight_client import (
        ApprovalInvalid,
        approved_as_sent,
        approved_changes,
        verify_approval,
    )

    routed = client.gate("refunds", action=REFUND, signals={"confidence": 0.2})
    modify(routed.case_id, product.reviewer)
    case = client.get_case(routed.case_id)
    token = case.raw["next_step"]["approval_token"]
    key = client.approval_key()
    approved = approved_changes(case.action)

    approval = verify_approval(token, key, case_id=case.id, approved=approved)
    assert approval.decided_by == "sam" and approval.outcome == "modify"
    assert client.verify_approval(case, approved) == approval

    later = approval.expires_at + datetime.timedelta(seconds=1)
    other_key = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
    refusals = {
        "expired": {"approved": approved, "case_id": case.id, "now": later},
        "is not for case": {"approved": approved, "case_id": routed.evaluation},
        "another action": {"approved": approved_as_sent(REFUND), "case_id": case.id},
    }
    for reason, kwargs in refusals.items():
        with pytest.raises(ApprovalInvalid, match=reason):
            verify_approval(token, key, **kwargs)
    with pytest.raises(ApprovalInvalid, match="not valid"):
        verify_approval(token, other_key, case_id=case.id, approved=approved)
    with pytest.raises(ApprovalInvalid, match="No approval token"):
        verify_approval(None, key, case_id=case.id, approved=approved)


def test_the_agent_loop_example_runs_as_documented(client, product):
    """clients/python/examples/agent_loop.py, the worked example of docs/agents.md."""
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "clients/python/examples/agent_loop.py"
    spec = importlib.util.spec_from_file_location("agent_loop", script)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)

    log = example.run(client)

    assert log[0] == "A-10023: refunded 24.90 EUR on A-10023"
    assert log[1].startswith("A-10024: a person decides (case ")
    assert log[2].startswith("A-10025: handed to a person (case ")
    assert Case.objects.count() == 2
