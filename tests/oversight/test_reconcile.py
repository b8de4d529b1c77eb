"""reconcile_authority: guardian's decide/override rows re-derived from the grants, drift put
right and reported, expired grants recorded once; the command, the task and its schedule."""

import datetime
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_q.models import Schedule
from guardian.shortcuts import assign_perm, remove_perm

from audit.models import AuditEvent
from audit.services.ledger import verify_ledger
from oversight.services.authority import grant_authority, reconcile_authority, revoke_grant
from oversight.tasks import reconcile_authority as reconcile_task
from tests.factories import AuthorityGrantFactory, JourneyFactory, UserFactory
from tests.oversight.authority_world import DAY, NOW, queue_permissions, train, world

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def w(clock):
    return world()


def expired_events() -> list[str]:
    return list(
        AuditEvent.objects.filter(action="grant.expired").values_list("object_id", flat=True)
    )


def test_missing_and_stray_rows_are_put_right_and_reported(w):
    # Missing: a grant saved without its rows.
    AuthorityGrantFactory(user=w.sam, level=w.senior, journey=w.refunds, sync_permissions=False)
    # Stray: a person with no grant at all, and an override on a level that may not override.
    assign_perm("oversight.decide_journey", w.untrained, w.billing)
    AuthorityGrantFactory(user=w.rhea, level=w.reviewer, journey=w.billing)
    assign_perm("oversight.override_journey", w.rhea, w.billing)
    # Missing too: one of the manager's rows deleted by hand.
    remove_perm("oversight.override_journey", w.manager, w.refunds)

    report = reconcile_authority()

    assert sorted(report.added) == [
        ("mark", "Support assistant / Refunds", "override_journey"),
        ("sam", "Support assistant / Refunds", "decide_journey"),
        ("sam", "Support assistant / Refunds", "override_journey"),
    ]
    assert sorted(report.removed) == [
        ("rhea", "Support assistant / Billing", "override_journey"),
        ("una", "Support assistant / Billing", "decide_journey"),
    ]
    assert report.expired == []
    assert queue_permissions() == {
        ("mark", "refunds", "decide_journey"),
        ("mark", "refunds", "override_journey"),
        ("mark", "billing", "decide_journey"),
        ("mark", "billing", "override_journey"),
        ("rhea", "billing", "decide_journey"),
        ("sam", "refunds", "decide_journey"),
        ("sam", "refunds", "override_journey"),
    }


def test_running_again_finds_nothing_to_do(w):
    AuthorityGrantFactory(user=w.sam, level=w.senior, journey=w.refunds, sync_permissions=False)
    assert reconcile_authority().changed

    again = reconcile_authority()

    assert not again.changed
    assert "Nothing was out of step." in str(again)


def test_an_expired_grant_loses_its_rows_and_is_recorded_once(w, clock):
    grant = grant_authority(
        granter=w.manager,
        user=w.rhea,
        level=w.reviewer,
        journey=w.refunds,
        valid_until=NOW + 10 * DAY,
        justification="Cover for two weeks.",
    )
    assert queue_permissions(w.rhea) == {("rhea", "refunds", "decide_journey")}
    clock.move_to(NOW + 10 * DAY)

    report = reconcile_authority()

    assert report.removed == [("rhea", "Support assistant / Refunds", "decide_journey")]
    assert report.expired == [f"{grant} (ended 2026-06-11 09:00)"]
    assert expired_events() == [str(grant.pk)]
    event = AuditEvent.objects.get(action="grant.expired")
    assert event.actor_label == "reconcile_authority"
    assert event.payload["valid_until"] == "2026-06-11T09:00:00Z"
    assert not reconcile_authority().changed
    assert expired_events() == [str(grant.pk)]
    assert verify_ledger().ok


def test_a_grant_revoked_before_its_end_is_not_recorded_as_expired(w, clock):
    grant = grant_authority(
        granter=w.manager,
        user=w.rhea,
        level=w.reviewer,
        journey=w.refunds,
        valid_until=NOW + 10 * DAY,
        justification="Cover for two weeks.",
    )
    revoke_grant(revoker=w.manager, grant=grant, reason="Back early.")
    clock.move_to(NOW + 20 * DAY)

    assert not reconcile_authority().changed
    assert expired_events() == []


