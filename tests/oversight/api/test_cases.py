"""/api/v1/cases/: open a case directly, read its state, poll for changes."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditEvent
from oversight.models import Case, CaseStatus, RouteReason
from tests.factories import (
    AISystemFactory,
    CaseFactory,
    DecisionFactory,
    JourneyFactory,
    OverrideReasonFactory,
)
from tests.oversight.api.conftest import gate_body

URL = "/api/v1/cases/"


def direct_body(**overrides):
    body = gate_body(reason="customer_requested_human")
    body.update(overrides)
    return body


def test_a_customer_who_asks_for_a_person_gets_a_case(client, refunds):
    response = client.post(URL, direct_body(), format="json")
    assert response.status_code == 201, response.json()
    case = Case.objects.get()
    body = response.json()
    assert body["id"] == str(case.id)
    assert response["Location"].endswith(f"/api/v1/cases/{case.id}/")
    assert body["status"] == "open"
    assert body["route_reason"] == RouteReason.CUSTOMER_REQUESTED_HUMAN
    assert body["next_step"]["instruction"] == "wait"
    assert case.required_level.name == "Reviewer"
    assert case.sla_deadline - case.opened_at == datetime.timedelta(
        minutes=refunds.default_sla_minutes
    )
    assert AuditEvent.objects.filter(action="case.opened", object_id=str(case.id)).exists()


def test_an_unknown_reason_is_refused_and_nothing_is_created(client, refunds):
    response = client.post(URL, direct_body(reason="sample_audit"), format="json")
    assert response.status_code == 400
    assert "reason" in response.json()["error"]["fields"]
    assert Case.objects.count() == 0


def test_a_decided_case_tells_the_automation_what_to_do(client, refunds):
    case = CaseFactory(
        journey=refunds,
        status=CaseStatus.DECIDED,
        decided_at=timezone.now(),
        proposal={"refund": "40.00"},
    )
    DecisionFactory(
        case=case,
        outcome="modify",
        final_action={"refund": "20.00"},
        is_override=True,
        override_reason=OverrideReasonFactory(code="policy-exception"),
        rationale="Half refund per the damaged-goods policy.",
    )
    response = client.get(f"{URL}{case.id}/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "decided"
    assert body["decision"]["outcome"] == "modify"
    assert body["decision"]["overridden"] is True
    assert body["decision"]["override_reason"] == "policy-exception"
    assert body["decision"]["final_action"] == {"refund": "20.00"}
    assert body["next_step"].pop("approval_token")
    assert body["next_step"] == {
        "instruction": "proceed_with_changes",
        "may_proceed": True,
        "action": {"refund": "20.00"},
    }


@pytest.mark.parametrize(
    ("outcome", "instruction"), [("approve", "proceed"), ("reject", "do_not_proceed")]
)
def test_approval_and_rejection_instructions(client, refunds, outcome, instruction):
    case = CaseFactory(journey=refunds, status=CaseStatus.DECIDED, decided_at=timezone.now())
    DecisionFactory(case=case, outcome=outcome)
    assert client.get(f"{URL}{case.id}/").json()["next_step"]["instruction"] == instruction


def test_another_systems_case_is_not_found(client, refunds):
    foreign = CaseFactory(journey=JourneyFactory(ai_system=AISystemFactory()))
    response = client.get(f"{URL}{foreign.id}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    listed = client.get(URL).json()["results"]
    assert str(foreign.id) not in [c["id"] for c in listed]


def test_pollers_filter_by_status_and_update_time(client, refunds):
    with time_machine.travel(datetime.datetime(2026, 3, 1, 9, tzinfo=datetime.UTC), tick=False):
        old = CaseFactory(journey=refunds)
    with time_machine.travel(datetime.datetime(2026, 3, 3, 9, tzinfo=datetime.UTC), tick=False):
        new = CaseFactory(journey=refunds, status=CaseStatus.DECIDED, decided_at=timezone.now())
    since = client.get(URL, {"updated_since": "2026-03-02T00:00:00Z"}).json()
    assert [c["id"] for c in since["results"]] == [str(new.id)]
    decided = client.get(URL, {"status": "decided"}).json()
    assert [c["id"] for c in decided["results"]] == [str(new.id)]
    both = client.get(URL, {"status": "open,decided"}).json()
    assert [c["id"] for c in both["results"]] == [str(old.id), str(new.id)]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"status": "finished"}, "status"), ({"updated_since": "yesterday"}, "updated_since")],
)
def test_bad_filters_are_named(client, refunds, params, field):
    response = client.get(URL, params)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_the_case_list_is_paginated_at_a_fixed_query_cost(
    client, refunds, django_assert_max_num_queries
):
    for _ in range(3):
        case = CaseFactory(journey=refunds, status=CaseStatus.DECIDED, decided_at=timezone.now())
        DecisionFactory(case=case)
    with django_assert_max_num_queries(6):
        first = client.get(URL, {"page_size": 2}).json()
    assert first["count"] == 3
    assert len(first["results"]) == 2
    assert first["next"]
    for _ in range(20):
        case = CaseFactory(journey=refunds, status=CaseStatus.DECIDED, decided_at=timezone.now())
        DecisionFactory(case=case)
    with django_assert_max_num_queries(6):
        assert len(client.get(URL, {"page_size": 20}).json()["results"]) == 20


def test_a_customer_asking_for_a_person_needs_no_action_or_proposal(client, refunds):
    """A customer who asks for a human has nothing for the AI to propose: journey, reason and
    context are enough."""
    body = {
        "journey": refunds.slug,
        "reason": "customer_requested_human",
        "context": {"order_id": "A-77", "customer_tier": "gold"},
    }
    response = client.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    case = Case.objects.get()
    assert case.route_reason == RouteReason.CUSTOMER_REQUESTED_HUMAN
    assert case.action_type == ""
    assert case.proposal == {}
    assert case.context == {"order_id": "A-77", "customer_tier": "gold"}
    assert response.json()["next_step"]["instruction"] == "wait"


def test_an_unsure_system_still_names_the_action_and_nothing_is_created(client, refunds):
    body = {"journey": refunds.slug, "reason": "system_unsure", "context": {"order_id": "A"}}
    response = client.post(URL, body, format="json")
    assert response.status_code == 400
    assert "action" in response.json()["error"]["fields"]
    assert Case.objects.count() == 0
