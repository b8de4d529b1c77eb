"""The seed_demo command: a coherent demo told over 90 days, idempotent, consistent in time.

The demo is seeded once for this module (`seeded_demo`, tests/oversight/conftest.py); each test
runs in its own savepoint inside it. What seed_demo does on a database that is not empty is in
test_seed_demo_refusals.py."""

import datetime
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count, Sum
from django.utils import timezone

from audit.models import AuditEvent
from audit.services.ledger import verify_ledger
from literacy.expiry import add_months
from literacy.models import TrainingCompletion
from oversight.demo import AUTOMATED, CASES, DEMO_LOGINS, SYSTEM_SLUG, demo_id
from oversight.metrics import Period
from oversight.metrics.watch import automation_bias_watch
from oversight.models import (
    AISystem,
    AuthorityGrant,
    AutomationState,
    Case,
    CaseStatus,
    Combinator,
    Decision,
    DecisionOutcome,
    DecisionStage,
    GateDay,
    GateEvaluation,
    GuardrailEvaluation,
    Journey,
    JudgementPoint,
    Outcome,
    Route,
    RouteReason,
    TriggerCondition,
)
from oversight.selectors import authority_register
from oversight.services.gate import SHADOW_REASON

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("seeded_demo")]

User = get_user_model()


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def featured_cases():
    """The hand-told cases (oversight.demo.featured.CASES), one in every state."""
    return Case.objects.filter(id__in=[demo_id(f"case:{spec.key}") for spec in CASES])


def row_counts() -> dict[str, int]:
    """Rows of every model of the three apps (history tables included), users and roles."""
    counts = {
        model._meta.label: model.objects.count()
        for app_label in ("oversight", "literacy", "audit")
        for model in apps.get_app_config(app_label).get_models()
    }
    counts["users"] = User.objects.count()
    counts["user roles"] = User.groups.through.objects.count()
    return counts


def test_first_run_creates_the_demo_story():
    system = AISystem.objects.get(slug=SYSTEM_SLUG)
    assert system.owner.username == "manager"
    assert set(system.journeys.values_list("slug", flat=True)) == {
        "refunds",
        "billing-disputes",
        "identity-verification",
        "plan-changes",  # in shadow mode (oversight.demo.shadow)
    }
    assert set(Case.objects.values_list("status", flat=True)) == set(CaseStatus.values)
    assert set(Case.objects.values_list("route_reason", flat=True)) >= {
        RouteReason.TRIGGER,
        RouteReason.SAMPLE_AUDIT,
        RouteReason.CUSTOMER_REQUESTED_HUMAN,
    }
    assert GateEvaluation.objects.filter(route=Route.AUTOMATE).count() >= len(AUTOMATED)

    featured = featured_cases()
    override = Decision.objects.get(
        is_override=True, case__status=CaseStatus.DECIDED, case__in=featured
    )
    assert override.override_reason is not None
    assert override.rationale

    four_eyes = featured.get(four_eyes=True, status=CaseStatus.DECIDED)
    first, second = four_eyes.decisions.order_by("decided_at")
    assert (first.stage, second.stage) == (DecisionStage.FIRST, DecisionStage.SECOND)
    assert first.reviewer != second.reviewer

    awaiting = Case.objects.get(status=CaseStatus.AWAITING_SECOND_REVIEW)
    assert list(awaiting.decisions.values_list("stage", flat=True)) == [DecisionStage.FIRST]

    claimed = Case.objects.get(status=CaseStatus.CLAIMED)
    assert claimed.claimed_by and claimed.claimed_at and claimed.claim_expires_at

    escalated = Case.objects.get(status=CaseStatus.ESCALATED)
    assert escalated.review_round == 2
    assert escalated.escalation_note
    assert escalated.decisions.get(review_round=1).outcome == DecisionOutcome.ESCALATE

    assert AuthorityGrant.objects.filter(granted_by__username="manager").count() >= 3
    assert TrainingCompletion.objects.filter(recorded_by__username="trainer").exists()
    assert Outcome.objects.exists()
    assert verify_ledger().ok
    assert set(AuditEvent.objects.values_list("action", flat=True)) >= {
        "case.opened",
        "case.decided",
        "grant.created",
        "training.recorded",
    }


def test_every_case_ends_in_the_status_its_story_gives_it():
    for spec in CASES:
        assert Case.objects.get(id=demo_id(f"case:{spec.key}")).status == spec.status, spec.key


