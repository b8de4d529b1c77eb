"""Case openings at once through the API: one gap-free chain, with nothing left pending.

A case opening records `case.opened` without the ledger-head lock and, right after its commit,
seals it with every other pending event if the sealing lock is free; if another request is
sealing, it answers at once and leaves its event to that one, which looks again after its own
commit (audit/services/sealing.py). These tests run real requests on real connections at the
same time (PostgreSQL; SQLite serialises writers itself) and hold the chain to what it was
under the lock: sequences 1..N without a gap, verifiable end to end, and no event pending once
every caller has its answer. And a case opening does not wait for the head: with the head
locked elsewhere the case still commits.
"""

import logging
import threading

import psycopg
import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from audit.models import AuditEvent, LedgerHead
from audit.services.ledger import Actor, append_event, ledger_head, seal_pending, verify_ledger
from oversight.models import Case
from oversight.services.gate import GateRequest, ProposedAction, evaluate_gate
from tests.factories import JourneyFactory, JudgementPointFactory, TriggerConditionFactory
from tests.oversight.api.conftest import gate_body

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CALLERS = 8
CALLS_EACH = 3


@pytest.fixture
def journeys(ai_system, levels):
    """One journey per caller, each routing low confidence to a person."""
    made = []
    for n in range(CALLERS):
        journey = JourneyFactory(ai_system=ai_system, slug=f"journey-{n}")
        point = JudgementPointFactory(
            journey=journey, slug=f"low-{n}", required_level=levels["reviewer"]
        )
        TriggerConditionFactory(
            judgement_point=point, signal="confidence", operator="lt", value=0.7
        )
        made.append(journey)
    return made


def test_parallel_case_openings_make_one_gapless_chain_with_nothing_left_pending(
    postgres_only, api_key, journeys
):
    barrier = threading.Barrier(CALLERS)
    answers, errors = [], []

    def open_cases(n: int) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key}")
        try:
            barrier.wait(timeout=10)
            for _ in range(CALLS_EACH):
                response = client.post(
                    "/api/v1/gate/",
                    gate_body(journey=f"journey-{n}", signals={"confidence": 0.2}),
                    format="json",
                )
                answers.append((response.status_code, response.json().get("case", {}).get("id")))
        except Exception as error:  # reported below, with the caller that raised it
            errors.append((n, repr(error)))
        finally:
            connection.close()

    threads = [threading.Thread(target=open_cases, args=(n,)) for n in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    total = CALLERS * CALLS_EACH
    assert len(answers) == total
    assert {status for status, _ in answers} == {202}
    assert Case.objects.count() == total
    opened = AuditEvent.objects.filter(action="case.opened")
    assert opened.count() == total
    # Every event is chained once every caller has its answer: those who found the sealing
    # lock taken left their events to its holder, which sealed again before its own answer.
    assert not AuditEvent.objects.filter(sequence__isnull=True).exists()
    assert set(opened.values_list("object_id", flat=True)) == {c for _, c in answers}
    # The API key's creation was event #1; then one event per case, numbered without a gap.
    sequences = list(AuditEvent.objects.order_by("sequence").values_list("sequence", flat=True))
    assert sequences == list(range(1, total + 2))
    check = verify_ledger()
    assert check.ok and check.count == total + 1, check.summary()
    assert ledger_head() == (total + 1, check.head_hash)


def _locked_elsewhere():
    """A second connection holding the ledger-head row lock, as a long append would."""
    db = connection.settings_dict
    other = psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db.get("PASSWORD") or None,
        dbname=db["NAME"],
    )
    other.execute("SELECT * FROM audit_ledgerhead FOR UPDATE")
    return other


def test_a_case_opening_commits_while_the_ledger_head_is_locked_elsewhere(
    postgres_only, ai_system, journeys, caplog
):
    append_event(actor=Actor.system(), action="test.before")  # the head row exists
    other = _locked_elsewhere()
    try:
        with connection.cursor() as cursor:
            # Whatever waits for the head gives up after a moment instead of hanging the test.
            cursor.execute("SET lock_timeout = '300ms'")
        with (
            caplog.at_level(logging.ERROR, logger="django.db.backends.base"),
            transaction.atomic(),
        ):
            result = evaluate_gate(
                ai_system=ai_system,
                request=GateRequest(
                    journey="journey-0",
                    action=ProposedAction(type="refund"),
                    signals={"confidence": 0.2},
                    context={},
                ),
            )
        # The case and its event committed; only sealing waited for the head, timed out, and
        # was logged rather than failing a call whose case exists.
        assert Case.objects.filter(pk=result.case.pk).exists()
        event = AuditEvent.objects.get(action="case.opened", object_id=str(result.case.pk))
        assert event.sequence is None
        assert "lock timeout" in caplog.text
        assert verify_ledger().ok
    finally:
        other.rollback()
        other.close()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")

    # The next sealer (here the schedule's) chains it.
    assert seal_pending() == 1
    event.refresh_from_db()
    assert event.sequence == LedgerHead.objects.get().sequence
    check = verify_ledger()
    assert check.ok and check.count == event.sequence, check.summary()
