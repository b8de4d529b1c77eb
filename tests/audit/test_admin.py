"""The audit ledger in the admin: every event field shown, nothing writable."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse

from audit.models import AuditEvent, LedgerVerification, VerificationTrigger
from audit.services.ledger import Actor, append_event, verify_ledger
from audit.services.verification import create_daily_checkpoint, run_verification
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
    assert '<span title="case.decided">Case decided</span>' in html
    assert event.hash[:12] in html
    case = event.object_id
    case_url = reverse("admin:oversight_case_change", args=[case])
    name = str(CaseFactory._meta.model.objects.get(pk=case))
    assert f'<a href="{case_url}" title="{case}">Case: {name}</a>' in html
    assert f"oversight.case:{case}" not in html
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

    html = response.content.decode()
    assert "reports.report: 7 (not found)" in html
    assert "<code>ledger.note</code>" in html  # an unknown code is shown as it is


def test_changelist_links_to_the_verification_page(compliance_client):
    response = compliance_client.get(reverse("admin:audit_auditevent_changelist"))

    verify_url = reverse("admin:audit_auditevent_verify")
    assert f'<a href="{verify_url}">Verify the audit trail</a>' in response.content.decode()


def test_verification_page_shows_the_head_and_past_results(compliance_client, event):
    run_verification(triggered_by=VerificationTrigger.SCHEDULE)

    response = compliance_client.get(reverse("admin:audit_auditevent_verify"))

    assert response.status_code == 200
    html = response.content.decode()
    assert f"#2</strong> <code>{event.hash}</code>" in html
    assert "Daily schedule" in html
    assert "<strong>OK</strong>" in html
    assert "No checkpoint yet." in html


def test_verifying_from_the_admin_records_who_asked_and_shows_the_result(compliance_client, event):
    url = reverse("admin:audit_auditevent_verify")

    response = compliance_client.post(url, {"scope": "all"}, follow=True)

    assert response.redirect_chain == [(url, 302)]
    [message] = [str(m) for m in response.context["messages"]]
    assert message == f"OK: 2 events, head {event.hash}"
    record = LedgerVerification.objects.get()
    assert (record.ok, record.triggered_by, record.count) == (True, "admin", 2)
    assert record.user == response.context["user"]


def test_a_broken_chain_is_shown_as_an_error_in_the_admin(compliance_client, event, tamper):
    with tamper():
        AuditEvent.objects.filter(sequence=1).update(action="case.forged")

    response = compliance_client.post(
        reverse("admin:audit_auditevent_verify"), {"scope": "all"}, follow=True
    )

    [message] = list(response.context["messages"])
    assert message.level_tag == "error"
    assert str(message) == "BROKEN at #1: its content was changed after writing"
    assert "BROKEN at #1" in response.content.decode()
    assert not LedgerVerification.objects.get().ok


def test_verifying_since_the_checkpoint_from_the_admin(compliance_client, event):
    create_daily_checkpoint()
    append_event(actor=Actor.system(), action="test.event")

    page = compliance_client.get(reverse("admin:audit_auditevent_verify")).content.decode()
    assert 'value="since_checkpoint"' in page
    compliance_client.post(reverse("admin:audit_auditevent_verify"), {"scope": "since_checkpoint"})

    record = LedgerVerification.objects.filter(triggered_by="admin").get()
    assert (record.since_checkpoint, record.from_sequence, record.count) == (True, 2, 2)


def test_staff_without_the_audit_view_permission_cannot_verify(client, event):
    client.force_login(StaffUserFactory())
    url = reverse("admin:audit_auditevent_verify")

    assert client.get(url).status_code == 403
    assert client.post(url, {"scope": "all"}).status_code == 403
    assert not LedgerVerification.objects.exists()


def test_times_are_shown_in_the_viewers_time_zone_with_the_zone(compliance_client, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    with time_machine.travel(datetime.datetime(2026, 7, 1, 10, 0, 5, tzinfo=datetime.UTC)):
        append_event(actor=Actor.system(), action="auth.login")

    html = compliance_client.get(reverse("admin:audit_auditevent_changelist")).content.decode()

    assert "1 Jul 2026, 12:00:05 CEST" in html
    assert "Signed in" in html


def test_the_action_filter_offers_labels_and_filters_by_code(compliance_client, event):
    url = reverse("admin:audit_auditevent_changelist")

    response = compliance_client.get(url, {"action": "case.opened"})

    assert [e.action for e in response.context["cl"].result_list] == ["case.opened"]
    assert ">Case opened</a>" in compliance_client.get(url).content.decode()


def test_object_names_cost_one_query_per_object_type_not_per_row(
    compliance_client, django_assert_max_num_queries
):
    from tests.factories import IssuedReportFactory

    for _ in range(10):
        case = CaseFactory()
        append_event(actor=Actor.system(), action="case.opened", obj=case)
        append_event(actor=Actor.system(), action="report.generated", obj=IssuedReportFactory())
    url = reverse("admin:audit_auditevent_changelist")
    compliance_client.get(url)

    with django_assert_max_num_queries(10):
        response = compliance_client.get(url)

    assert response.content.decode().count("Case: Case ") == 10


def test_the_verify_buttons_are_styled_as_admin_buttons(compliance_client, event):
    create_daily_checkpoint()

    page = compliance_client.get(reverse("admin:audit_auditevent_verify")).content.decode()

    assert 'value="all" class="button default"' in page
    assert 'value="since_checkpoint" class="button"' in page
