"""GET /api/v1/journeys/: what an integrator must send."""


def test_journeys_list_their_points_and_the_signals_each_reads(client, refunds, identity):
    response = client.get("/api/v1/journeys/")
    assert response.status_code == 200
    journeys = {j["slug"]: j for j in response.json()}
    assert set(journeys) == {"refunds", "identity-verification"}
    refunds_doc = journeys["refunds"]
    assert refunds_doc["automation_state"] == "running"
    assert refunds_doc["required_context_keys"] == ["order_id"]
    points = {p["slug"]: p for p in refunds_doc["judgement_points"]}
    assert points["low-confidence"]["signals"] == ["confidence"]
    assert points["low-confidence"]["conditions"] == [
        {"signal": "confidence", "operator": "lt", "value": 0.7}
    ]
    combo = journeys["identity-verification"]["judgement_points"][0]
    assert combo["combinator"] == "all"
    assert combo["signals"] == ["identity_mismatch", "recent_fraud_attempts"]


def test_inactive_points_are_not_listed(client, refunds):
    point = refunds.judgement_points.get(slug="emotional-customer")
    point.is_active = False
    point.save()
    slugs = [p["slug"] for p in client.get("/api/v1/journeys/").json()[0]["judgement_points"]]
    assert "emotional-customer" not in slugs


def test_the_journey_list_costs_the_same_queries_with_more_journeys(
    client, refunds, identity, ai_system, levels, django_assert_max_num_queries
):
    from tests.factories import JourneyFactory, JudgementPointFactory, TriggerConditionFactory

    with django_assert_max_num_queries(5):
        client.get("/api/v1/journeys/")
    for _ in range(10):
        journey = JourneyFactory(ai_system=ai_system)
        point = JudgementPointFactory(journey=journey, required_level=levels["reviewer"])
        TriggerConditionFactory(judgement_point=point)
    with django_assert_max_num_queries(5):
        assert len(client.get("/api/v1/journeys/").json()) == 12