def test_a_lapsed_training_removes_the_rows_and_renewal_brings_them_back(w, clock):
    AuthorityGrantFactory(user=w.rhea, level=w.reviewer, journey=w.refunds)
    clock.move_to(datetime.datetime(2027, 3, 1, 9, 0, tzinfo=datetime.UTC))  # course expired

    lapsed = reconcile_authority()

    assert ("rhea", "Support assistant / Refunds", "decide_journey") in lapsed.removed
    assert queue_permissions(w.rhea) == set()

    train(w.rhea, w.course_version, completed_on=datetime.date(2027, 3, 1))
    renewed = reconcile_authority()

    assert renewed.added == [("rhea", "Support assistant / Refunds", "decide_journey")]
    assert renewed.removed == []


def test_a_new_journey_of_a_system_is_covered_by_system_wide_grants(w):
    new = JourneyFactory(ai_system=w.assistant, slug="returns", name="Returns")

    report = reconcile_authority()

    assert sorted(report.added) == [
        ("mark", "Support assistant / Returns", "decide_journey"),
        ("mark", "Support assistant / Returns", "override_journey"),
    ]
    assert ("mark", new.slug, "decide_journey") in queue_permissions()


def test_reconciling_one_person_leaves_the_others_alone(w):
    AuthorityGrantFactory(user=w.sam, level=w.senior, journey=w.refunds, sync_permissions=False)
    AuthorityGrantFactory(user=w.rhea, level=w.reviewer, journey=w.refunds, sync_permissions=False)

    report = reconcile_authority(users=[w.rhea])

    assert report.added == [("rhea", "Support assistant / Refunds", "decide_journey")]
    assert queue_permissions(w.sam) == set()


def drift_for(w, usernames):
    """People with a system-wide grant saved without its rows, and a stray row elsewhere."""
    for username in usernames:
        user = UserFactory(username=username)
        train(user, w.course_version, completed_on=datetime.date(2026, 3, 1))
        AuthorityGrantFactory(
            user=user, level=w.senior, ai_system=w.assistant, journey=None, sync_permissions=False
        )
        assign_perm("oversight.decide_journey", user, w.credit)


def test_reconciling_costs_the_same_queries_for_one_or_many_people(w):
    drift_for(w, ["first"])
    with CaptureQueriesContext(connection) as one:
        one_report = reconcile_authority()

    drift_for(w, [f"reviewer{n}" for n in range(12)])
    with CaptureQueriesContext(connection) as twelve:
        twelve_report = reconcile_authority()

    assert (len(one_report.added), len(one_report.removed)) == (4, 1)
    assert (len(twelve_report.added), len(twelve_report.removed)) == (48, 12)
    assert len(twelve) == len(one), [q["sql"][:80] for q in twelve.captured_queries]


def test_the_command_prints_what_it_fixed_and_succeeds(w):
    AuthorityGrantFactory(user=w.sam, level=w.reviewer, journey=w.billing, sync_permissions=False)
    out = StringIO()

    call_command("reconcile_authority", stdout=out)

    printed = out.getvalue()
    assert "1 permission(s) added, 0 removed, 0 grant(s) recorded as expired" in printed
    assert "added:   sam — decide_journey on Support assistant / Billing" in printed

    out = StringIO()
    call_command("reconcile_authority", stdout=out)
    assert "Nothing was out of step." in out.getvalue()


def test_the_task_returns_the_report(w):
    AuthorityGrantFactory(user=w.sam, level=w.reviewer, journey=w.billing, sync_permissions=False)

    assert "1 permission(s) added" in reconcile_task()


def test_a_daily_schedule_runs_the_task():
    schedule = Schedule.objects.get(name="Reconcile authority")

    assert schedule.func == "oversight.tasks.reconcile_authority"
    assert schedule.schedule_type == Schedule.DAILY
    assert schedule.repeats == -1
