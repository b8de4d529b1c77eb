"""Claim → decide: the rules of invariants 2, 3 and 5, each refusal changing nothing."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditEvent
from oversight.exceptions import InvalidInput, NotAllowed, StaleState
from oversight.models import Case, CaseStatus, Decision, WebhookDelivery
from oversight.services.cases import claim_case, release_case
from oversight.services.decisions import DecisionInput, decide_case, parse_final_action
from tests.factories import CaseFactory, UserFactory

pytestmark = pytest.mark.django_db


def snapshot(case):
    case.refresh_from_db()
    return (
        case.status,
        case.claimed_by_id,
        case.review_round,
        case.required_level_id,
        Decision.objects.count(),
        Case.history.filter(id=case.id).count(),
        AuditEvent.objects.count(),
        WebhookDelivery.objects.count(),
    )


def refused(target, exc, message, fn, **kwargs):
    """`fn(**kwargs)` raises `exc` with `message`, and nothing about `target` changed."""
    before = snapshot(target)
    with pytest.raises(exc, match=message):
        fn(**kwargs)
    assert snapshot(target) == before


def test_claim_then_approve_decides_the_case_and_notifies_the_ai_system(
    case, reviewer, django_capture_on_commit_callbacks
):
    claim_case(case=case, reviewer=reviewer)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        decision = decide_case(
            case=case, reviewer=reviewer, decision=DecisionInput(outcome="approve")
        )
    case.refresh_from_db()
    assert case.status == CaseStatus.DECIDED
    assert case.decided_at is not None
    assert case.claimed_by is None
    assert decision.authority_level.name == "Reviewer"
    assert decision.grant.user == reviewer
    assert decision.is_override is False
    assert decision.final_action == {"reply": "Refund in full."}
    assert decision.time_spent_seconds is not None
    assert case.history.first().history_user == reviewer
    assert list(
        AuditEvent.objects.filter(object_id=str(case.id)).values_list("action", flat=True)
    ) == ["case.claimed", "case.decided"]
    assert WebhookDelivery.objects.filter(case=case).count() == 1
    assert len(callbacks) == 1


def test_an_override_records_reason_and_rationale(case, senior, reason):
    claim_case(case=case, reviewer=senior)
    decision = decide_case(
        case=case,
        reviewer=senior,
        decision=DecisionInput(
            outcome="modify",
            final_action={"option": "partial refund", "amount": "20.00"},
            override_reason=reason,
            rationale="Item was used; policy allows half.",
        ),
    )
    assert decision.is_override is True
    assert decision.override_reason == reason
    assert AuditEvent.objects.filter(action="case.overridden").count() == 1


def test_override_without_rationale_is_refused_and_nothing_changes(case, senior, reason):
    claim_case(case=case, reviewer=senior)
    refused(
        case,
        InvalidInput,
        "needs a rationale",
        decide_case,
        case=case,
        reviewer=senior,
        decision=DecisionInput(outcome="reject", override_reason=reason, rationale="  "),
    )


def test_override_without_reason_category_is_refused(case, senior):
    claim_case(case=case, reviewer=senior)
    refused(
        case,
        InvalidInput,
        "needs a reason category",
        decide_case,
        case=case,
        reviewer=senior,
        decision=DecisionInput(outcome="reject", rationale="No."),
    )


def test_override_by_a_level_that_may_not_override_is_refused(case, reviewer, reason):
    claim_case(case=case, reviewer=reviewer)
    refused(
        case,
        NotAllowed,
        "may not override",
        decide_case,
        case=case,
        reviewer=reviewer,
        decision=DecisionInput(outcome="reject", override_reason=reason, rationale="No."),
    )


def test_irreversible_actions_need_a_level_that_may_approve_them(case, senior, lead):
    case.irreversible = True
    case.save()
    claim_case(case=case, reviewer=senior)
    refused(
        case,
        NotAllowed,
        "cannot be undone",
        decide_case,
        case=case,
        reviewer=senior,
        decision=DecisionInput(outcome="approve"),
    )
    release_case(case=case, reviewer=senior)
    claim_case(case=case, reviewer=lead)
    decide_case(case=case, reviewer=lead, decision=DecisionInput(outcome="approve"))
    assert Case.objects.get(pk=case.pk).status == CaseStatus.DECIDED


def test_an_amount_above_the_levels_limit_is_refused(case, reviewer):
    case.amount = Decimal("250.00")
    case.save()
    claim_case(case=case, reviewer=reviewer)
    refused(
        case,
        NotAllowed,
        "above your level's limit of 100",
        decide_case,
        case=case,
        reviewer=reviewer,
        decision=DecisionInput(outcome="approve"),
    )


@pytest.mark.parametrize(
    ("final_action", "message"),
    [
        (None, "needs the final action"),
        ({"option": "store credit"}, "not among the options"),
        ({"amount": "20"}, "Choose one of the options"),
    ],
)
def test_a_bad_modified_action_is_refused(case, senior, reason, final_action, message):
    claim_case(case=case, reviewer=senior)
    refused(
        case,
        InvalidInput,
        message,
        decide_case,
        case=case,
        reviewer=senior,
        decision=DecisionInput(
            outcome="modify", final_action=final_action, override_reason=reason, rationale="x"
        ),
    )


def test_a_modified_action_that_is_not_json_is_refused():
    with pytest.raises(InvalidInput, match="not valid JSON"):
        parse_final_action('{"option": "partial refund"')
    assert parse_final_action("partial refund") == "partial refund"
    assert parse_final_action('{"option": "decline"}') == {"option": "decline"}


def test_deciding_without_a_claim_is_refused(case, reviewer):
    refused(
        case,
        InvalidInput,
        "Claim the case before deciding",
        decide_case,
        case=case,
        reviewer=reviewer,
        decision=DecisionInput(outcome="approve"),
    )


def test_deciding_a_case_claimed_by_someone_else_is_refused(case, reviewer, senior):
    claim_case(case=case, reviewer=senior)
    refused(
        case,
        StaleState,
        "claimed by sam",
        decide_case,
        case=case,
        reviewer=reviewer,
        decision=DecisionInput(outcome="approve"),
    )
    refused(case, StaleState, "claimed by sam", claim_case, case=case, reviewer=reviewer)


def test_deciding_an_already_decided_case_is_refused(case, reviewer, senior):
    claim_case(case=case, reviewer=reviewer)
    decide_case(case=case, reviewer=reviewer, decision=DecisionInput(outcome="approve"))
    refused(
        case,
        StaleState,
        "already been decided",
        decide_case,
        case=case,
        reviewer=reviewer,
        decision=DecisionInput(outcome="reject"),
    )
    refused(case, StaleState, "already been decided", claim_case, case=case, reviewer=senior)


def test_outside_your_authority_you_can_neither_claim_nor_decide(case, levels, reviewer):
    stranger = UserFactory(username="stan")
    refused(case, NotAllowed, "no authority", claim_case, case=case, reviewer=stranger)
    case.required_level = levels["lead"]
    case.save()
    refused(
        case,
        NotAllowed,
        "needs the level Team lead; you hold Reviewer",
        claim_case,
        case=case,
        reviewer=reviewer,
    )


def test_a_lapsed_claim_cannot_be_used_to_decide(case, reviewer, settings):
    settings.CLAIM_LEASE_MINUTES = 30
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        claim_case(case=case, reviewer=reviewer)
    with time_machine.travel(start + datetime.timedelta(minutes=31), tick=False):
        refused(
            case,
            StaleState,
            "claim on this case has lapsed",
            decide_case,
            case=case,
            reviewer=reviewer,
            decision=DecisionInput(outcome="approve"),
        )


def test_only_the_holder_can_release_a_claim(case, reviewer, senior):
    claim_case(case=case, reviewer=reviewer)
    refused(
        case, NotAllowed, "Only the reviewer who claimed", release_case, case=case, reviewer=senior
    )
    release_case(case=case, reviewer=reviewer)
    case.refresh_from_db()
    assert (case.status, case.claimed_by) == (CaseStatus.OPEN, None)


def test_escalation_returns_the_case_to_the_queue_one_level_up(case, reviewer, senior):
    claim_case(case=case, reviewer=reviewer)
    decide_case(
        case=case,
        reviewer=reviewer,
        decision=DecisionInput(outcome="escalate", rationale="Customer threatens legal action."),
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.ESCALATED
    assert case.required_level.name == "Senior reviewer"
    assert case.review_round == 2
    assert case.escalation_note == "Customer threatens legal action."
    refused(
        case,
        NotAllowed,
        "needs the level Senior reviewer",
        claim_case,
        case=case,
        reviewer=reviewer,
    )
    claim_case(case=case, reviewer=senior)
    decide_case(case=case, reviewer=senior, decision=DecisionInput(outcome="approve"))
    case.refresh_from_db()
    assert case.status == CaseStatus.DECIDED
    assert [d.outcome for d in case.decisions.order_by("decided_at")] == ["escalate", "approve"]


def test_escalation_needs_a_note(case, reviewer):
    claim_case(case=case, reviewer=reviewer)
    refused(
        case,
        InvalidInput,
        "needs a note",
        decide_case,
        case=case,
        reviewer=reviewer,
        decision=DecisionInput(outcome="escalate"),
    )


@pytest.fixture
def four_eyes_case(journey, levels):
    return CaseFactory(
        journey=journey, required_level=levels["lead"], four_eyes=True, amount=None, options=[]
    )


def test_four_eyes_needs_two_different_people_who_agree(four_eyes_case, lead, other_lead):
    case = four_eyes_case
    claim_case(case=case, reviewer=lead)
    decide_case(case=case, reviewer=lead, decision=DecisionInput(outcome="approve"))
    case.refresh_from_db()
    assert case.status == CaseStatus.AWAITING_SECOND_REVIEW
    refused(case, NotAllowed, "different person", claim_case, case=case, reviewer=lead)
    claim_case(case=case, reviewer=other_lead)
    assert Case.objects.get(pk=case.pk).status == CaseStatus.AWAITING_SECOND_REVIEW
    decide_case(case=case, reviewer=other_lead, decision=DecisionInput(outcome="approve"))
    case.refresh_from_db()
    assert case.status == CaseStatus.DECIDED
    assert sorted(case.decisions.values_list("stage", flat=True)) == ["first", "second"]


def test_four_eyes_disagreement_escalates(four_eyes_case, lead, other_lead, reason):
    case = four_eyes_case
    claim_case(case=case, reviewer=lead)
    decide_case(case=case, reviewer=lead, decision=DecisionInput(outcome="approve"))
    claim_case(case=case, reviewer=other_lead)
    decide_case(
        case=case,
        reviewer=other_lead,
        decision=DecisionInput(outcome="reject", override_reason=reason, rationale="Fraud signs."),
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.ESCALATED
    assert case.review_round == 2
    assert "disagreed" in case.escalation_note
    assert AuditEvent.objects.filter(action="case.second_review_disagreed").count() == 1


def test_sample_audits_are_judged_agree_or_disagree(journey, levels, reviewer):
    case = CaseFactory(
        journey=journey, required_level=levels["reviewer"], route_reason="sample_audit"
    )
    claim_case(case=case, reviewer=reviewer)
    refused(
        case,
        InvalidInput,
        "decide one of: agree, disagree",
        decide_case,
        case=case,
        reviewer=reviewer,
        decision=DecisionInput(outcome="approve"),
    )
    refused(
        case,
        InvalidInput,
        "needs a note",
        decide_case,
        case=case,
        reviewer=reviewer,
        decision=DecisionInput(outcome="disagree"),
    )
    decision = decide_case(
        case=case,
        reviewer=reviewer,
        decision=DecisionInput(outcome="disagree", rationale="Should have asked for a receipt."),
    )
    assert decision.is_override is False
    assert Case.objects.get(pk=case.pk).status == CaseStatus.DECIDED


def test_four_eyes_agreement_on_a_rejection_is_an_agreement(
    four_eyes_case, lead, other_lead, reason
):
    case = four_eyes_case
    for person in (lead, other_lead):
        claim_case(case=case, reviewer=person)
        decide_case(
            case=case,
            reviewer=person,
            decision=DecisionInput(outcome="reject", override_reason=reason, rationale="Fraud."),
        )
    case.refresh_from_db()
    assert case.status == CaseStatus.DECIDED


def test_four_eyes_modifications_must_match_to_agree(four_eyes_case, lead, other_lead, reason):
    case = four_eyes_case
    for person, amount in ((lead, "10.00"), (other_lead, "20.00")):
        claim_case(case=case, reviewer=person)
        decide_case(
            case=case,
            reviewer=person,
            decision=DecisionInput(
                outcome="modify",
                final_action={"amount": amount},
                override_reason=reason,
                rationale="Partial.",
            ),
        )
    case.refresh_from_db()
    assert case.status == CaseStatus.ESCALATED
