"""The decision screen: what it shows, who may open it, and claim → decide through the admin.

Every refusal shows the service's message and changes nothing (status, claim, decisions, history,
ledger).
"""

import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from oversight.models import CaseStatus, Decision, RouteReason
from oversight.services.cases import claim_case
from oversight.services.decisions import DecisionInput, decide_case
from tests.factories import (
    AISystemFactory,
    CaseFactory,
    DecisionFactory,
    GateEvaluationFactory,
    JourneyFactory,
    JudgementPointFactory,
    OverrideReasonFactory,
    StaffUserFactory,
    TriggerConditionFactory,
)
from tests.oversight.reviewing.workspace import (
    QUEUE_URL,
    html,
    log_in,
    review_url,
    section,
    shows,
    snapshot,
)

pytestmark = pytest.mark.django_db

HOSTILE = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>"]


def claim(client, case):
    return client.post(review_url(case, "claim"), follow=True)


def decide(client, case, **data):
    return client.post(review_url(case, "decide"), data, follow=True)


def refused(client, case, url, data, message, *, status=200):
    """POSTing `data` to `url` shows `message` and leaves the case, decisions and ledger alone."""
    before = snapshot(case)
    response = client.post(url, data, follow=True)
    assert response.status_code == status
    assert shows(response, message), message
    assert snapshot(case) == before
    return response


@pytest.fixture
def four_eyes_case(journey, levels):
    return CaseFactory(
        journey=journey, required_level=levels["lead"], four_eyes=True, amount=None, options=[]
    )


# The whole flow ------------------------------------------------------------------------------


def test_queue_claim_approve_decides_the_case(client, case, reviewer):
    log_in(client, reviewer)
    queue = client.get(QUEUE_URL)
    assert review_url(case) in html(queue)

    screen = client.get(review_url(case))
    assert screen.status_code == 200
    assert "Claim it to decide" in html(screen)
    assert 'id="decision-form"' not in html(screen)

    claimed = claim(client, case)
    assert "You hold this case until" in html(claimed)
    assert 'id="decision-form"' in html(claimed)

    response = decide(client, case, outcome="approve", rationale="Matches the order history.")

    assert response.redirect_chain[-1][0] == QUEUE_URL
    assert shows(response, "decided: Approve the proposal.")
    case.refresh_from_db()
    assert case.status == CaseStatus.DECIDED
    decision = case.decisions.get()
    assert (decision.reviewer, decision.outcome, decision.is_override) == (
        reviewer,
        "approve",
        False,
    )
    assert decision.rationale == "Matches the order history."
    assert decision.time_spent_seconds is not None  # measured from the claim
    assert list(
        AuditEvent.objects.filter(object_id=str(case.pk)).values_list("action", flat=True)
    ) == ["case.claimed", "case.decided"]
    assert review_url(case) not in html(response)  # decided: gone from the waiting queue
    decided = client.get(review_url(case))
    assert "Nothing more can be decided" in html(decided)
    assert 'id="decision-form"' not in html(decided)


def test_an_override_records_the_option_details_reason_and_rationale(client, case, senior, reason):
    log_in(client, senior)
    claim(client, case)

    response = decide(
        client,
        case,
        outcome="modify",
        option="partial refund",
        final_action='{"amount": "20.00"}',
        override_reason=reason.pk,
        rationale="Item was used; policy allows half.",
    )

    assert shows(response, "decided: Modify the proposal as an override.")
    decision = Decision.objects.get(case=case)
    assert decision.is_override is True
    assert decision.override_reason == reason
    assert decision.final_action == {"option": "partial refund", "amount": "20.00"}
    assert decision.rationale == "Item was used; policy allows half."
    assert AuditEvent.objects.filter(action="case.overridden").count() == 1


def test_an_escalation_moves_the_case_from_the_reviewers_queue_to_the_seniors(
    client, case, reviewer, senior
):
    log_in(client, reviewer)
    claim(client, case)

    response = decide(client, case, outcome="escalate", rationale="Customer threatens to sue.")

    assert shows(response, "escalated: it waits for Senior reviewer in review round 2.")
    assert shows(response, 'Follow it under "Cases I escalated" in your queue.')
    assert review_url(case) not in html(client.get(QUEUE_URL))
    read_only = client.get(review_url(case))  # the escalator keeps a read-only view
    assert read_only.status_code == 200
    assert "Read-only." in html(read_only)
    assert 'id="decision-form"' not in html(read_only)
    senior_client = log_in(Client(), senior)
    assert review_url(case) in html(senior_client.get(QUEUE_URL))
    screen = senior_client.get(review_url(case))
    assert "Customer threatens to sue." in html(screen)
    assert "Escalate to a higher authority" in html(screen)  # the history of decisions
    assert "round 2" in html(screen)


