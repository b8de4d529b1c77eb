"""When the API answers that a case was opened, its `case.opened` event is already in the chain.

Real commits (transaction=True), so the seal that runs on commit runs as in production, on
SQLite and PostgreSQL alike: the gate's 202 and the direct opening's 201 are given only after
the event was sealed, and nothing is left pending.
"""

import pytest

from audit.models import AuditEvent
from audit.services.ledger import ledger_head, verify_ledger
from tests.oversight.api.conftest import gate_body

pytestmark = pytest.mark.django_db(transaction=True)


def opened_event(case_id: str) -> AuditEvent:
    return AuditEvent.objects.get(action="case.opened", object_id=case_id)


def test_the_gate_answers_202_only_once_the_case_opened_event_is_chained(client, refunds):
    response = client.post("/api/v1/gate/", gate_body(signals={"confidence": 0.2}), format="json")

    assert response.status_code == 202
    event = opened_event(response.json()["case"]["id"])
    assert event.sequence is not None and event.hash is not None
    assert ledger_head() == (event.sequence, event.hash)
    assert not AuditEvent.objects.filter(sequence__isnull=True).exists()
    assert verify_ledger().ok


def test_a_direct_case_opening_answers_201_only_once_its_event_is_chained(client, refunds):
    response = client.post(
        "/api/v1/cases/",
        gate_body(reason="customer_requested_human"),
        format="json",
    )

    assert response.status_code == 201, response.json()
    event = opened_event(response.json()["id"])
    assert event.sequence is not None
    assert ledger_head() == (event.sequence, event.hash)
    assert verify_ledger().ok
