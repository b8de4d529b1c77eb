"""The audit ledger in the admin: every event field shown, nothing writable."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from audit.models import AuditEvent
from audit.services.ledger import Actor, append_event, verify_ledger
from oversight.roles import COMPLIANCE_OFFICER
from tests.factories import CaseFactory, StaffUserFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def compliance_client(client):
    officer = StaffUserFactory()
    officer.groups.add(Group.objects.get(name=COMPLIANCE_OFFICER))
    client.force_login(officer)
    return client


@pytest.fixture
def event():
    case = CaseFactory()
    actor = UserFactory(username="rev-anna")
    append_event(actor=Actor.system(), action="case.opened", obj=case)
    return append_event(
        actor=Actor.for_user(actor),
        action="case.decided",
        obj=case,
        payload={"rationale": "<b>refund</b> approved"},
    )


def test_changelist_shows_sequence_time_actor_action_object_and_hash(compliance_client, event):
    response = compliance_client.get(reverse("admin:audit_auditevent_changelist"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "rev-anna (Person)" in html
    assert "case.decided" in html
    assert event.hash[:12] in html
    case_url = reverse("admin:oversight_case_change", args=[event.object_id])
    assert f'<a href="{case_url}">oversight.case:{event.object_id}</a>' in html
    # Newest first.
    assert [e.sequence for e in response.context["cl"].result_list] == [2, 1]


def test_event_page_shows_the_chain_and_the_payload_escaped(compliance_client, event):
    response = compliance_client.get(reverse("admin:audit_auditevent_change", args=[event.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert event.hash in html
    assert event.prev_hash in html
    assert "&lt;b&gt;refund&lt;/b&gt; approved" in html
    assert "<b>refund</b>" not in html
    assert not response.context["adminform"].form.fields


def test_events_cannot_be_added_changed_or_deleted_and_the_ledger_still_verifies(
    admin_client, event
):
    change_url = reverse("admin:audit_auditevent_change", args=[event.pk])

    assert admin_client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    assert admin_client.post(change_url, {"action": "case.forged"}).status_code == 403
    delete_url = reverse("admin:audit_auditevent_delete", args=[event.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403

    assert AuditEvent.objects.count() == 2
    assert verify_ledger().ok


def test_object_without_an_admin_page_is_shown_as_text(admin_client):
    event = append_event(
        actor=Actor.system(), action="ledger.note", object_type="reports.report", object_id="7"
    )

    response = admin_client.get(reverse("admin:audit_auditevent_change", args=[event.pk]))

    assert "reports.report:7" in response.content.decode()
