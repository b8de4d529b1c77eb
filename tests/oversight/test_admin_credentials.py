"""API keys and webhook secrets in the admin: shown once, hashed or encrypted, audited."""

import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEvent
from oversight.models import AISystemAPIKey
from oversight.services.credentials import webhook_secret
from tests.factories import AISystemFactory, SuperUserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(SuperUserFactory())
    return client


def shown_once(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_adding_a_key_shows_it_once_and_it_works(admin_client):
    system = AISystemFactory(slug="refund-bot")
    response = admin_client.post(
        reverse("admin:oversight_aisystemapikey_add"),
        {"ai_system": system.pk, "name": "production", "expiry_date_0": "", "expiry_date_1": ""},
        follow=True,
    )
    assert response.status_code == 200
    [message] = [m for m in shown_once(response) if "copy it now" in m]
    plain = re.search(r": (\S+) — copy it now", message).group(1)
    stored = AISystemAPIKey.objects.get(ai_system=system)
    assert plain not in stored.hashed_key
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {plain}")
    assert api.get("/api/v1/ping/").json() == {"ai_system": "refund-bot"}
    event = AuditEvent.objects.get(action="api_key.created")
    assert event.actor_label == response.wsgi_request.user.username
    assert plain not in str(event.payload)
    detail = admin_client.get(reverse("admin:oversight_aisystemapikey_change", args=[stored.pk]))
    assert plain not in detail.content.decode()


def test_revoking_in_the_admin_refuses_the_key_from_then_on(admin_client):
    system = AISystemFactory()
    admin_client.post(
        reverse("admin:oversight_aisystemapikey_add"),
        {"ai_system": system.pk, "name": "old", "expiry_date_0": "", "expiry_date_1": ""},
    )
    key = AISystemAPIKey.objects.get()
    response = admin_client.post(
        reverse("admin:oversight_aisystemapikey_changelist"),
        {"action": "revoke_selected", "_selected_action": [key.pk]},
        follow=True,
    )
    assert "Revoked 1 key(s)" in " ".join(shown_once(response))
    key.refresh_from_db()
    assert key.revoked
    assert AuditEvent.objects.filter(action="api_key.revoked").count() == 1


def test_keys_cannot_be_deleted_in_the_admin(admin_client):
    system = AISystemFactory()
    admin_client.post(
        reverse("admin:oversight_aisystemapikey_add"),
        {"ai_system": system.pk, "name": "k", "expiry_date_0": "", "expiry_date_1": ""},
    )
    key = AISystemAPIKey.objects.get()
    response = admin_client.post(reverse("admin:oversight_aisystemapikey_delete", args=[key.pk]))
    assert response.status_code == 403
    assert AISystemAPIKey.objects.count() == 1


def test_rotating_the_webhook_secret_shows_it_once_and_stores_it_encrypted(admin_client):
    system = AISystemFactory()
    response = admin_client.post(
        reverse("admin:oversight_aisystem_changelist"),
        {"action": "rotate_webhook_secret", "_selected_action": [system.pk]},
        follow=True,
    )
    [message] = [m for m in shown_once(response) if "New webhook secret" in m]
    secret = re.search(r": (whsec_\S+) — copy it", message).group(1)
    system.refresh_from_db()
    assert secret not in system.webhook_secret_encrypted
    assert webhook_secret(system) == secret
    assert system.history.filter().exists()
    assert secret not in str(list(AuditEvent.objects.values_list("payload", flat=True)))
    assert AuditEvent.objects.filter(action="ai_system.webhook_secret_rotated").count() == 1


def test_rotating_needs_exactly_one_system(admin_client):
    systems = [AISystemFactory(), AISystemFactory()]
    response = admin_client.post(
        reverse("admin:oversight_aisystem_changelist"),
        {"action": "rotate_webhook_secret", "_selected_action": [s.pk for s in systems]},
        follow=True,
    )
    assert "Select exactly one AI system." in " ".join(shown_once(response))
    assert not AuditEvent.objects.filter(action="ai_system.webhook_secret_rotated").exists()