def test_four_eyes_needs_two_people_and_refuses_the_same_one_twice(
    client, four_eyes_case, lead, other_lead
):
    case = four_eyes_case
    log_in(client, lead)
    claim(client, case)
    first = decide(client, case, outcome="approve")
    assert shows(first, "a different person must now take the second review")
    case.refresh_from_db()
    assert case.status == CaseStatus.AWAITING_SECOND_REVIEW

    screen = client.get(review_url(case))
    assert "You took the first review." in html(screen)
    assert "Claim it to decide" not in html(screen)
    refused(
        client,
        case,
        review_url(case, "claim"),
        {},
        "The second review must be by a different person than the first.",
    )

    second = log_in(Client(), other_lead)
    claim(second, case)
    response = decide(second, case, outcome="approve")

    assert shows(response, "decided: Approve the proposal.")
    case.refresh_from_db()
    assert case.status == CaseStatus.DECIDED
    assert sorted(case.decisions.values_list("stage", flat=True)) == ["first", "second"]


def test_a_sample_audit_offers_agree_or_disagree_only(client, journey, levels, reviewer):
    case = CaseFactory(
        journey=journey, required_level=levels["reviewer"], route_reason=RouteReason.SAMPLE_AUDIT
    )
    log_in(client, reviewer)
    screen = html(claim(client, case))

    assert 'value="agree"' in screen and 'value="disagree"' in screen
    assert 'value="approve"' not in screen and 'value="modify"' not in screen
    assert 'name="override_reason"' not in screen

    response = decide(client, case, outcome="agree", rationale="Within policy.")

    assert shows(response, "decided: Agree with what the automation did (sample audit).")


def test_release_returns_the_case_to_the_queue(client, case, reviewer):
    log_in(client, reviewer)
    claim(client, case)

    response = client.post(review_url(case, "release"), follow=True)

    assert response.redirect_chain[-1][0] == QUEUE_URL
    assert shows(response, "is back in the queue")
    case.refresh_from_db()
    assert (case.status, case.claimed_by) == (CaseStatus.OPEN, None)


# Refusals: the message shown, nothing changed -------------------------------------------------


def test_deciding_an_already_decided_case_is_refused(client, case, reviewer, senior):
    claim_case(case=case, reviewer=reviewer)
    decide_case(case=case, reviewer=reviewer, decision=DecisionInput(outcome="approve"))
    log_in(client, senior)

    moved_on = "Decided by rhea at "
    for action in ("claim", "decide", "release", "take_over", "open"):
        response = refused(
            client,
            case,
            review_url(case, action),
            {"outcome": "reject", "rationale": "x"},
            moved_on,
        )
        assert response.redirect_chain[-1][0] == review_url(case)
        assert shows(response, "(Approve the proposal) while your page was open; nothing was")
        assert 'class="success"' not in html(response)


def test_a_case_claimed_by_someone_else_shows_who_and_cannot_be_decided(
    client, case, reviewer, senior
):
    claim_case(case=case, reviewer=senior)
    log_in(client, reviewer)

    screen = client.get(review_url(case))
    assert "Claimed by sam" in html(screen)
    assert 'id="decision-form"' not in html(screen)
    refused(
        client,
        case,
        review_url(case, "decide"),
        {"outcome": "approve"},
        "This case is claimed by sam until ",
    )
    refused(client, case, review_url(case, "claim"), {}, "This case is claimed by sam until")
    assert shows(
        client.post(review_url(case, "decide"), {"outcome": "approve"}, follow=True),
        "you cannot decide it; nothing was recorded.",
    )
    refused(
        client,
        case,
        review_url(case, "release"),
        {},
        "Only the reviewer who claimed this case can release it.",
    )


def test_deciding_without_a_claim_is_refused(client, case, reviewer):
    log_in(client, reviewer)

    refused(
        client,
        case,
        review_url(case, "decide"),
        {"outcome": "approve"},
        "Claim the case before deciding it.",
    )