def test_the_gates_rules_fire_exactly_the_points_each_story_expects():
    for spec in CASES:
        case = Case.objects.get(id=demo_id(f"case:{spec.key}"))
        assert set(case.judgement_points.values_list("slug", flat=True)) == set(spec.points)
        if case.evaluation:
            assert {match["slug"] for match in case.evaluation.matched} == set(spec.points)
    for evaluation in GateEvaluation.objects.all():
        # a call while the journey was paused, or in shadow mode, goes to a person with no
        # point matched
        paused = any("paused" in reason for reason in evaluation.reasons)
        shadow = SHADOW_REASON in evaluation.reasons
        expected = Route.HUMAN if evaluation.matched or paused or shadow else Route.AUTOMATE
        assert evaluation.route == expected
        assert not evaluation.server_signals["missing_context"], evaluation.subject_ref
        assert not evaluation.server_signals["pii_in_proposal"], evaluation.subject_ref
    for spec in AUTOMATED:
        evaluation = GateEvaluation.objects.get(id=demo_id(f"evaluation:{spec.key}"))
        assert evaluation.route == Route.AUTOMATE
        assert not Case.objects.filter(evaluation=evaluation).exists()


def test_an_identity_mismatch_alone_is_automated():
    evaluation = GateEvaluation.objects.get(id=demo_id("evaluation:identity-typo-in-postcode"))
    assert evaluation.journey.slug == "identity-verification"
    assert evaluation.route == Route.AUTOMATE
    assert evaluation.signals["identity_mismatch"] is True
    assert evaluation.signals["recent_fraud_attempts"] == 0


def test_every_trigger_condition_is_valid_and_identity_fraud_needs_both_signals():
    for condition in TriggerCondition.objects.all():
        condition.full_clean()
    point = Case.objects.get(status=CaseStatus.AWAITING_SECOND_REVIEW).judgement_points.get()
    assert point.slug == "identity-fraud-combination"
    assert point.combinator == Combinator.ALL
    assert point.four_eyes
    assert point.required_level.name == "Team lead"
    assert {(c.signal, c.operator, c.value) for c in point.conditions.all()} == {
        ("identity_mismatch", "is_true", None),
        ("recent_fraud_attempts", "gte", 1),
    }


def test_decisions_are_taken_with_the_authority_the_reviewer_held():
    for decision in Decision.objects.select_related("grant__level", "authority_level", "case"):
        grant = decision.grant
        assert grant.user == decision.reviewer
        assert grant.level == decision.authority_level
        assert grant.is_active_at(decision.decided_at)
        assert grant.journey in (None, decision.case.journey)
        if decision.is_override:
            assert decision.authority_level.may_override
        limit = decision.authority_level.monetary_limit
        if decision.outcome == DecisionOutcome.APPROVE and limit is not None:
            assert decision.case.amount is None or decision.case.amount <= limit


def test_grants_are_never_made_to_oneself_and_holders_trained_first():
    """Trained when the grant began; a lapse later in the story is covered by the decisions'
    own check (test_nobody_decides_without_current_training)."""
    for grant in AuthorityGrant.objects.select_related("level"):
        assert grant.granted_by != grant.user
        required = grant.level.training_requirements.values_list("module", flat=True)
        for module_id in required:
            assert TrainingCompletion.objects.filter(
                user=grant.user,
                module_version__module_id=module_id,
                passed=True,
                completed_on__lte=grant.valid_from.date(),
                expires_on__gt=grant.valid_from.date(),
            ).exists(), (grant.user, module_id)


def test_training_completions_follow_their_versions_and_one_expires_soon():
    today = timezone.localdate()
    completions = TrainingCompletion.objects.select_related("module_version")
    for completion in completions:
        version = completion.module_version
        assert version.published_on.year == 2026
        assert version.published_on <= completion.completed_on <= today
        assert completion.expires_on == add_months(completion.completed_on, version.validity_months)
    soon = today + datetime.timedelta(days=30)
    assert completions.filter(expires_on__gt=today, expires_on__lte=soon).exists()


def test_history_rows_name_the_person_who_acted():
    for decision in Decision.objects.all():
        assert decision.history.get().history_user == decision.reviewer
    for grant in AuthorityGrant.objects.all():
        assert grant.history.get().history_user == grant.granted_by
    for completion in TrainingCompletion.objects.all():
        assert completion.history.get().history_user == completion.recorded_by


def test_second_run_creates_nothing():
    before = row_counts()

    output = seed()

    assert row_counts() == before
    assert "nothing created" in output
    assert verify_ledger().ok


def test_every_demo_login_works_and_is_printed(client, seeded_demo):
    output = seeded_demo

    for login in DEMO_LOGINS:
        assert client.login(username=login.username, password=login.password), login.username
        client.logout()
        assert login.username in output
        assert login.password in output
        assert User.objects.get(username=login.username).is_staff
    assert User.objects.get(username="admin").is_superuser


