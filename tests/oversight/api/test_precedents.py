"""/api/v1/precedents/: the memory. Similar decided cases, ranked and explained, scoped."""

import datetime

import pytest
from django.utils import timezone

from oversight.models import CaseStatus, GateEvaluation
from tests.factories import (
    AISystemFactory,
    CaseFactory,
    DecisionFactory,
    JourneyFactory,
    OverrideReasonFactory,
)

URL = "/api/v1/precedents/"


def precedent(journey, *, points=(), confidence=0.5, context=None, rationale="", days=1, **fields):
    moment = timezone.now() - datetime.timedelta(days=days)
    evaluation = GateEvaluation.objects.create(
        ai_system=journey.ai_system,
        journey=journey,
        action_type="refund",
        signals={"confidence": confidence},
        route="human",
    )
    case = CaseFactory(
        journey=journey,
        evaluation=evaluation,
        status=CaseStatus.DECIDED,
        opened_at=moment - datetime.timedelta(hours=1),
        decided_at=moment,
        confidence=confidence,
        context=context or {"order_id": "A-1"},
    )
    case.judgement_points.set([journey.judgement_points.get(slug=slug) for slug in points])
    return DecisionFactory(case=case, decided_at=moment, rationale=rationale, **fields)


def ask(client, **body):
    return client.post(URL, {"journey": "refunds", **body}, format="json")


def test_the_most_similar_decided_cases_come_first_with_why(client, refunds):
    near = precedent(
        refunds,
        points=["low-confidence"],
        confidence=0.55,
        context={"order_id": "A-7", "note": "parcel arrived damaged"},
        outcome="modify",
        final_action={"option": "partial refund"},
        is_override=True,
        override_reason=OverrideReasonFactory(code="policy-exception"),
        rationale="Damaged parcel; customer at jo@example.com. Half refund.",
    )
    far = precedent(
        refunds,
        points=["irreversible-action"],
        confidence=0.95,
        context={"order_id": "B-9", "note": "account closure request"},
    )
    response = ask(
        client,
        signals={"confidence": 0.5},
        context={"order_id": "A-8", "note": "the parcel arrived damaged"},
        limit=5,
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["would_fire"] == ["low-confidence"]
    first, second = body["results"]
    assert first["decision"] == str(near.id) and second["decision"] == str(far.id)
    assert first["score"] > second["score"]
    assert first["why"]["shared_points"] == ["low-confidence"]
    assert first["why"]["signals"] == {"confidence": {"yours": 0.5, "theirs": 0.55}}
    assert first["why"]["parts"]["text"] > second["why"]["parts"]["text"]
    assert first["human"]["override_reason"] == "policy-exception"
    assert first["human"]["final_action"] == {"option": "partial refund"}
    assert first["human"]["rationale"] == "Damaged parcel; customer at [email]. Half refund."
    assert second["why"]["points_only_theirs"] == ["irreversible-action"]


def test_only_this_systems_decided_cases_of_the_journey_and_at_most_limit(client, refunds):
    mine = [precedent(refunds, points=["low-confidence"], days=d) for d in (1, 2, 3)]
    CaseFactory(journey=refunds, status=CaseStatus.OPEN)
    other = JourneyFactory(ai_system=AISystemFactory(slug="other-bot"), slug="refunds")
    outsider = precedent(other, days=0)
    results = ask(client, signals={"confidence": 0.5}, limit=2).json()["results"]
    assert len(results) == 2
    assert {r["decision"] for r in results} <= {str(d.id) for d in mine}
    everything = ask(client, signals={"confidence": 0.5}, limit=20).json()["results"]
    assert {r["decision"] for r in everything} == {str(d.id) for d in mine}
    assert str(outsider.id) not in {r["decision"] for r in everything}


def test_another_systems_journey_is_unknown_and_the_refusal_is_recorded(client, refunds):
    JourneyFactory(ai_system=AISystemFactory(slug="other-bot"), slug="secret-journey")
    response = client.post(URL, {"journey": "secret-journey"}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_journey"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"journey": "refunds", "limit": 0}, "limit"),
        ({"journey": "refunds", "limit": 21}, "limit"),
        ({"journey": "refunds", "signals": {"Bad Name": 1}}, "signals"),
        ({"journey": "refunds", "context": ["not", "an", "object"]}, "context"),
        ({"journey": "refunds", "case": "x"}, "case"),
        ({}, "journey"),
    ],
)
def test_bad_questions_are_refused(client, refunds, body, field):
    response = client.post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_the_answer_costs_the_same_queries_with_2_or_40_precedents(
    client, refunds, django_assert_max_num_queries
):
    for day in range(2):
        precedent(refunds, points=["low-confidence"], days=day + 1)
    with django_assert_max_num_queries(20) as few:
        ask(client, signals={"confidence": 0.5}, limit=20)
    for day in range(2, 40):
        precedent(refunds, points=["low-confidence"], days=day + 1)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(ask(client, signals={"confidence": 0.5}, limit=20).json()["results"]) == 20
