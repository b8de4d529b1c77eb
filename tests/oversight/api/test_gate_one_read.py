"""The gate reads its key and its journey in one query (oversight.api.key_lookup).

The fast read must be the same lookup as the ordinary one: the key by prefix (not revoked)
with its AI system, as `AISystemKeyAuthentication` reads it alone, and the system's journey by
slug with its rules' stamp, as `rulebook.find_stamped_journey` reads it. These tests hold the
two to the same rows and the gate to the same answers, and show that a change to the key (a
revocation, an expiry, a deactivated system) takes effect on the very next call.
"""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from audit.models import AuditEvent
from audit.services.ledger import Actor, ledger_head, verify_ledger
from oversight.api.key_lookup import STAMP_NAMES, journey_slug_in, read_key_and_journey
from oversight.models import AISystemAPIKey, Case, GateEvaluation, Journey
from oversight.services import rulebook
from oversight.services.credentials import revoke_api_key
from oversight.services.gate import GateRequest, ProposedAction, evaluate_gate
from tests.factories import AISystemFactory, JourneyFactory
from tests.oversight.api.conftest import gate_body

URL = "/api/v1/gate/"


def post(client, body):
    return client.post(URL, body, format="json")


def counts():
    return GateEvaluation.objects.count(), Case.objects.count()


def field_values(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def stamp(journey) -> tuple:
    return tuple(getattr(journey, name) for name in STAMP_NAMES)


@pytest.fixture
def other_system_journey(db):
    return JourneyFactory(ai_system=AISystemFactory(slug="other-system"), slug="payouts")


@pytest.mark.parametrize("slug", ["refunds", "identity-verification", "payouts", "nope", "", None])
def test_the_one_read_finds_the_same_key_system_and_journey_as_the_ordinary_lookups(
    api_key, refunds, identity, other_system_journey, slug
):
    prefix = api_key.partition(".")[0]
    key, journey = read_key_and_journey(prefix=prefix, journey_slug=slug)

    ordinary_key = AISystemAPIKey.objects.select_related("ai_system").get(prefix=prefix)
    assert field_values(key) == field_values(ordinary_key)
    assert field_values(key.ai_system) == field_values(ordinary_key.ai_system)
    if slug is None:  # every other endpoint: the key alone
        assert journey is None
        return
    ordinary_journey = rulebook.find_stamped_journey(
        ai_system_id=ordinary_key.ai_system_id, slug=slug
    )
    if ordinary_journey is None:  # another system's journey is as unknown as a missing one
        assert journey is None
    else:
        assert field_values(journey) == field_values(ordinary_journey)
        assert stamp(journey) == stamp(ordinary_journey)
        assert journey.ai_system is key.ai_system


def test_the_stamp_read_with_the_key_moves_with_every_change_of_the_rules(api_key, refunds):
    prefix = api_key.partition(".")[0]
    before = stamp(read_key_and_journey(prefix=prefix, journey_slug="refunds")[1])
    point = refunds.judgement_points.first()
    point.conditions.first().delete()
    after = read_key_and_journey(prefix=prefix, journey_slug="refunds")[1]
    assert stamp(after) != before
    assert stamp(after) == stamp(
        rulebook.find_stamped_journey(ai_system_id=refunds.ai_system_id, slug="refunds")
    )


@pytest.mark.parametrize(
    "prefix_of",
    [lambda key: "nope1234", lambda key: "", lambda key: key.partition(".")[0]],
    ids=["unknown", "empty", "revoked"],
)
def test_no_key_is_found_for_an_unknown_or_revoked_prefix(api_key, ai_system, refunds, prefix_of):
    revoke_api_key(api_key=AISystemAPIKey.objects.get(ai_system=ai_system), actor=Actor.system("t"))
    assert read_key_and_journey(prefix=prefix_of(api_key), journey_slug="refunds") == (None, None)


@pytest.mark.parametrize(
    ("body", "slug"),
    [
        (b'{"journey": "refunds", "action": {}}', "refunds"),
        (b'{"journey": 7}', None),
        (b'{"journey": ""}', None),
        (b'["refunds"]', None),
        (b"not json", None),
        (b"", None),
        (b'{"journey": "' + b"x" * 81 + b'"}', None),
        (b'{"journey": "a\\u0000b"}', None),
    ],
)
def test_the_journey_hint_is_read_only_from_a_json_object_naming_one(body, slug):
    assert journey_slug_in(body) == slug


def test_an_automating_call_costs_one_read_and_one_write(
    client, refunds, django_assert_max_num_queries
):
    assert post(client, gate_body()).status_code == 200  # loads the rules into the cache
    with django_assert_max_num_queries(2) as captured:
        assert post(client, gate_body()).status_code == 200
    sql = [query["sql"] for query in captured.captured_queries]
    assert sql[0].startswith("SELECT") and "oversight_aisystemapikey" in sql[0]
    assert "oversight_journey" in sql[0]
    assert sql[1].startswith("INSERT INTO") and "oversight_gateevaluation" in sql[1]


def test_a_revocation_takes_effect_on_the_next_gate_call(client, ai_system, refunds):
    assert post(client, gate_body()).status_code == 200
    assert post(client, gate_body()).status_code == 200  # a warm process, rules cached
    before = counts()
    revoke_api_key(api_key=AISystemAPIKey.objects.get(ai_system=ai_system), actor=Actor.system("t"))

    response = post(client, gate_body())

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert counts() == before


def test_an_expiry_takes_effect_on_the_next_gate_call(client, ai_system, refunds):
    assert post(client, gate_body()).status_code == 200
    before = counts()
    AISystemAPIKey.objects.filter(ai_system=ai_system).update(
        expiry_date=timezone.now() - datetime.timedelta(seconds=1)
    )

    response = post(client, gate_body())

    assert response.status_code == 401
    assert response.json()["error"]["message"] == "The API key has expired."
    assert counts() == before


def test_a_deactivated_system_is_refused_on_the_next_gate_call(client, ai_system, refunds):
    assert post(client, gate_body()).status_code == 200
    before = counts()
    ai_system.is_active = False
    ai_system.save()

    response = post(client, gate_body())

    assert response.status_code == 401
    assert response.json()["error"]["message"] == "The AI system of this key is inactive."
    assert counts() == before


def test_a_wrong_secret_with_a_known_prefix_is_refused(ai_system, api_key, refunds):
    from rest_framework.test import APIClient

    prefix = api_key.partition(".")[0]
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION=f"Api-Key {prefix}.not-the-secret")
    response = post(forged, gate_body())
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert counts() == (0, 0)


