"""/api/v1/corrections/: one record per final human decision, for training and evaluation."""

import datetime

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from oversight.models import CaseStatus, DecisionStage, Outcome
from tests.factories import (
    AISystemFactory,
    CaseFactory,
    DecisionFactory,
    JourneyFactory,
    OverrideReasonFactory,
)

URL = "/api/v1/corrections/"
NOW = timezone.now()


def decided_case(journey, *, minutes_ago, **case_fields):
    case_fields.setdefault("status", CaseStatus.DECIDED)
    return CaseFactory(
        journey=journey,
        opened_at=NOW - datetime.timedelta(minutes=minutes_ago + 30),
        decided_at=NOW - datetime.timedelta(minutes=minutes_ago),
        **case_fields,
    )


def at(minutes_ago):
    return NOW - datetime.timedelta(minutes=minutes_ago)


def exports():
    return AuditEvent.objects.filter(action="corrections.exported")


@pytest.fixture
def corrected(client, refunds):
    """Through the gate: a routed refund that a person modified, with an e-mail address in the
    rationale and a complaint reported later."""
    answer = client.post(
        "/api/v1/gate/",
        {
            "journey": "refunds",
            "action": {"type": "refund", "amount": "80.00", "currency": "EUR"},
            "signals": {"confidence": 0.41},
            "context": {"order_id": "A-1"},
            "proposal": {"reply": "Full refund."},
        },
        format="json",
    ).json()
    case = refunds.cases.get()
    case.status, case.decided_at = CaseStatus.DECIDED, at(50)
    case.save()
    decision = DecisionFactory(
        case=case,
        outcome="modify",
        final_action={"option": "partial refund", "amount": "40.00"},
        is_override=True,
        override_reason=OverrideReasonFactory(code="policy-exception"),
        rationale="Opened item; customer wrote from jo@example.com. Half refund.",
        decided_at=at(50),
    )
    Outcome.objects.create(evaluation_id=answer["evaluation"], complaint=True, customer_effort=5)
    return decision


def test_a_record_holds_proposal_correction_reason_outcome_and_rules(client, corrected, refunds):
    low = refunds.judgement_points.get(slug="low-confidence")
    low.version = 2  # the rule changes after the case opened: the record keeps version 1
    low.save()
    response = client.get(URL)
    assert response.status_code == 200, response.json()
    [record] = response.json()["results"]
    assert record["decision"] == str(corrected.id)
    assert record["case"] == str(corrected.case_id)
    assert record["ai"]["action"] == {
        "type": "refund",
        "irreversible": False,
        "amount": "80.00",
        "currency": "EUR",
    }
    assert record["ai"]["proposal"] == {"reply": "Full refund."}
    assert record["human"]["final_action"] == {"option": "partial refund", "amount": "40.00"}
    assert record["human"]["overridden"] is True
    assert record["human"]["override_reason"] == "policy-exception"
    assert record["human"]["rationale"] == "Opened item; customer wrote from [email]. Half refund."
    assert record["outcome"]["complaint"] is True
    assert record["outcome"]["customer_effort"] == 5
    assert record["judgement_points_fired"] == [{"slug": "low-confidence", "version": 1}]
    versions = {item["slug"]: item["version"] for item in record["rule_versions"]}
    assert versions["low-confidence"] == 1
    assert set(versions) == set(refunds.judgement_points.values_list("slug", flat=True))


def test_only_the_standing_decision_of_decided_cases_of_this_system(client, refunds, levels):
    single = DecisionFactory(case=decided_case(refunds, minutes_ago=40), decided_at=at(40))
    four_eyes = decided_case(refunds, minutes_ago=30, four_eyes=True)
    DecisionFactory(case=four_eyes, stage=DecisionStage.FIRST, decided_at=at(35))
    second = DecisionFactory(case=four_eyes, stage=DecisionStage.SECOND, decided_at=at(30))
    escalated = decided_case(refunds, minutes_ago=20, review_round=2)
    DecisionFactory(case=escalated, outcome="escalate", rationale="Too big.", decided_at=at(25))
    final = DecisionFactory(case=escalated, review_round=2, decided_at=at(20))
    waiting = CaseFactory(journey=refunds, status=CaseStatus.OPEN)
    other = JourneyFactory(ai_system=AISystemFactory(slug="other-bot"))
    DecisionFactory(case=decided_case(other, minutes_ago=10), decided_at=at(10))

    records = client.get(URL).json()["results"]

    assert [r["decision"] for r in records] == [str(single.id), str(second.id), str(final.id)]
    assert str(waiting.id) not in {r["case"] for r in records}


def test_pages_follow_a_stable_order_and_each_page_taken_is_in_the_ledger(client, refunds):
    made = [
        DecisionFactory(case=decided_case(refunds, minutes_ago=m), decided_at=at(m)).id
        for m in (50, 40, 40, 30, 20)
    ]
    seen, url, pages = [], f"{URL}?page_size=2", 0
    while url:
        body = client.get(url).json()
        seen += [record["decision"] for record in body["results"]]
        url, pages = body["next"], pages + 1
    assert sorted(seen) == sorted(str(i) for i in made)
    assert len(seen) == len(set(seen)) == 5
    assert pages == 3
    events = list(exports().order_by("sequence"))
    assert len(events) == 3
    assert events[0].payload["via"] == "api"
    assert events[0].actor_type == "ai_system"
    assert events[0].payload["ai_system"] == "support-assistant"
    assert sum(e.payload["count"] for e in events) == 5
    assert [d for e in events for d in e.payload["decisions"]] == seen


def test_since_takes_later_decisions_only(client, refunds):
    DecisionFactory(case=decided_case(refunds, minutes_ago=90), decided_at=at(90))
    recent = DecisionFactory(case=decided_case(refunds, minutes_ago=10), decided_at=at(10))
    since = at(30).isoformat().replace("+00:00", "Z")
    records = client.get(URL, {"since": since}).json()["results"]
    assert [r["decision"] for r in records] == [str(recent.id)]
    assert exports().get().payload["since"] is not None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2026-03-03T09:00"}, "since"),
        ({"since": "yesterday"}, "since"),
        ({"page_size": "0"}, "page_size"),
        ({"status": "decided"}, "status"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ],
)
def test_bad_parameters_are_refused_and_nothing_is_recorded(client, refunds, params, field):
    DecisionFactory(case=decided_case(refunds, minutes_ago=10), decided_at=at(10))
    response = client.get(URL, params)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not exports().exists()


def test_a_page_costs_the_same_queries_with_2_or_40_records(
    client, refunds, django_assert_max_num_queries
):
    for minutes in range(2):
        DecisionFactory(case=decided_case(refunds, minutes_ago=minutes), decided_at=at(minutes))
    with django_assert_max_num_queries(12) as small:
        client.get(URL)
    for minutes in range(2, 40):
        DecisionFactory(case=decided_case(refunds, minutes_ago=minutes), decided_at=at(minutes))
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(client.get(URL).json()["results"]) == 40


def test_without_a_key_nothing_is_given(refunds):
    from rest_framework.test import APIClient

    assert APIClient().get(URL).status_code == 401
