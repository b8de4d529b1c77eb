"""The decision rules the service and the form share (oversight.services.decision_rules), the
second reviewer's duty to say why they disagree, and claiming the next case of the queue."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from oversight.exceptions import InvalidInput, NotAllowed
from oversight.models import CaseStatus, RouteReason
from oversight.services.cases import claim_case
from oversight.services.decision_rules import (
    DecisionInput,
    allowed_outcomes,
    decision_problems,
    first_review,
)
from oversight.services.decisions import decide_case
from oversight.services.next_case import claim_next_case
from tests.factories import CaseFactory, StaffUserFactory
from tests.oversight.reviewing.workspace import snapshot

pytestmark = pytest.mark.django_db

MAY_NOT_OVERRIDE = "Your level Reviewer may not override the AI's proposal."


def test_a_level_that_may_not_override_is_offered_approve_and_escalate_only(case, reviewer):
    choices = allowed_outcomes(case=case, user=reviewer)

    assert choices.level.name == "Reviewer"
    assert choices.allowed == ["approve", "escalate"]
    assert choices.refused == [("modify", MAY_NOT_OVERRIDE), ("reject", MAY_NOT_OVERRIDE)]


def test_an_irreversible_action_is_not_offered_for_approval_below_the_level_that_may(case, senior):
    case.irreversible = True
    case.save()

    choices = allowed_outcomes(case=case, user=senior)

    assert choices.allowed == ["reject", "escalate"]
    refusal = "This action cannot be undone; your level Senior reviewer may not approve it."
    assert choices.refused == [("approve", refusal), ("modify", refusal)]


def test_an_amount_above_the_limit_is_not_offered_for_approval(case, reviewer):
    case.amount = Decimal("250.00")
    case.save()

    choices = allowed_outcomes(case=case, user=reviewer)

    assert choices.allowed == ["escalate"]
    assert dict(choices.refused)["approve"] == (
        f"250.00 {case.currency} is above your level's limit of 100.00."
    )


def test_without_authority_every_outcome_is_refused_with_the_reason(case):
    stranger = StaffUserFactory(username="stan")

    choices = allowed_outcomes(case=case, user=stranger)

    assert choices.level is None and choices.allowed == []
    assert {reason for _, reason in choices.refused} == {
        "You hold no authority to decide cases of this journey (no grant in force, or its "
        "required training is not current)."
    }


def test_a_sample_audit_offers_agree_and_disagree(journey, levels, reviewer):
    case = CaseFactory(
        journey=journey, required_level=levels["reviewer"], route_reason=RouteReason.SAMPLE_AUDIT
    )

    assert allowed_outcomes(case=case, user=reviewer).allowed == ["agree", "disagree"]


@pytest.mark.parametrize("who", ["reviewer", "senior", "lead"])
@pytest.mark.parametrize("irreversible", [False, True])
@pytest.mark.parametrize("amount", [None, Decimal("40.00"), Decimal("5000.00")])
def test_the_service_refuses_exactly_what_the_form_does_not_offer(
    request, case, reason, who, irreversible, amount
):
    """One source of truth: for every level, every refused outcome is refused by decide_case
    with the same words, and every allowed one is not refused for the level."""
    user = request.getfixturevalue(who)
    case.irreversible, case.amount = irreversible, amount
    case.save()
    choices = allowed_outcomes(case=case, user=user)
    claim_case(case=case, reviewer=user)
    full = {"override_reason": reason, "rationale": "Because."}
    inputs = {
        "approve": DecisionInput(outcome="approve"),
        "modify": DecisionInput(outcome="modify", final_action={"option": "decline"}, **full),
        "reject": DecisionInput(outcome="reject", **full),
        "escalate": DecisionInput(outcome="escalate", rationale="Because."),
    }
    for outcome, refusal in choices.refused:
        before = snapshot(case)
        with pytest.raises(NotAllowed) as refused:
            decide_case(case=case, reviewer=user, decision=inputs[outcome])
        assert refused.value.message == refusal
        assert snapshot(case) == before
    for outcome in choices.allowed:
        assert decision_problems(case, inputs[outcome], choices.level) == []


def test_every_problem_is_found_at_once_each_on_its_field(case, senior):
    level = allowed_outcomes(case=case, user=senior).level

    problems = decision_problems(case, DecisionInput(outcome="modify"), level)

    assert [(problem.field, problem.message) for problem in problems] == [
        ("option", "A modification needs the final action you decided on."),
        ("override_reason", "An override needs a reason category."),
        ("rationale", "An override needs a rationale: say why you decided otherwise."),
    ]


# Four eyes: the second reviewer who disagrees says why ---------------------------------------


@pytest.fixture
def four_eyes_case(journey, levels):
    return CaseFactory(
        journey=journey, required_level=levels["lead"], four_eyes=True, amount=None, options=[]
    )


def first_review_by(person, case, decision):
    claim_case(case=case, reviewer=person)
    decide_case(case=case, reviewer=person, decision=decision)
    case.refresh_from_db()
    assert case.status == CaseStatus.AWAITING_SECOND_REVIEW


def test_a_second_reviewer_who_disagrees_without_a_rationale_is_refused(
    four_eyes_case, lead, other_lead, reason
):
    case = four_eyes_case
    first_review_by(
        lead, case, DecisionInput(outcome="reject", override_reason=reason, rationale="Fraud.")
    )
    claim_case(case=case, reviewer=other_lead)
    before = snapshot(case)

    with pytest.raises(InvalidInput, match=r"You disagree with the first review \(Reject the"):
        decide_case(case=case, reviewer=other_lead, decision=DecisionInput(outcome="approve"))

    assert snapshot(case) == before
    decide_case(
        case=case,
        reviewer=other_lead,
        decision=DecisionInput(outcome="approve", rationale="The receipt is genuine."),
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.ESCALATED
    assert "The receipt is genuine." in case.escalation_note


def test_a_second_reviewer_with_a_different_modification_must_say_why(
    four_eyes_case, lead, other_lead, reason
):
    case = four_eyes_case
    modify = {"outcome": "modify", "override_reason": reason, "rationale": "Partial."}
    first_review_by(lead, case, DecisionInput(final_action={"amount": "10.00"}, **modify))
    claim_case(case=case, reviewer=other_lead)
    case.refresh_from_db()
    level = allowed_outcomes(case=case, user=other_lead).level
    differing = DecisionInput(final_action={"amount": "20.00"}, **{**modify, "rationale": ""})
    same = DecisionInput(final_action={"amount": "10.00"}, **{**modify, "rationale": ""})

    assert first_review(case).reviewer == lead
    # An override needs a rationale anyway: one message for the field, not two.
    assert [
        p.field for p in decision_problems(case, differing, level, first=first_review(case))
    ] == ["rationale"]
    assert decision_problems(
        case, DecisionInput(outcome="approve"), level, first=first_review(case)
    )[0].message.startswith("You disagree with the first review (Modify the proposal by lee)")
    assert [p.field for p in decision_problems(case, same, level, first=first_review(case))] == [
        "rationale"
    ]


def test_a_second_reviewer_who_agrees_needs_no_rationale(four_eyes_case, lead, other_lead):
    case = four_eyes_case
    first_review_by(lead, case, DecisionInput(outcome="approve"))
    claim_case(case=case, reviewer=other_lead)

    decide_case(case=case, reviewer=other_lead, decision=DecisionInput(outcome="approve"))

    case.refresh_from_db()
    assert case.status == CaseStatus.DECIDED


# The next case of the queue -----------------------------------------------------------------


def test_the_next_case_is_the_first_free_one_in_queue_order(
    journey, levels, reviewer, senior, lead
):
    now = timezone.now()

    def waiting(minutes, **fields):
        return CaseFactory(
            journey=journey,
            required_level=levels["reviewer"],
            sla_deadline=now + datetime.timedelta(minutes=minutes),
            **fields,
        )

    held_by_other = waiting(5)
    claim_case(case=held_by_other, reviewer=senior)
    waiting(1, status=CaseStatus.DECIDED, decided_at=now)
    waiting(2, route_reason=RouteReason.SAMPLE_AUDIT)
    later, sooner = waiting(30), waiting(10)
    events = AuditEvent.objects.count()

    taken = claim_next_case(reviewer=reviewer)

    assert taken == sooner
    sooner.refresh_from_db()
    assert (sooner.claimed_by, sooner.status) == (reviewer, CaseStatus.CLAIMED)
    assert AuditEvent.objects.count() == events + 1  # claim_case's own ledger event
    assert claim_next_case(reviewer=reviewer) == sooner  # a case you hold comes first: renewed
    assert later.claimed_by is None


def test_a_four_eyes_case_is_not_next_for_whoever_took_its_first_review(
    journey, levels, lead, other_lead
):
    case = CaseFactory(journey=journey, required_level=levels["lead"], four_eyes=True, options=[])
    first_review_by(lead, case, DecisionInput(outcome="approve"))

    assert claim_next_case(reviewer=lead) is None
    assert claim_next_case(reviewer=other_lead) == case


def test_an_empty_queue_has_no_next_case(reviewer):
    events = AuditEvent.objects.count()
    assert claim_next_case(reviewer=reviewer) is None
    assert claim_next_case(reviewer=reviewer, sample_audits=True) is None
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("amount", ["1000.01", 5000, "5e3"])
def test_a_modified_amount_above_the_levels_limit_is_refused(case, senior, reason, amount):
    claim_case(case=case, reviewer=senior)
    before = snapshot(case)
    decision = DecisionInput(
        outcome="modify",
        final_action={"option": "partial refund", "amount": amount},
        override_reason=reason,
        rationale="More than asked.",
    )

    with pytest.raises(NotAllowed, match="above your level's limit of 1000.00"):
        decide_case(case=case, reviewer=senior, decision=decision)

    assert snapshot(case) == before
    within = DecisionInput(
        outcome="modify",
        final_action={"option": "partial refund", "amount": "1000.00"},
        override_reason=reason,
        rationale="The limit itself.",
    )
    assert decide_case(case=case, reviewer=senior, decision=within).is_override
