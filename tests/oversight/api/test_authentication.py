"""API keys: one AI system per key, hashed at rest, revocable; every refusal is a clear 401."""

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from audit.services.ledger import Actor
from oversight.models import AISystemAPIKey, GateEvaluation
from oversight.services.credentials import create_api_key, revoke_api_key
from tests.factories import AISystemFactory
from tests.oversight.api.conftest import gate_body


def test_a_valid_key_acts_for_its_ai_system(client):
    response = client.get("/api/v1/ping/")
    assert response.status_code == 200
    assert response.json() == {"ai_system": "support-assistant"}


def test_keys_are_stored_hashed(ai_system, api_key):
    stored = AISystemAPIKey.objects.get(ai_system=ai_system)
    assert api_key not in stored.hashed_key
    assert api_key.split(".")[1] not in stored.id
    assert AuditEvent.objects.filter(action="api_key.created").count() == 1
    assert api_key not in str(AuditEvent.objects.get(action="api_key.created").payload)


def test_a_request_without_a_key_is_refused(db, refunds):
    before = GateEvaluation.objects.count()
    response = APIClient().post("/api/v1/gate/", gate_body(), format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"
    assert response.json()["error"] == {
        "code": "missing_api_key",
        "message": "Send an API key: Authorization: Api-Key <key>.",
        "request_id": response["X-Request-ID"],
    }
    assert GateEvaluation.objects.count() == before


@pytest.mark.parametrize(
    "header", ["Api-Key nope.nope", "Api-Key ", "Bearer abc", "Api-Key abc.def.ghi"]
)
def test_a_wrong_key_is_refused(db, refunds, header):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=header)
    response = api.post("/api/v1/gate/", gate_body(), format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] in {"invalid_api_key", "missing_api_key"}
    assert GateEvaluation.objects.count() == 0


def test_a_revoked_key_is_refused_on_every_use(client, ai_system, refunds):
    assert client.get("/api/v1/ping/").status_code == 200
    key = AISystemAPIKey.objects.get(ai_system=ai_system)
    revoke_api_key(api_key=key, actor=Actor.system("tests"))
    for _ in range(2):
        response = client.post("/api/v1/gate/", gate_body(), format="json")
        assert response.status_code == 401
        assert response.json()["error"] == {
            "code": "invalid_api_key",
            "message": "The API key is unknown or has been revoked.",
            "request_id": response["X-Request-ID"],
        }
    assert GateEvaluation.objects.count() == 0
    assert AuditEvent.objects.filter(action="api_key.revoked").count() == 1


def test_rotation_keeps_the_new_key_working_and_the_old_one_refused(client, ai_system):
    old = AISystemAPIKey.objects.get(ai_system=ai_system)
    _, new_plain = create_api_key(ai_system=ai_system, name="rotated", actor=Actor.system("t"))
    revoke_api_key(api_key=old, actor=Actor.system("t"))
    rotated = APIClient()
    rotated.credentials(HTTP_AUTHORIZATION=f"Api-Key {new_plain}")
    assert rotated.get("/api/v1/ping/").status_code == 200
    assert client.get("/api/v1/ping/").status_code == 401


def test_a_key_of_an_inactive_system_is_refused(client, ai_system):
    ai_system.is_active = False
    ai_system.save()
    response = client.get("/api/v1/ping/")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "The AI system of this key is inactive."


def test_create_api_key_command_prints_a_working_key_once(ai_system, capsys):
    from django.core.management import call_command

    call_command("create_api_key", "support-assistant", "--name", "provisioning")
    out, err = capsys.readouterr()
    key = out.strip()
    assert "not shown again" in err
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert api.get("/api/v1/ping/").json() == {"ai_system": "support-assistant"}


def test_create_api_key_command_names_unknown_systems(ai_system):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No AI system 'nope'. Known slugs: support-assistant"):
        call_command("create_api_key", "nope")
    assert AISystemAPIKey.objects.count() == 0


def test_keys_of_two_systems_see_only_their_own_journeys(client, refunds):
    other = AISystemFactory(slug="billing-bot")
    _, other_key = create_api_key(ai_system=other, name="x", actor=Actor.system("t"))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {other_key}")
    assert api.get("/api/v1/journeys/").json() == []
    assert [j["slug"] for j in client.get("/api/v1/journeys/").json()] == ["refunds"]