def test_the_demo_is_consistent_in_time_rules_before_the_decisions_taken_under_them():
    """The oversight report read "in force from" after decisions taken under a rule: the rules
    and the system's configuration are now dated with the story, before every case."""
    decisions = Decision.objects.select_related("case__evaluation").prefetch_related(
        "case__judgement_points"
    )
    assert decisions.exists()
    for decision in decisions:
        case = decision.case
        versions = {
            entry["slug"]: entry["version"]
            for entry in (case.evaluation.matched if case.evaluation else [])
        }
        for point in case.judgement_points.all():
            under = point.history.filter(version=versions.get(point.slug, point.version))
            first = under.order_by("history_date").first()
            assert first is not None and first.history_date <= decision.decided_at, (
                point.slug,
                decision.decided_at,
            )
        assert case.history.earliest("history_date").history_date == case.opened_at
        assert decision.history.get().history_date == decision.decided_at
    for model in (AISystem, TriggerCondition):
        for record in model.objects.all():
            assert (
                record.history.earliest("history_date").history_date
                < Case.objects.earliest("opened_at").opened_at
            )


def test_the_demo_gate_calls_span_the_days_of_the_story():
    today = timezone.now().date()
    calls = list(GateEvaluation.objects.prefetch_related("outcomes"))
    assert calls
    for call in calls:
        assert today - datetime.timedelta(days=90) <= call.created_at.date() <= today
        assert all(o.reported_at >= call.created_at for o in call.outcomes.all())
    for case in Case.objects.filter(evaluation__isnull=False).select_related("evaluation"):
        assert case.evaluation.created_at == case.opened_at
    # the calls are spread over the story's days, not stamped at the moment of seeding
    call_days = {call.created_at.date() for call in calls}
    assert {moment.date() for moment in Case.objects.values_list("opened_at", flat=True)} <= (
        call_days | {today}
    )
    assert len(call_days) >= 60


# The 90-day story (oversight.demo.story) ----------------------------------------------------


def test_the_story_has_calls_on_most_days_and_a_few_hundred_cases():
    today = timezone.now().date()
    first = today - datetime.timedelta(days=90)
    calls = GateEvaluation.objects.filter(created_at__date__gte=first)
    days = set(calls.values_list("created_at__date", flat=True))
    assert len(days) >= 60
    assert 2000 <= calls.count() <= 5000
    # the 90-day story's own cases; the shadow-mode journey's are tested in test_seed_demo_shadow
    assert 200 <= Case.objects.exclude(route_reason=RouteReason.SHADOW).count() <= 400
    # weekday rhythm: an average weekday is busier than an average weekend day
    per_day = {day: calls.filter(created_at__date=day).count() for day in days}
    weekdays = [n for day, n in per_day.items() if day.weekday() < 5]
    weekends = [n for day, n in per_day.items() if day.weekday() >= 5]
    assert sum(weekdays) / len(weekdays) > 1.5 * sum(weekends) / len(weekends)


def test_the_dashboard_summaries_cover_the_back_dated_days():
    """GateDay rows are what the dashboard's trend reads for whole days."""
    today = timezone.now().date()
    rolled = dict(
        GateDay.objects.values("day").annotate(calls=Sum("gate_calls")).values_list("day", "calls")
    )
    stored = dict(
        GateEvaluation.objects.filter(created_at__date__lt=today)
        .values("created_at__date")
        .annotate(calls=Count("pk"))
        .values_list("created_at__date", "calls")
    )
    assert rolled == stored
    last_30 = [day for day in rolled if day >= today - datetime.timedelta(days=30)]
    assert len(last_30) >= 25


def test_an_override_cluster_led_to_a_threshold_change_after_which_overrides_drop():
    point = JudgementPoint.objects.get(journey__slug="refunds", slug="low-confidence")
    assert point.version == 2
    changed = point.history.get(version=2).history_date
    assert point.history.get(version=1).history_date < changed < timezone.now()
    assert point.conditions.get(signal="confidence").value == 0.75
    event = AuditEvent.objects.get(action="judgement_point.threshold_applied")
    assert (event.payload["old_threshold"], event.payload["new_threshold"]) == (0.6, 0.75)
    assert event.payload["note"]

    decisions = Decision.objects.filter(case__judgement_points=point)
    window = datetime.timedelta(days=21)
    before = decisions.filter(decided_at__gte=changed - window, decided_at__lt=changed)
    after = decisions.filter(decided_at__gte=changed, decided_at__lt=changed + window)
    rate_before = before.filter(is_override=True).count() / before.count()
    rate_after = after.filter(is_override=True).count() / after.count()
    assert rate_before >= 0.4
    assert rate_after < rate_before / 3
    # the calls before the change were judged by version 1, those after by version 2
    for evaluation in GateEvaluation.objects.filter(journey=point.journey).exclude(matched=[]):
        for match in evaluation.matched:
            if match["slug"] == point.slug:
                assert match["version"] == (1 if evaluation.created_at < changed else 2)