BODIES = [
    ("automates", gate_body()),
    ("low confidence", gate_body(signals={"confidence": 0.2})),
    ("irreversible", gate_body(action={"type": "close_account", "irreversible": True})),
    ("missing context", gate_body(context={})),
    ("upset and unsure", gate_body(signals={"confidence": 0.5, "sentiment": -0.9})),
    (
        "identity, one of two",
        gate_body("identity-verification", signals={"identity_mismatch": True}),
    ),
    (
        "identity, both",
        gate_body(
            "identity-verification",
            signals={"identity_mismatch": True, "recent_fraud_attempts": 2},
        ),
    ),
    ("another system's journey", gate_body("payouts")),
    ("no such journey", gate_body("nope")),
    ("wrong signal type", gate_body(signals={"confidence": "high"})),
]


@pytest.mark.parametrize(("name", "body"), BODIES, ids=[name for name, _ in BODIES])
def test_the_api_answers_as_the_service_does_without_the_one_read(
    client, ai_system, refunds, identity, other_system_journey, name, body
):
    """The same body through the API (key and journey in one read) and straight to the service
    (its own journey lookup): the same route, matches and reasons, or the same refusal."""
    response = post(client, body)

    request = GateRequest(
        journey=body["journey"],
        action=ProposedAction(
            type=body["action"]["type"],
            irreversible=body["action"].get("irreversible", False),
            amount=Decimal(body["action"]["amount"]) if "amount" in body["action"] else None,
            currency=body["action"].get("currency", ""),
        ),
        signals=body["signals"],
        context=body["context"],
        proposal=body["proposal"],
        subject_ref=body["subject_ref"],
    )
    try:
        result = evaluate_gate(ai_system=ai_system, request=request)
    except Exception as error:  # noqa: BLE001 - the refusal is what is compared
        assert response.status_code in (400, 404)
        assert response.json()["error"]["code"] == error.code
        return
    assert response.status_code == (200 if result.route == "automate" else 202)
    answer = response.json()
    assert answer["route"] == result.route
    assert answer.get("matched", []) == [m["slug"] for m in result.evaluation.matched]
    if result.route == "human":
        assert answer["reasons"] == result.evaluation.reasons
    by_api = GateEvaluation.objects.get(pk=answer["evaluation"])
    assert by_api.matched == result.evaluation.matched
    assert by_api.server_signals == result.evaluation.server_signals
    assert by_api.journey_id == result.evaluation.journey_id


