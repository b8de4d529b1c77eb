"""Sign-ins are in the ledger: who, from where; failed attempts only as one event per lock-out."""

import json

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from audit.services.ledger import verify_ledger
from tests.factories import StaffUserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # the factories' password


def sign_in(client, username, password, **extra):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": "/admin/"},
        **extra,
    )


def test_an_admin_login_is_recorded_with_username_and_address(client):
    user = StaffUserFactory(username="cora")

    response = sign_in(client, "cora", PASSWORD, REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 302
    event = AuditEvent.objects.get(action="auth.login")
    assert (event.actor_type, event.actor_user, event.actor_label) == ("user", user, "cora")
    assert (event.object_type, event.object_id) == ("auth.user", str(user.pk))
    assert event.payload == {"username": "cora", "ip": "203.0.113.7", "via": "admin:login"}
    assert verify_ledger().ok


def test_a_failed_login_writes_no_ledger_event(client):
    """Failures are counted by django-axes; the ledger gets one event per lock-out only."""
    StaffUserFactory(username="cora")

    response = sign_in(client, "cora", "hunter2-wrong", REMOTE_ADDR="198.51.100.4")

    assert response.status_code == 200  # the form again, with its error
    assert not AuditEvent.objects.exists()


def test_a_lockout_is_recorded_once_without_the_password(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    user = StaffUserFactory(username="cora")

    for _ in range(6):
        sign_in(
            client,
            "cora",
            "hunter2-wrong",
            REMOTE_ADDR="198.51.100.4",
            HTTP_X_FORWARDED_FOR="192.0.2.1",
        )

    event = AuditEvent.objects.get()
    assert event.action == "auth.locked_out"
    assert (event.actor_type, event.actor_user, event.actor_label) == (
        "system",
        None,
        "login form",
    )
    assert (event.object_type, event.object_id) == ("auth.user", str(user.pk))
    assert event.payload == {
        "username": "cora",
        "known_account": True,
        "ip": "198.51.100.4",
        "failures": 3,
        "via": "admin:login",
    }
    assert "hunter2" not in json.dumps(event.payload)
    assert verify_ledger().ok


def test_a_lockout_of_an_unknown_name_is_recorded_with_the_name_cut_short(client, settings):
    settings.AXES_FAILURE_LIMIT = 1
    sign_in(client, "x" * 5000, "whatever", REMOTE_ADDR="198.51.100.4")

    event = AuditEvent.objects.get(action="auth.locked_out")
    assert (event.object_type, event.object_id) == ("auth.user", "")
    assert event.payload["username"] == "x" * 150
    assert event.payload["known_account"] is False


def test_logins_without_a_request_are_not_sign_ins(client):
    # The test client's force_login (and a shell's login()) never went through a login view.
    client.force_login(StaffUserFactory())
    assert client.login(username="nobody", password="wrong") is False
    assert not AuditEvent.objects.exists()