def test_a_case_outside_your_authority_does_not_open(client, case, levels, reviewer):
    stranger = StaffUserFactory(username="stan")
    log_in(client, stranger)

    screen = client.get(review_url(case))
    assert screen.status_code == 403
    assert "You may not see or decide this case." in html(screen)
    assert "Refund in full." not in html(screen)
    for action in ("claim", "release", "decide"):
        refused(
            client,
            case,
            review_url(case, action),
            {"outcome": "approve"},
            "You may not see or decide this case.",
            status=403,
        )

    case.required_level = levels["lead"]
    case.save()
    log_in(client, reviewer)
    assert client.get(review_url(case)).status_code == 403
    refused(
        client,
        case,
        review_url(case, "claim"),
        {},
        "You may not see or decide this case.",
        status=403,
    )


def test_an_unknown_case_is_not_found(client, reviewer):
    log_in(client, reviewer)

    assert (
        client.get("/admin/oversight/case/00000000-0000-0000-0000-000000000000/review/").status_code
        == 404
    )


def test_a_superuser_without_grants_cannot_open_a_case(client, case, admin_user):
    client.force_login(admin_user)

    assert client.get(review_url(case)).status_code == 403


def test_an_override_without_rationale_is_refused(client, case, senior, reason):
    log_in(client, senior)
    claim(client, case)

    response = refused(
        client,
        case,
        review_url(case, "decide"),
        {"outcome": "reject", "override_reason": reason.pk, "rationale": "  "},
        "An override needs a rationale: say why you decided otherwise.",
    )
    assert 'id="decision-form"' in html(response)  # the form is shown again to correct


def test_an_override_by_a_level_that_may_not_override_is_refused(client, case, reviewer, reason):
    log_in(client, reviewer)
    claim(client, case)

    refused(
        client,
        case,
        review_url(case, "decide"),
        {"outcome": "reject", "override_reason": reason.pk, "rationale": "No."},
        "Your level Reviewer may not override the AI's proposal.",
    )


def test_a_modified_action_that_is_not_valid_json_is_refused_and_the_input_kept(
    client, case, senior, reason
):
    log_in(client, senior)
    claim(client, case)

    response = refused(
        client,
        case,
        review_url(case, "decide"),
        {
            "outcome": "modify",
            "final_action": '{"option": "partial refund", "amount": ',
            "override_reason": reason.pk,
            "rationale": "Half is fair.",
        },
        "The modified action is not valid JSON.",
    )
    assert "Half is fair." in html(response)


def test_a_modified_action_that_is_not_among_the_options_is_refused(client, case, senior, reason):
    log_in(client, senior)
    claim(client, case)

    refused(
        client,
        case,
        review_url(case, "decide"),
        {
            "outcome": "modify",
            "final_action": '{"option": "store credit"}',
            "override_reason": reason.pk,
            "rationale": "x",
        },
        "'store credit' is not among the options for this case",
    )
    refused(
        client,
        case,
        review_url(case, "decide"),
        {
            "outcome": "modify",
            "option": "partial refund",
            "final_action": '{"option": "decline"}',
            "override_reason": reason.pk,
            "rationale": "x",
        },
        "The details name the option 'decline' but you chose 'partial refund'",
    )


def test_an_outcome_that_does_not_apply_is_refused_by_the_form(client, case, reviewer):
    log_in(client, reviewer)
    claim(client, case)

    refused(
        client,
        case,
        review_url(case, "decide"),
        {"outcome": "agree"},
        "The decision was not recorded: see the form below.",
    )


def test_actions_need_a_post_with_a_csrf_token(case, reviewer):
    browser = log_in(Client(enforce_csrf_checks=True), reviewer)
    before = snapshot(case)

    assert browser.get(review_url(case, "claim")).status_code == 405
    assert browser.post(review_url(case, "claim")).status_code == 403
    assert snapshot(case) == before


# What the screen shows -----------------------------------------------------------------------