def test_a_hint_that_is_not_the_validated_journey_is_not_used(client, refunds, monkeypatch):
    """The body is parsed twice (hint, then DRF): should they ever disagree, the service looks
    the journey up itself rather than trusting the hint."""
    from oversight.api import views

    monkeypatch.setattr(views, "journey_slug_in", lambda body: "identity-verification")
    response = post(client, gate_body())
    assert response.status_code == 200
    evaluation = GateEvaluation.objects.get(pk=response.json()["evaluation"])
    assert evaluation.journey == Journey.objects.get(slug="refunds")


def test_a_case_opening_takes_no_ledger_lock_and_is_chained_before_the_answer(
    client, refunds, django_assert_num_queries, django_capture_on_commit_callbacks
):
    """A case opening records `case.opened` without the ledger-head lock (issue #17): its
    transaction never touches the head row, so case openings do not queue behind each other's
    COMMIT. Right after the commit, still in the request, the event is sealed into the chain.

    13 statements on PostgreSQL (the test's savepoints and the first call's rules included):
    the evaluation, the case, its history row, its points and its event go in one statement (a
    data-modifying WITH), and the seal is one transaction of the exclusive advisory lock (tried,
    never waited for), one read that locks the head and finds the pending rows, and one UPDATE
    of the batch and the head; after its commit, one look for events left to it meanwhile
    (tests/audit/test_sealing_never_waits.py). Outside a test's transaction one statement comes
    first, a look whether the ledger sealer holds the sealing lock; with the sealer running it
    is the whole seal (tests/audit/test_sealer.py). 18 on SQLite, where each INSERT is its own
    statement. Pinned exactly: the case's INSERTs, its points and the seal are written by
    statements compiled once (audit/row_insert.py, oversight/services/case_points.py), which
    must not add any."""
    postgres = connection.vendor == "postgresql"
    expected = 13 if postgres else 18
    with (
        django_assert_num_queries(expected) as captured,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        response = post(client, gate_body(signals={"confidence": 0.2}))
    assert response.status_code == 202
    assert len(callbacks) == 1
    sql = [query["sql"] for query in captured.captured_queries]
    event_insert = 'INSERT INTO "audit_auditevent"'
    [recorded_at] = [i for i, s in enumerate(sql) if event_insert in s]
    if postgres:
        together = sql[recorded_at]
        assert together.startswith('WITH p0 AS (INSERT INTO "oversight_gateevaluation" ')
        assert 'INSERT INTO "oversight_case" ' in together
        assert 'INSERT INTO "oversight_historicalcase"' in together
        assert 'INSERT INTO "oversight_case_judgement_points"' in together
    # In the case's transaction: no ledger-head row at all, locked or not.
    assert not any("audit_ledgerhead" in s for s in sql[: recorded_at + 1])
    assert any("oversight_case_judgement_points" in s for s in sql[: recorded_at + 1])
    # After it: the seal, under the head lock (FOR UPDATE on PostgreSQL).
    reads_head = ("SELECT", "WITH h AS (SELECT")
    [lock_at] = [i for i, s in enumerate(sql) if s.startswith(reads_head) and "ledgerhead" in s]
    assert lock_at > recorded_at
    if postgres:
        assert sql[lock_at - 1].startswith("SELECT pg_try_advisory_xact_lock(")
        assert "FOR UPDATE" in sql[lock_at] and "audit_auditevent" in sql[lock_at]
        assert sql[lock_at + 1].startswith('WITH sealed AS (UPDATE "audit_auditevent" SET')
        assert 'UPDATE "audit_ledgerhead"' in sql[lock_at + 1]
        assert sql[-1].startswith("SELECT EXISTS (SELECT") and "audit_auditevent" in sql[-1]
    else:
        assert sql[lock_at + 2].startswith('UPDATE "audit_auditevent" SET "sequence"')
    event = AuditEvent.objects.get(action="case.opened", object_id=response.json()["case"]["id"])
    assert (event.sequence, event.hash) == ledger_head()
    assert verify_ledger().ok
