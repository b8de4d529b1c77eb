"""Structural rules are database constraints: each is refused with a clear message, nothing saved.

Each rule is checked twice: through model validation (what the admin and services show a person)
and straight at the database (what holds even if a code path forgets to validate).
"""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from oversight.models import (
    AuthorityGrant,
    Case,
    CaseStatus,
    Decision,
    GateEvaluation,
    ImmutableRecordError,
    Journey,
    Outcome,
    TriggerCondition,
)
from tests.factories import (
    AuthorityGrantFactory,
    CaseFactory,
    DecisionFactory,
    GateEvaluationFactory,
    JourneyFactory,
    JudgementPointFactory,
    OutcomeFactory,
    OverrideReasonFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def assert_refused(instance, message: str, model) -> None:
    """full_clean names the problem, the database refuses the row, and no row is added."""
    before = model.objects.count()
    with pytest.raises(ValidationError) as excinfo:
        instance.full_clean()
    assert message in str(excinfo.value)
    with pytest.raises(IntegrityError), transaction.atomic():
        instance.save()
    assert model.objects.count() == before


def test_grant_with_two_scopes_is_refused():
    grant = AuthorityGrantFactory.build(
        user=UserFactory(), level=JudgementPointFactory().required_level, journey=JourneyFactory()
    )
    grant.level.save()
    grant.ai_system = grant.journey.ai_system
    assert_refused(grant, "either an AI system or a journey", AuthorityGrant)


def test_grant_with_no_scope_is_refused():
    grant = AuthorityGrantFactory.build(
        user=UserFactory(), level=JudgementPointFactory().required_level, journey=None
    )
    assert_refused(grant, "either an AI system or a journey", AuthorityGrant)


def test_grant_ending_before_it_starts_is_refused():
    start = timezone.now()
    grant = AuthorityGrantFactory.build(
        user=UserFactory(),
        level=JudgementPointFactory().required_level,
        journey=JourneyFactory(),
        valid_from=start,
        valid_until=start - datetime.timedelta(days=1),
    )
    assert_refused(grant, "'Valid until' must be after 'valid from'", AuthorityGrant)


def test_grant_to_oneself_is_refused():
    manager = UserFactory()
    grant = AuthorityGrantFactory.build(
        user=manager,
        granted_by=manager,
        level=JudgementPointFactory().required_level,
        journey=JourneyFactory(),
    )
    assert_refused(grant, "Nobody may grant authority to themselves", AuthorityGrant)


def test_revocation_without_reason_is_refused():
    grant = AuthorityGrantFactory.build(
        user=UserFactory(),
        level=JudgementPointFactory().required_level,
        journey=JourneyFactory(),
        revoked_at=timezone.now(),
    )
    assert_refused(grant, "A revocation needs a reason", AuthorityGrant)


def test_case_confidence_outside_zero_to_one_is_refused():
    case = CaseFactory.build(
        journey=JourneyFactory(), required_level=JudgementPointFactory().required_level
    )
    case.confidence = 1.5
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        case.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        case.save()
    assert Case.objects.count() == 0


def test_decided_case_without_decision_time_is_refused():
    case = CaseFactory.build(
        journey=JourneyFactory(),
        required_level=JudgementPointFactory().required_level,
        status=CaseStatus.DECIDED,
    )
    assert_refused(case, "A decided case needs the time it was decided", Case)


def test_claim_without_expiry_is_refused():
    case = CaseFactory.build(
        journey=JourneyFactory(),
        required_level=JudgementPointFactory().required_level,
        claimed_by=UserFactory(),
    )
    assert_refused(case, "A claim needs a holder and an expiry time", Case)


def test_a_second_first_stage_decision_on_a_case_is_refused():
    first = DecisionFactory()
    second = DecisionFactory.build(
        case=first.case, reviewer=UserFactory(), authority_level=first.authority_level
    )
    assert_refused(second, "already been decided at this stage", Decision)


def test_four_eyes_second_review_by_the_same_person_is_refused():
    first = DecisionFactory()
    second = DecisionFactory.build(
        case=first.case,
        reviewer=first.reviewer,
        stage="second",
        authority_level=first.authority_level,
    )
    assert_refused(second, "must be by a different person", Decision)


def test_four_eyes_second_review_by_another_person_is_accepted():
    first = DecisionFactory()
    second = DecisionFactory(
        case=first.case,
        reviewer=UserFactory(),
        stage="second",
        authority_level=first.authority_level,
    )
    assert first.case.decisions.count() == 2
    assert second.pk


def test_override_without_reason_or_rationale_is_refused():
    decision = DecisionFactory.build(
        case=CaseFactory(), reviewer=UserFactory(), is_override=True, rationale=""
    )
    decision.authority_level = decision.case.required_level
    assert_refused(decision, "An override needs a reason category and a rationale", Decision)


def test_override_with_reason_and_rationale_is_accepted():
    decision = DecisionFactory(
        is_override=True,
        override_reason=OverrideReasonFactory(),
        rationale="The customer was double-charged; the AI missed the second invoice.",
    )
    assert decision.is_override


def test_outcome_without_evaluation_or_case_is_refused():
    outcome = OutcomeFactory.build(case=None)
    assert_refused(outcome, "belongs to a gate evaluation or a case", Outcome)


@pytest.mark.parametrize("effort", [0, 8])
def test_customer_effort_outside_one_to_seven_is_refused(effort):
    outcome = OutcomeFactory.build(case=CaseFactory(), customer_effort=effort)
    with pytest.raises(ValidationError):
        outcome.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        outcome.save()
    assert Outcome.objects.count() == 0


def test_journey_sampling_rate_above_one_is_refused():
    journey = JourneyFactory.build(ai_system=JourneyFactory().ai_system, sampling_rate=Decimal(2))
    before = Journey.objects.count()
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        journey.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        journey.save()
    assert Journey.objects.count() == before


def test_journey_slug_is_unique_within_its_ai_system():
    journey = JourneyFactory(slug="refunds")
    duplicate = JourneyFactory.build(ai_system=journey.ai_system, slug="refunds")
    before = Journey.objects.count()
    with pytest.raises(ValidationError):
        duplicate.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()
    assert Journey.objects.count() == before
    JourneyFactory(slug="refunds")  # the same slug in another AI system is fine


@pytest.mark.parametrize(
    ("operator", "value", "message"),
    [
        ("lt", "abc", "compares numbers"),
        ("gte", True, "compares numbers"),
        ("is_true", 1, "takes no value"),
        ("contains_any", [], "non-empty list of texts"),
        ("contains", "", "Enter the text to look for"),
    ],
)
def test_trigger_condition_value_must_suit_its_operator(operator, value, message):
    condition = TriggerCondition(
        judgement_point=JudgementPointFactory(), signal="confidence", operator=operator, value=value
    )
    with pytest.raises(ValidationError, match=message):
        condition.full_clean()


def test_trigger_condition_signal_name_must_be_snake_case():
    condition = TriggerCondition(
        judgement_point=JudgementPointFactory(), signal="Confidence Score", operator="lt", value=1
    )
    with pytest.raises(ValidationError, match="lower-case letters"):
        condition.full_clean()


def test_gate_evaluation_cannot_be_changed_or_deleted():
    evaluation = GateEvaluationFactory()
    evaluation.route = "automate"
    with pytest.raises(ImmutableRecordError, match="cannot be changed"):
        evaluation.save()
    with pytest.raises(ImmutableRecordError, match="cannot be deleted"):
        evaluation.delete()
    assert GateEvaluation.objects.get(pk=evaluation.pk).route == "human"


def test_history_records_the_acting_user_on_evidence_models():
    reviewer = UserFactory(username="rhea")
    case = CaseFactory()
    case.status = CaseStatus.CLAIMED
    case.claimed_by = reviewer
    case.claim_expires_at = timezone.now() + datetime.timedelta(minutes=30)
    case._history_user = reviewer
    case.save()
    latest = case.history.first()
    assert latest.history_user == reviewer
    assert latest.status == CaseStatus.CLAIMED
    assert case.history.count() == 2
    assert case.history.last().status == CaseStatus.OPEN