def test_untrusted_content_is_shown_escaped(client, journey, levels, reviewer, senior):
    script, img = HOSTILE
    case = CaseFactory(
        journey=journey,
        required_level=levels["reviewer"],
        context={"note": script, img: {"nested": [img, script]}},
        proposal={"reply": img},
        confidence_reasons=[script],
        options=[script, "decline"],
        action_type=img,
        subject_ref="cust-x",
    )
    earlier = CaseFactory(
        journey=journey,
        required_level=levels["reviewer"],
        subject_ref="cust-x",
        action_type=script,
        status=CaseStatus.DECIDED,
        decided_at=timezone.now(),
    )
    DecisionFactory(case=earlier, reviewer=senior, rationale=img)
    log_in(client, reviewer)
    claim(client, case)

    page = html(client.get(review_url(case)))

    assert "<script>alert(1)" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_long_json_is_laid_out_as_keys_and_values(client, case, reviewer):
    case.context = {"order": {"id": "A-1", "lines": [{"sku": "K-1", "qty": 2}]}, "tier": "gold"}
    case.save()
    log_in(client, reviewer)

    page = html(client.get(review_url(case)))

    # PostgreSQL's jsonb keeps its own key order, so only the nesting is asserted.
    assert '<dt>order</dt><dd><dl class="json-tree"><dt>id</dt>' in page
    assert '<dt>tier</dt><dd><span class="json-text">gold</span></dd>' in page
    assert '<dt>sku</dt><dd><span class="json-text">K-1</span></dd>' in page


def test_the_screen_shows_why_confidence_dropped_with_the_actual_signal_values(
    client, journey, levels, reviewer
):
    point = JudgementPointFactory(
        journey=journey, name="Identity mismatch with fraud", combinator="all"
    )
    TriggerConditionFactory(judgement_point=point, signal="recent_fraud_attempts", operator="gte")
    evaluation = GateEvaluationFactory(
        journey=journey,
        signals={"confidence": 0.42, "recent_fraud_attempts": 3},
        matched=[
            {
                "judgement_point": str(point.pk),
                "slug": point.slug,
                "version": 4,
                "combinator": "all",
                "fired": [
                    {
                        "signal": "identity_mismatch",
                        "operator": "is_true",
                        "value": None,
                        "actual": True,
                    },
                    {"signal": "recent_fraud_attempts", "operator": "gte", "value": 1, "actual": 3},
                ],
            }
        ],
    )
    case = CaseFactory(
        journey=journey,
        required_level=levels["reviewer"],
        evaluation=evaluation,
        confidence=0.42,
        confidence_reasons=["Date of birth does not match."],
    )
    case.judgement_points.add(point)
    log_in(client, reviewer)

    why = section(client.get(review_url(case)), "why-a-person")

    assert "Identity mismatch with fraud" in why and "v4" in why
    assert "all conditions (AND)" in why
    assert re.search(
        r"recent_fraud_attempts</code></td>\s*<td>is at least 1</td>\s*"
        r"<td><strong>3</strong>",
        why,
    )
    assert re.search(
        r"identity_mismatch</code></td>\s*<td>is true</td>\s*"
        r"<td><strong>true</strong>",
        why,
    )
    assert "Date of birth does not match." in why
    assert "0.42" in why


def test_the_screen_shows_what_was_tried_the_options_and_the_authority_held(client, case, senior):
    case.irreversible = True
    case.amount = Decimal("40.00")
    case.currency = "EUR"
    case.save()
    log_in(client, senior)

    page = html(client.get(review_url(case)))

    assert "40.00 EUR" in page
    assert "irreversible: cannot be undone" in page
    assert "Refund in full." in page
    for option in ("Refund in full", "Partial refund", "Decline"):
        assert f"<li>{option}</li>" in page
    assert "<strong>Senior reviewer</strong>" in page
    assert "may not approve irreversible actions" in page


def test_the_screen_lists_the_customers_earlier_cases_newest_first(
    client, journey, levels, reviewer, senior, reason
):
    now = timezone.now()
    case = CaseFactory(journey=journey, required_level=levels["reviewer"], subject_ref="cust-77")
    older = CaseFactory(
        journey=journey,
        required_level=levels["reviewer"],
        subject_ref="cust-77",
        action_type="older_refund",
        opened_at=now - datetime.timedelta(days=9),
        status=CaseStatus.DECIDED,
        decided_at=now - datetime.timedelta(days=8),
    )
    DecisionFactory(
        case=older,
        reviewer=senior,
        outcome="reject",
        is_override=True,
        override_reason=reason,
        rationale="Fraud pattern.",
    )
    newer = CaseFactory(
        journey=journey,
        required_level=levels["reviewer"],
        subject_ref="cust-77",
        action_type="newer_refund",
        opened_at=now - datetime.timedelta(days=2),
    )
    other_system = CaseFactory(
        journey=JourneyFactory(ai_system=AISystemFactory()),
        required_level=levels["reviewer"],
        subject_ref="cust-77",
    )
    someone_else = CaseFactory(
        journey=journey, required_level=levels["reviewer"], subject_ref="cust-78"
    )
    log_in(client, reviewer)

    earlier = section(client.get(review_url(case)), "earlier-cases")

    assert earlier.index(str(newer.pk)) < earlier.index(str(older.pk))
    assert "Reject the proposal" in earlier and "override" in earlier
    assert str(other_system.pk) not in earlier
    assert str(someone_else.pk) not in earlier
    assert earlier.count("/review/") == 2


