"""Login lock-out (django-axes): repeated failures lock a user name and an address out."""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group
from django.urls import reverse

from audit.models import AuditEvent
from audit.services.ledger import verify_ledger
from audit.services.sign_in import client_address, unlock_sign_ins
from oversight.exceptions import NotAllowed
from oversight.roles import MANAGER, REVIEWER
from tests.factories import StaffUserFactory, SuperUserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # the factories' password
CHANGELIST = "admin:axes_accessattempt_changelist"


def sign_in(client, username, password, ip="203.0.113.7"):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=ip,
    )


def test_thirty_wrong_passwords_then_the_right_one_is_refused(client):
    SuperUserFactory(username="admin")

    answers = [sign_in(client, "admin", f"guess-{n}").status_code for n in range(30)]
    right = sign_in(client, "admin", PASSWORD)

    assert answers[:4] == [200] * 4  # the form again, with its error
    assert set(answers[4:]) == {429}  # locked from the fifth failure on
    assert right.status_code == 429
    assert "Sign-in locked" in right.content.decode()
    assert "after 5 failed attempts" in right.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_ledger_grows_by_one_event_per_lockout_not_per_attempt(client):
    SuperUserFactory(username="admin")
    for n in range(30):
        sign_in(client, "admin", f"guess-{n}")
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["auth.locked_out"]
    assert verify_ledger().ok


def test_one_address_trying_many_names_is_locked_out(client):
    StaffUserFactory(username="cora")
    for n in range(5):
        sign_in(client, f"someone-{n}", "wrong")
    assert sign_in(client, "cora", PASSWORD).status_code == 429
    # ... while the same person from another address still signs in.
    assert sign_in(client, "cora", PASSWORD, ip="198.51.100.9").status_code == 302


def test_one_name_tried_from_many_addresses_is_locked_out(client):
    StaffUserFactory(username="cora")
    for n in range(5):
        sign_in(client, "cora", "wrong", ip=f"198.51.100.{n + 1}")
    assert sign_in(client, "cora", PASSWORD, ip="192.0.2.50").status_code == 429


def test_a_superuser_unlocks_in_the_admin_and_the_unlock_is_recorded(client):
    cora = StaffUserFactory(username="cora")
    for n in range(5):
        sign_in(client, "cora", f"wrong-{n}")
    assert sign_in(client, "cora", PASSWORD).status_code == 429
    admin_user = SuperUserFactory()
    admin = client.__class__()
    admin.force_login(admin_user)

    listing = admin.get(reverse(CHANGELIST))
    assert listing.status_code == 200
    assert "cora" in listing.content.decode()
    response = admin.post(
        reverse(CHANGELIST),
        {
            "action": "unlock",
            "_selected_action": list(AccessAttempt.objects.values_list("pk", flat=True)),
        },
        follow=True,
    )

    assert "Unlocked: 1 failed-login counter(s) cleared." in response.content.decode()
    assert not AccessAttempt.objects.exists()
    event = AuditEvent.objects.get(action="auth.unlocked")
    assert event.actor_user == admin_user
    assert event.payload["cleared"] == [{"username": "cora", "ip": "203.0.113.7", "failures": 6}]
    assert sign_in(client, "cora", PASSWORD).status_code == 302
    assert client.session["_auth_user_id"] == str(cora.pk)
    assert verify_ledger().ok


def test_a_manager_may_unlock(client):
    for n in range(5):
        sign_in(client, "cora", f"wrong-{n}")
    manager = StaffUserFactory()
    manager.groups.add(Group.objects.get(name=MANAGER))
    assert (
        unlock_sign_ins(
            attempt_ids=AccessAttempt.objects.values_list("pk", flat=True), user=manager
        )
        == 1
    )
    assert not AccessAttempt.objects.exists()


def test_a_reviewer_may_not_unlock_and_nothing_changes(client):
    for n in range(5):
        sign_in(client, "cora", f"wrong-{n}")
    reviewer = StaffUserFactory()
    reviewer.groups.add(Group.objects.get(name=REVIEWER))
    before = (AccessAttempt.objects.count(), AuditEvent.objects.count())

    with pytest.raises(NotAllowed, match="You may not unlock sign-ins."):
        unlock_sign_ins(
            attempt_ids=AccessAttempt.objects.values_list("pk", flat=True), user=reviewer
        )

    assert (AccessAttempt.objects.count(), AuditEvent.objects.count()) == before
    client.force_login(reviewer)
    assert client.get(reverse(CHANGELIST)).status_code == 403


def test_the_lockout_admin_offers_no_delete_and_no_edit(client):
    for n in range(5):
        sign_in(client, "cora", f"wrong-{n}")
    attempt = AccessAttempt.objects.get()
    client.force_login(SuperUserFactory())
    listing = client.get(reverse(CHANGELIST)).content.decode()
    assert "delete_selected" not in listing
    change = reverse("admin:axes_accessattempt_change", args=[attempt.pk])
    page = client.get(change)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert "post_data" not in page.content.decode()


def test_the_client_address_trusts_only_the_configured_proxies(rf, settings):
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    assert client_address(request) == "10.0.0.2"
    settings.LOGIN_TRUSTED_PROXY_COUNT = 1
    assert client_address(request) == "203.0.113.7"  # not the spoofed left-most entry
