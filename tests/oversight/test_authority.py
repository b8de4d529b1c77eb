"""The authority service: granting, extending and revoking (invariant 4), managers, effective
authority with training, guardian permissions in step, and the live queue they filter."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import Group
from django_q.models import Schedule
from guardian.shortcuts import assign_perm

from audit.models import AuditEvent
from audit.services.ledger import verify_ledger
from oversight.exceptions import InvalidInput, NotAllowed
from oversight.models import AuthorityGrant
from oversight.roles import MANAGER
from oversight.services.authority import (
    SYNC_TASK,
    assign_manager,
    decidable_cases,
    effective_level,
    extend_grant,
    grant_authority,
    grant_options,
    journeys_decidable_by,
    manages_scope,
    revoke_grant,
    unassign_manager,
)
from oversight.tasks import sync_user_authority
from tests.factories import (
    AuthorityGrantFactory,
    CaseFactory,
    JourneyFactory,
    TrainingCompletionFactory,
    UserFactory,
)
from tests.oversight.authority_world import DAY, NOW, queue_permissions, snapshot, train, world

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def w(clock):
    return world()


def grant_to_rhea(w, **changes):
    arguments = {
        "granter": w.manager,
        "user": w.rhea,
        "level": w.reviewer,
        "journey": w.refunds,
        "valid_until": NOW + 90 * DAY,
        "justification": "Covers the refunds queue on the early shift.",
        **changes,
    }
    return grant_authority(**arguments)


def assert_refused(call, error, message, before):
    with pytest.raises(error) as refusal:
        call()
    assert message in refusal.value.message
    assert snapshot() == before


# Granting ---------------------------------------------------------------------------------------


def test_a_manager_grants_a_level_below_their_own_on_a_journey_they_manage(w):
    grant = grant_to_rhea(w)

    assert (grant.user, grant.level, grant.journey, grant.ai_system) == (
        w.rhea,
        w.reviewer,
        w.refunds,
        None,
    )
    assert (grant.valid_from, grant.valid_until, grant.granted_by) == (
        NOW,
        NOW + 90 * DAY,
        w.manager,
    )
    [version] = grant.history.all()
    assert version.history_user == w.manager
    event = AuditEvent.objects.get(action="grant.created")
    assert event.object_id == str(grant.pk)
    assert event.actor_user == w.manager
    assert event.payload["user"] == "rhea"
    assert event.payload["level"] == "Reviewer"
    assert event.payload["scope"] == "Support assistant / Refunds"
    assert event.payload["justification"] == "Covers the refunds queue on the early shift."
    # Reviewer may decide but not override.
    assert queue_permissions(w.rhea) == {("rhea", "refunds", "decide_journey")}
    assert verify_ledger().ok


def test_a_system_wide_grant_of_an_overriding_level_covers_every_journey_of_that_system(w):
    grant_to_rhea(w, level=w.senior, journey=None, ai_system=w.assistant)

    assert queue_permissions(w.rhea) == {
        ("rhea", "refunds", "decide_journey"),
        ("rhea", "refunds", "override_journey"),
        ("rhea", "billing", "decide_journey"),
        ("rhea", "billing", "override_journey"),
    }
    assert effective_level(w.rhea, w.billing) == w.senior
    assert effective_level(w.rhea, w.credit) is None


def test_a_manager_may_grant_their_own_level_but_not_above_it(w):
    grant_to_rhea(w, level=w.senior)
    before = snapshot()

    assert_refused(
        lambda: grant_to_rhea(w, level=w.lead, journey=w.billing),
        NotAllowed,
        "You hold Senior reviewer on Support assistant / Billing; you cannot give Team lead, "
        "which ranks above it.",
        before,
    )


def test_a_superuser_grants_any_level_anywhere_without_holding_one(w):
    grant = grant_to_rhea(w, granter=w.admin, level=w.lead, journey=w.credit)

    assert grant.granted_by == w.admin
    assert effective_level(w.rhea, w.credit) == w.lead


def test_a_journey_manager_manages_that_journey_only(w):
    journey_manager = UserFactory(username="jo")
    journey_manager.groups.add(Group.objects.get(name=MANAGER))
    train(journey_manager, w.course_version, completed_on=datetime.date(2026, 3, 1))
    assign_manager(assigned_by=w.admin, manager=journey_manager, journey=w.credit)
    AuthorityGrantFactory(user=journey_manager, level=w.lead, journey=w.credit)

    grant_to_rhea(w, granter=journey_manager, journey=w.credit)

    assert manages_scope(journey_manager, journey=w.credit)
    assert not manages_scope(journey_manager, ai_system=w.checker)
    with pytest.raises(NotAllowed, match="You do not manage authority on Credit checker"):
        grant_to_rhea(w, granter=journey_manager, journey=None, ai_system=w.checker)


def test_granting_to_oneself_is_refused_and_nothing_changes(w):
    assert_refused(
        lambda: grant_to_rhea(w, user=w.manager),
        NotAllowed,
        "Nobody may grant their own authority: ask another manager.",
        snapshot(),
    )


def test_granting_on_a_scope_one_does_not_manage_is_refused_and_nothing_changes(w):
    assert_refused(
        lambda: grant_to_rhea(w, journey=w.credit),
        NotAllowed,
        "You do not manage authority on Credit checker / Credit limits: an administrator must "
        "make you one of its managers first.",
        snapshot(),
    )


def test_a_manager_without_a_level_of_their_own_cannot_grant_and_nothing_changes(w):
    revoke_grant(revoker=w.admin, grant=w.manager_grant, reason="Moved to another team.")

    assert_refused(
        lambda: grant_to_rhea(w),
        NotAllowed,
        "You hold no authority level on Support assistant / Refunds yourself",
        snapshot(),
    )


def test_a_manager_whose_own_training_lapsed_cannot_grant(w, clock):
    clock.move_to(datetime.datetime(2027, 3, 2, 9, 0, tzinfo=datetime.UTC))
    train(w.rhea, w.course_version, completed_on=datetime.date(2027, 3, 1))

    assert_refused(
        lambda: grant_to_rhea(w, valid_until=None),
        NotAllowed,
        "You hold no authority level on Support assistant / Refunds yourself (or your "
        "training for it is not current)",
        snapshot(),
    )


def test_granting_to_someone_without_the_levels_training_is_refused_and_nothing_changes(w):
    assert_refused(
        lambda: grant_to_rhea(w, user=w.untrained),
        NotAllowed,
        "Una Lane does not have the training Reviewer requires current on 2026-06-01: "
        "Overriding the assistant.",
        snapshot(),
    )


def test_training_is_judged_on_the_day_the_grant_starts(w):
    # Rhea's course expires on 2027-03-01: a grant starting after that is refused.
    start = datetime.datetime(2027, 3, 5, 9, 0, tzinfo=datetime.UTC)

    assert_refused(
        lambda: grant_to_rhea(w, valid_from=start, valid_until=start + 30 * DAY),
        NotAllowed,
        "Rhea Stone does not have the training Reviewer requires current on 2027-03-05",
        snapshot(),
    )


def test_granting_to_an_inactive_person_is_refused_and_nothing_changes(w):
    w.rhea.is_active = False
    w.rhea.save()

    assert_refused(
        lambda: grant_to_rhea(w),
        InvalidInput,
        "Rhea Stone's account is inactive: authority goes only to active people.",
        snapshot(),
    )


@pytest.mark.parametrize(
    "changes, message",
    [
        (
            lambda w: {"journey": None},
            "Choose the scope of the grant: an AI system or one journey.",
        ),
        (
            lambda w: {"ai_system": w.assistant},
            "Choose either an AI system or one journey as the scope of a grant, not both.",
        ),
        (lambda w: {"justification": "   "}, "a justification is needed"),
        (
            lambda w: {"valid_from": NOW + 10 * DAY, "valid_until": NOW + 5 * DAY},
            "'Valid until' must be after 'valid from'.",
        ),
        (lambda w: {"valid_from": NOW - DAY}, "A grant cannot start in the past"),
    ],
    ids=["no scope", "two scopes", "no justification", "ends before it starts", "backdated"],
)
def test_malformed_grants_are_refused_and_nothing_changes(w, changes, message):
    assert_refused(lambda: grant_to_rhea(w, **changes(w)), InvalidInput, message, snapshot())


def test_a_start_a_moment_ago_means_now(w):
    grant = grant_to_rhea(w, valid_from=NOW - datetime.timedelta(minutes=2))

    assert grant.valid_from == NOW


def test_a_grant_starting_later_gives_permissions_when_its_start_and_end_come(w, clock):
    start, end = NOW + 7 * DAY, NOW + 37 * DAY
    grant = grant_to_rhea(w, valid_from=start, valid_until=end)

    assert queue_permissions(w.rhea) == set()
    schedules = Schedule.objects.filter(func=SYNC_TASK).order_by("next_run")
    assert [(s.next_run, s.schedule_type, s.args) for s in schedules] == [
        (start, Schedule.ONCE, repr(w.rhea.pk)),
        (end, Schedule.ONCE, repr(w.rhea.pk)),
    ]

    clock.move_to(start)
    sync_user_authority(w.rhea.pk)
    assert queue_permissions(w.rhea) == {("rhea", "refunds", "decide_journey")}

    clock.move_to(end)
    sync_user_authority(w.rhea.pk)
    assert queue_permissions(w.rhea) == set()
    assert AuditEvent.objects.filter(action="grant.expired", object_id=str(grant.pk)).count() == 1


# Effective authority and training ----------------------------------------------------------------


def test_a_lapsed_training_makes_a_grant_ineffective_until_it_is_renewed(w, clock):
    grant = grant_to_rhea(w, valid_until=None)
    assert effective_level(w.rhea, w.refunds) == w.reviewer

    clock.move_to(datetime.datetime(2027, 3, 1, 9, 0, tzinfo=datetime.UTC))  # course expired

    assert effective_level(w.rhea, w.refunds) is None
    assert AuthorityGrant.objects.filter(pk=grant.pk, revoked_at__isnull=True).exists()

    TrainingCompletionFactory(
        user=w.rhea, module_version=w.course_version, completed_on=datetime.date(2027, 3, 1)
    )
    assert effective_level(w.rhea, w.refunds) == w.reviewer
    # The past is answered as it was.
    assert effective_level(w.rhea, w.refunds, at=NOW) == w.reviewer


# Extending -------------------------------------------------------------------------------------


def test_extending_moves_the_end_with_the_reason_in_history_and_ledger(w, clock):
    grant = grant_to_rhea(w)
    clock.shift(DAY)

    extend_grant(
        granter=w.manager,
        grant=grant,
        valid_until=NOW + 180 * DAY,
        justification="Early shift continues until December.",
    )

    grant.refresh_from_db()
    assert grant.valid_until == NOW + 180 * DAY
    latest = grant.history.latest()
    assert latest.history_user == w.manager
    assert latest.history_change_reason == "extended: Early shift continues until December."
    assert grant.history.earliest().valid_until == NOW + 90 * DAY
    event = AuditEvent.objects.get(action="grant.extended")
    assert event.payload["previous_valid_until"] == (NOW + 90 * DAY).isoformat().replace(
        "+00:00", "Z"
    )
    assert event.payload["justification"] == "Early shift continues until December."
    assert Schedule.objects.filter(func=SYNC_TASK, next_run=NOW + 180 * DAY).exists()


@pytest.mark.parametrize(
    "setup, extension, error, message",
    [
        (
            lambda w, g: revoke_grant(revoker=w.manager, grant=g, reason="Left the team."),
            {},
            InvalidInput,
            "This grant was revoked on 2026-06-01 09:00; it cannot be extended.",
        ),
        (
            lambda w, g: None,
            {"valid_until": NOW + 30 * DAY},
            InvalidInput,
            "The new end must be later than the current one (2026-08-30 09:00).",
        ),
        (lambda w, g: None, {"justification": ""}, InvalidInput, "a justification is needed"),
        (
            lambda w, g: None,
            {"granter": "sam"},
            NotAllowed,
            "You do not manage authority on Support assistant / Refunds",
        ),
        (
            lambda w, g: None,
            {"granter": "rhea"},
            NotAllowed,
            "Nobody may extend their own authority",
        ),
    ],
    ids=["revoked", "earlier end", "no justification", "not a manager", "own grant"],
)
def test_refused_extensions_change_nothing(w, setup, extension, error, message):
    grant = grant_to_rhea(w)
    setup(w, grant)
    arguments = {
        "granter": w.manager,
        "valid_until": NOW + 180 * DAY,
        "justification": "Needed longer.",
        **extension,
    }
    if isinstance(arguments["granter"], str):
        arguments["granter"] = getattr(w, arguments["granter"])

    assert_refused(lambda: extend_grant(grant=grant, **arguments), error, message, snapshot())


def test_an_expired_grant_cannot_be_extended(w, clock):
    grant = grant_to_rhea(w, valid_until=NOW + 10 * DAY)
    clock.move_to(NOW + 11 * DAY)

    assert_refused(
        lambda: extend_grant(
            granter=w.manager, grant=grant, valid_until=NOW + 60 * DAY, justification="Again."
        ),
        InvalidInput,
        "This grant expired on 2026-06-11 09:00; it cannot be extended. Make a new grant instead.",
        snapshot(),
    )


def test_a_grant_without_an_end_cannot_be_extended(w):
    grant = grant_to_rhea(w, valid_until=None)

    assert_refused(
        lambda: extend_grant(
            granter=w.manager, grant=grant, valid_until=NOW + 60 * DAY, justification="Longer."
        ),
        InvalidInput,
        "This grant runs until revoked: there is no end to extend.",
        snapshot(),
    )


def test_extending_for_someone_whose_training_lapsed_is_refused(w, clock):
    grant = grant_to_rhea(w, valid_until=datetime.datetime(2027, 6, 1, tzinfo=datetime.UTC))
    clock.move_to(datetime.datetime(2027, 3, 2, 9, 0, tzinfo=datetime.UTC))
    train(w.manager, w.course_version, completed_on=datetime.date(2027, 3, 1))

    assert_refused(
        lambda: extend_grant(
            granter=w.manager,
            grant=grant,
            valid_until=datetime.datetime(2027, 9, 1, tzinfo=datetime.UTC),
            justification="Longer.",
        ),
        NotAllowed,
        "Rhea Stone does not have the training Reviewer requires current on 2027-03-02",
        snapshot(),
    )


# Revoking --------------------------------------------------------------------------------------


def test_revoking_ends_the_grant_at_once_and_removes_the_permissions(w, clock):
    grant = grant_to_rhea(w, level=w.senior)
    clock.shift(datetime.timedelta(hours=3))

    revoke_grant(revoker=w.manager, grant=grant, reason="Moved to the billing team.")

    grant.refresh_from_db()
    revoked_at = NOW + datetime.timedelta(hours=3)
    assert (grant.revoked_at, grant.revoked_by, grant.revocation_reason) == (
        revoked_at,
        w.manager,
        "Moved to the billing team.",
    )
    assert grant.history.latest().history_user == w.manager
    assert grant.history.count() == 2
    assert queue_permissions(w.rhea) == set()
    assert effective_level(w.rhea, w.refunds) is None
    assert effective_level(w.rhea, w.refunds, at=revoked_at - DAY / 24) == w.senior
    event = AuditEvent.objects.get(action="grant.revoked")
    assert event.payload["reason"] == "Moved to the billing team."
    assert event.actor_user == w.manager


def test_revoking_twice_is_refused_and_nothing_changes(w):
    grant = grant_to_rhea(w)
    revoke_grant(revoker=w.manager, grant=grant, reason="Left the team.")

    assert_refused(
        lambda: revoke_grant(revoker=w.admin, grant=grant, reason="Again."),
        InvalidInput,
        "This grant was revoked on 2026-06-01 09:00; it cannot be revoked.",
        snapshot(),
    )


def test_revoking_without_a_reason_is_refused_and_nothing_changes(w):
    grant = grant_to_rhea(w)

    assert_refused(
        lambda: revoke_grant(revoker=w.manager, grant=grant, reason=" "),
        InvalidInput,
        "Say why the grant is revoked: a reason is needed.",
        snapshot(),
    )


def test_revoking_on_a_scope_one_does_not_manage_is_refused_and_nothing_changes(w):
    grant = grant_to_rhea(w, granter=w.admin, journey=w.credit)

    assert_refused(
        lambda: revoke_grant(revoker=w.manager, grant=grant, reason="Not needed."),
        NotAllowed,
        "You do not manage authority on Credit checker / Credit limits: only its managers may "
        "revoke it.",
        snapshot(),
    )


def test_an_expired_grant_cannot_be_revoked(w, clock):
    grant = grant_to_rhea(w, valid_until=NOW + 10 * DAY)
    clock.move_to(NOW + 10 * DAY)

    assert_refused(
        lambda: revoke_grant(revoker=w.manager, grant=grant, reason="Tidy up."),
        InvalidInput,
        "This grant expired on 2026-06-11 09:00; it cannot be revoked.",
        snapshot(),
    )


# Managers ----------------------------------------------------------------------------------------


def test_only_a_superuser_assigns_managers_and_only_members_of_the_manager_role(w):
    before = snapshot()

    assert_refused(
        lambda: assign_manager(assigned_by=w.manager, manager=w.sam, ai_system=w.checker),
        NotAllowed,
        "Only an administrator (superuser) may assign managers of authority.",
        before,
    )
    assert_refused(
        lambda: assign_manager(assigned_by=w.admin, manager=w.sam, ai_system=w.checker),
        InvalidInput,
        "Sam Okafor is not an active member of the Manager role: add them to it first.",
        before,
    )
    assert_refused(
        lambda: assign_manager(assigned_by=w.admin, manager=w.manager, ai_system=w.assistant),
        InvalidInput,
        "Mark Ellison already manages authority on Support assistant.",
        before,
    )


def test_assigning_and_removing_a_manager_is_audited(w):
    assign_manager(assigned_by=w.admin, manager=w.manager, ai_system=w.checker)
    assert manages_scope(w.manager, journey=w.credit)

    unassign_manager(assigned_by=w.admin, manager=w.manager, ai_system=w.checker)

    assert not manages_scope(w.manager, journey=w.credit)
    events = AuditEvent.objects.filter(object_id=str(w.checker.pk)).order_by("sequence")
    assert [(e.action, e.payload["manager"]) for e in events] == [
        ("manager.assigned", "mark"),
        ("manager.unassigned", "mark"),
    ]
    with pytest.raises(InvalidInput, match="Mark Ellison does not manage authority on Credit"):
        unassign_manager(assigned_by=w.admin, manager=w.manager, ai_system=w.checker)


def test_leaving_the_manager_role_suspends_managing_and_nothing_can_be_granted(w):
    w.manager.groups.clear()

    assert not manages_scope(w.manager, ai_system=w.assistant)
    assert grant_options(w.manager).journeys == []
    assert_refused(
        lambda: grant_to_rhea(w),
        NotAllowed,
        "You do not manage authority on Support assistant / Refunds",
        snapshot(),
    )


def test_a_global_manage_permission_gives_no_scope(w):
    assign_perm("oversight.manage_authority_ai_system", w.sam)

    assert not manages_scope(w.sam, ai_system=w.assistant)


def test_grant_options_offer_only_managed_scopes_and_levels_up_to_ones_own(w):
    options = grant_options(w.manager)

    assert options.ai_systems == [w.assistant]
    assert options.journeys == [w.billing, w.refunds]
    assert options.levels == [w.reviewer, w.senior]
    everything = grant_options(w.admin)
    assert everything.levels == [w.reviewer, w.senior, w.lead]
    assert set(everything.journeys) == {w.refunds, w.billing, w.credit}
    assert grant_options(w.rhea).journeys == []


# The live queue through guardian -----------------------------------------------------------------


def test_decidable_cases_agree_with_the_journeys_guardian_lets_one_decide(w):
    grant_to_rhea(w)
    refund_case = CaseFactory(journey=w.refunds, required_level=w.reviewer)
    CaseFactory(journey=w.billing, required_level=w.reviewer)
    CaseFactory(journey=w.refunds, required_level=w.senior)  # above Rhea's level

    assert list(journeys_decidable_by(w.rhea)) == [w.refunds]
    assert list(decidable_cases(w.rhea)) == [refund_case]
    assert {case.journey for case in decidable_cases(w.rhea)} <= set(journeys_decidable_by(w.rhea))


def test_a_grant_without_its_permission_rows_gives_no_live_queue_until_reconciled(w, clock):
    # Recorded two hours ago: a past moment sees only grants on record by then.
    clock.move_to(NOW - 2 * datetime.timedelta(hours=1))
    AuthorityGrantFactory(
        user=w.sam,
        level=w.reviewer,
        journey=w.refunds,
        valid_from=NOW - 2 * datetime.timedelta(hours=1),
        sync_permissions=False,
    )
    clock.move_to(NOW)
    case = CaseFactory(journey=w.refunds, required_level=w.reviewer)

    assert list(decidable_cases(w.sam)) == []
    # A past moment is answered from the grants alone.
    assert list(decidable_cases(w.sam, at=NOW - datetime.timedelta(hours=1))) == [case]


def test_a_permission_row_without_a_grant_gives_nothing(w):
    assign_perm("oversight.decide_journey", w.sam, w.refunds)
    CaseFactory(journey=w.refunds, required_level=w.reviewer)

    assert list(journeys_decidable_by(w.sam)) == [w.refunds]
    assert list(decidable_cases(w.sam)) == []


@pytest.mark.parametrize("grants", [1, 30])
def test_decidable_cases_costs_the_same_queries_for_one_or_thirty_grants(
    w, grants, django_assert_num_queries
):
    for n in range(grants):
        journey = JourneyFactory(ai_system=w.assistant, slug=f"j{n}")
        AuthorityGrantFactory(user=w.rhea, level=w.reviewer, journey=journey)
        CaseFactory(journey=journey, required_level=w.reviewer)
    decidable_cases(w.rhea)  # warm the content-type cache

    # The record (grant history, holder, requirement history with module titles, requalifying
    # versions, completions, briefing requirement history), then the cases with guardian's rows
    # as a subquery: the same seven whatever the number of grants.
    with django_assert_num_queries(7) as captured:
        cases = list(decidable_cases(w.rhea))

    assert "journeyuserobjectpermission" in captured.captured_queries[-1]["sql"]
    assert len(cases) == grants