def test_the_screen_shows_precedents_with_the_decision_taken(
    client, journey, levels, reviewer, senior, reason
):
    point = JudgementPointFactory(journey=journey, name="Low confidence on a refund")
    case = CaseFactory(journey=journey, required_level=levels["reviewer"], confidence=0.5)
    case.judgement_points.add(point)
    now = timezone.now()
    close, far = (
        CaseFactory(
            journey=journey,
            required_level=levels["reviewer"],
            confidence=confidence,
            status=CaseStatus.DECIDED,
            decided_at=now,
            action_type=name,
        )
        for name, confidence in (("close_one", 0.52), ("far_one", 0.95))
    )
    for precedent in (close, far):
        precedent.judgement_points.add(point)
    DecisionFactory(
        case=close,
        reviewer=senior,
        outcome="modify",
        is_override=True,
        override_reason=reason,
        rationale="Partial refund: used item.",
    )
    DecisionFactory(case=far, reviewer=senior, outcome="approve")
    log_in(client, reviewer)

    found = section(client.get(review_url(case)), "precedents")

    assert found.index("Close one") < found.index("Far one")
    assert "Modify the proposal" in found and "Partial refund: used item." in found
    assert "Policy exception" in found
    assert "no override" in found
    assert "Low confidence on a refund" in found


def test_the_screen_shows_the_history_of_decisions_and_escalations(client, case, reviewer, senior):
    claim_case(case=case, reviewer=reviewer)
    decide_case(
        case=case,
        reviewer=reviewer,
        decision=DecisionInput(outcome="escalate", rationale="Above my pay grade."),
    )
    log_in(client, senior)

    history = section(client.get(review_url(case)), "history")

    assert "rhea" in history
    assert "First review" in history
    assert "Escalate to a higher authority" in history
    assert "escalated from Reviewer to Senior reviewer" in history
    assert "Above my pay grade." in history


def test_the_screen_costs_the_same_queries_with_more_neighbours(
    client, journey, levels, reviewer, senior, django_assert_max_num_queries
):
    point = JudgementPointFactory(journey=journey)
    case = CaseFactory(journey=journey, required_level=levels["reviewer"], subject_ref="cust-1")
    case.judgement_points.add(point)
    log_in(client, reviewer)
    client.get(review_url(case))

    def neighbours(count):
        for _ in range(count):
            other = CaseFactory(
                journey=journey,
                required_level=levels["reviewer"],
                subject_ref="cust-1",
                status=CaseStatus.DECIDED,
                decided_at=timezone.now(),
            )
            other.judgement_points.add(point)
            DecisionFactory(case=other, reviewer=senior)

    neighbours(1)
    with CaptureQueriesContext(connection) as one:
        client.get(review_url(case))
    neighbours(12)
    with django_assert_max_num_queries(len(one)):
        response = client.get(review_url(case))
    assert section(response, "earlier-cases").count("/review/") == 10


def test_a_deactivated_override_reason_is_not_offered(client, case, senior, reason):
    OverrideReasonFactory(code="retired", label="Retired reason", is_active=False)
    log_in(client, senior)

    page = html(claim(client, case))

    assert "Policy exception" in page
    assert "Retired reason" not in page


def test_a_customer_hand_over_shows_as_a_hand_over_not_an_ai_proposal(
    client, journey, levels, reviewer
):
    handover = CaseFactory(
        journey=journey,
        required_level=levels["reviewer"],
        route_reason=RouteReason.CUSTOMER_REQUESTED_HUMAN,
        action_type="",
        amount=None,
        currency="",
        proposal={},
    )
    log_in(client, reviewer)
    page = html(client.get(review_url(handover)))
    assert "A hand-over: the customer asked for a person" in page
    assert "The AI system proposed nothing" in page
    assert "What the system tried" not in page