def test_a_guardrail_paused_the_journey_and_a_manager_resumed_it():
    journey = Journey.objects.get(slug="refunds")
    assert journey.automation_state == AutomationState.RUNNING
    rows = list(journey.history.order_by("history_date"))
    states = [row.automation_state for row in rows]
    assert states == [
        AutomationState.RUNNING,
        AutomationState.PAUSED_BY_GUARDRAIL,
        AutomationState.RUNNING,
    ]
    paused, resumed = rows[1], rows[2]
    assert paused.paused_reason.startswith("Guardrail breached")
    assert paused.history_user is None
    assert resumed.history_user.username == "manager"
    assert paused.history_date < resumed.history_date < timezone.now()
    look = GuardrailEvaluation.objects.get(paused_automation=True)
    assert look.breached and look.evaluated_at == paused.history_date
    assert AuditEvent.objects.get(action="automation.paused").payload["reason"]
    assert AuditEvent.objects.get(action="automation.resumed").payload["note"]
    # while paused, every call of the journey went to a person
    during = GateEvaluation.objects.filter(
        journey=journey,
        created_at__gte=paused.history_date,
        created_at__lt=resumed.history_date,
    )
    assert during.exists()
    assert set(during.values_list("route", flat=True)) == {Route.HUMAN}
    assert Case.objects.filter(route_reason=RouteReason.AUTOMATION_PAUSED).exists()


def test_a_training_lapsed_and_was_renewed():
    today = timezone.localdate()
    lapsed = TrainingCompletion.objects.filter(expires_on__lt=today, passed=True)
    assert lapsed.exists()
    for completion in lapsed:
        assert TrainingCompletion.objects.filter(
            user=completion.user,
            module_version__module=completion.module_version.module,
            completed_on__gt=completion.expires_on,
            expires_on__gt=today,
        ).exists()


def test_nobody_decides_without_current_training():
    completions = list(
        TrainingCompletion.objects.filter(passed=True).select_related("module_version")
    )
    decisions = Decision.objects.select_related("authority_level").prefetch_related(
        "authority_level__training_requirements"
    )
    for decision in decisions:
        on = decision.decided_at.date()
        held = {
            c.module_version.module_id
            for c in completions
            if c.user_id == decision.reviewer_id and c.completed_on <= on < c.expires_on
        }
        required = {r.module_id for r in decision.authority_level.training_requirements.all()}
        assert required <= held, (decision.reviewer, on)


def test_decisions_take_realistic_times_and_some_breach_their_sla():
    waits = sorted(
        (case.decided_at - case.opened_at).total_seconds() / 60
        for case in Case.objects.filter(status=CaseStatus.DECIDED)
    )
    median = waits[len(waits) // 2]
    assert 10 <= median <= 8 * 60
    assert all(wait > 0 for wait in waits)
    decided = Case.objects.filter(status=CaseStatus.DECIDED)
    breached = decided.filter(sla_breached_at__isnull=False)
    assert 0.05 <= breached.count() / decided.count() <= 0.35
    for case in breached:
        assert case.sla_breached_at == case.sla_deadline < case.decided_at
    assert set(Decision.objects.values_list("reviewer__username", flat=True)) >= {
        "reviewer",
        "senior",
        "lead",
    }


def test_outcomes_follow_a_share_of_cases_and_automated_calls():
    on_cases = Outcome.objects.filter(case__isnull=False)
    on_calls = Outcome.objects.filter(case__isnull=True, evaluation__route=Route.AUTOMATE)
    assert on_cases.count() >= 0.2 * Case.objects.filter(status=CaseStatus.DECIDED).count()
    assert on_calls.count() >= 0.05 * GateEvaluation.objects.filter(route=Route.AUTOMATE).count()
    for field in ("complaint", "reversed", "repeat_contact"):
        assert Outcome.objects.filter(**{field: True}).exists(), field
    for outcome in on_cases.select_related("case"):
        assert outcome.reported_at > outcome.case.decided_at
    assert Outcome.objects.filter(reported_at__gt=timezone.now()).count() == 0


def test_the_oversight_watch_has_a_reviewer_to_talk_to():
    """The demo reviewer approves within a minute or so, every time: the watch flags her."""
    watch = automation_bias_watch(period=Period.last_days(30))
    flagged = User.objects.filter(pk__in=[row.reviewer_id for row in watch.flagged])
    assert list(flagged.values_list("username", flat=True)) == ["reviewer"]


def test_the_authority_register_shows_the_lapse_while_it_lasted():
    def senior_training(days_ago: int) -> set[bool]:
        rows = authority_register(timezone.now() - datetime.timedelta(days=days_ago))
        return {row.training_current for row in rows if row.user.username == "senior"}

    assert senior_training(50) == {True}
    assert senior_training(40) == {False}
    assert senior_training(20) == {True}
