"""The case dossier: everything recorded about one case, escaped, bounded, with its ledger."""

import datetime
import io
from decimal import Decimal

import pypdf
import pytest
import time_machine

from audit.models import AuditEvent
from audit.services.ledger import Actor, append_event
from oversight.models import CaseStatus, DecisionStage
from oversight.reports import dossier
from oversight.reports.fetcher import StaticFilesURLFetcher
from oversight.reports.rendering import ReportParameterError, render_report
from tests.factories import (
    AISystemFactory,
    AuthorityLevelFactory,
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

OPENED = datetime.datetime(2026, 6, 1, 12, tzinfo=datetime.UTC)
REPORT_ID = "9c0ffee0-0000-4000-8000-00000000d055"
HOSTILE_CONTEXT = {
    "order_id": "A-1001",
    "note": '<img src="file:///etc/passwd"> see <a href="http://169.254.169.254/latest/meta-data/">'
    "this</a>",
}


@pytest.fixture(autouse=True)
def utc(settings):
    settings.TIME_ZONE = "UTC"


def minutes(n: int) -> datetime.datetime:
    return OPENED + datetime.timedelta(minutes=n)


def text_of(pdf: bytes) -> str:
    pages = pypdf.PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join(page.extract_text().split()) for page in pages)


def render(case_id, *, at=None):
    return render_report(
        "dossier", {"case": str(case_id)}, report_id=REPORT_ID, generated_at=at or minutes(90)
    )


@pytest.fixture
def story():
    """A four-eyes refund case: Ada approves, Bob (second review) rejects, the disagreement
    escalates it to Senior reviewer, Cyd overrides with a partial refund; an outcome follows."""
    with time_machine.travel(OPENED, tick=False) as clock:
        reviewer = AuthorityLevelFactory(name="Reviewer", rank=1)
        senior = AuthorityLevelFactory(name="Senior reviewer", rank=2)
        system = AISystemFactory(name="Refund bot", slug="refund-bot", provider="Acme AI")
        journey = JourneyFactory(ai_system=system, name="Refunds", slug="refunds")
        point = JudgementPointFactory(
            journey=journey, slug="large-refund", name="Large refund", required_level=reviewer
        )
        evaluation = GateEvaluationFactory(
            journey=journey,
            signals={"confidence": 0.42, "sentiment": -0.6},
            server_signals={"missing_context_keys": []},
            matched=[
                {
                    "judgement_point": str(point.id),
                    "slug": "large-refund",
                    "version": 3,
                    "combinator": "all",
                    "fired": [
                        {"signal": "confidence", "operator": "lt", "value": 0.7, "actual": 0.42},
                        {
                            "signal": "irreversible",
                            "operator": "is_true",
                            "value": None,
                            "actual": True,
                        },
                    ],
                }
            ],
            reasons=["Large refund: confidence is below 0.7 (was 0.42) and irreversible is true"],
        )
        case = CaseFactory(
            journey=journey,
            evaluation=evaluation,
            required_level=reviewer,
            four_eyes=True,
            context=HOSTILE_CONTEXT,
            proposal={"reply": "We will refund you in full.", "refund": "49.90"},
            amount=Decimal("49.90"),
            confidence=0.42,
            confidence_reasons=["Customer tone is hostile"],
            subject_ref="cust-00042",
            opened_at=OPENED,
        )
        case.judgement_points.add(point)
        ada = UserFactory(username="ada", first_name="Ada", last_name="Lovelace")
        bob = UserFactory(username="bob", first_name="Bob", last_name="Builder")
        cyd = UserFactory(username="cyd", first_name="Cyd", last_name="Charisse")
        append_event(actor=Actor.for_ai_system(system), action="case.opened", obj=case)

        def claim(user, at):
            clock.move_to(at)
            case.status = CaseStatus.CLAIMED
            case.claimed_by, case.claimed_at = user, at
            case.claim_expires_at = at + datetime.timedelta(minutes=30)
            case._history_user = user
            case.save()
            append_event(actor=Actor.for_user(user), action="case.claimed", obj=case)

        def release(status, user):
            case.status = status
            case.claimed_by = case.claimed_at = case.claim_expires_at = None
            case._history_user = user
            case.save()

        claim(ada, minutes(5))
        clock.move_to(minutes(10))
        first = DecisionFactory(
            case=case,
            reviewer=ada,
            outcome="approve",
            authority_level=reviewer,
            rationale="Order history supports it.",
            decided_at=minutes(10),
            time_spent_seconds=300,
            final_action={"reply": "We will refund you in full."},
        )
        release(CaseStatus.AWAITING_SECOND_REVIEW, ada)
        append_event(
            actor=Actor.for_user(ada),
            action="case.second_review_requested",
            obj=case,
            payload={"decision": str(first.id)},
        )
        claim(bob, minutes(20))
        clock.move_to(minutes(25))
        DecisionFactory(
            case=case,
            reviewer=bob,
            outcome="reject",
            stage=DecisionStage.SECOND,
            authority_level=reviewer,
            rationale="Item was used.",
            decided_at=minutes(25),
        )
        case.review_round, case.required_level = 2, senior
        case.escalation_note = "The two reviewers disagreed: approve vs reject."
        release(CaseStatus.ESCALATED, bob)
        append_event(
            actor=Actor.system("four eyes"),
            action="case.escalated",
            obj=case,
            payload={"reason": "four_eyes_disagreement", "round": 2},
        )
        claim(cyd, minutes(60))
        clock.move_to(minutes(70))
        DecisionFactory(
            case=case,
            reviewer=cyd,
            outcome="modify",
            review_round=2,
            authority_level=senior,
            is_override=True,
            override_reason=OverrideReasonFactory(label="Policy exception"),
            rationale="Refund half: partial use.",
            decided_at=minutes(70),
            final_action={"refund": "24.95"},
        )
        case.decided_at = minutes(70)
        release(CaseStatus.DECIDED, cyd)
        append_event(actor=Actor.for_user(cyd), action="case.overridden", obj=case)
        clock.move_to(minutes(80))
        outcome = OutcomeFactory(
            case=case,
            customer_effort=2,
            repeat_contact=False,
            note="<script>alert(1)</script>",
        )
        append_event(actor=Actor.for_ai_system(system), action="outcome.recorded", obj=outcome)
        yield case


def test_dossier_shows_what_the_system_saw_tried_and_why_it_was_routed(story):
    text = text_of(render(story.pk).pdf)

    assert f"Case dossier Case {story.pk} · opened 2026-06-01" in text  # running header
    assert "AI system Refund bot (refund-bot, Acme AI)" in text
    assert "Status Decided, decided 2026-06-01 13:10:00 UTC" in text
    assert "order_id A-1001" in text
    assert "Customer tone is hostile" in text
    assert "reply We will refund you in full." in text
    assert (
        "Large refund (large-refund) v3 all conditions confidence is below 0.7 (was 0.42) "
        "irreversible is true" in text
    )
    assert "Large refund: confidence is below 0.7 (was 0.42) and irreversible is true" in text
    assert "sentiment -0.6" in text


def test_dossier_shows_every_claim_decision_escalation_and_second_review(story):
    text = text_of(render(story.pk).pdf)

    assert "Ada Lovelace (ada) 2026-06-01 12:05:00 UTC 2026-06-01 12:35:00 UTC 1" in text
    assert "Bob Builder (bob) 2026-06-01 12:20:00 UTC 2026-06-01 12:50:00 UTC 1" in text
    assert "Cyd Charisse (cyd) 2026-06-01 13:00:00 UTC 2026-06-01 13:30:00 UTC 2" in text
    assert (
        "1 First review Ada Lovelace (ada) 2026-06-01 12:10:00 UTC Approve the proposal "
        "Reviewer No 300 s" in text
    )
    assert "Rationale: Order history supports it." in text
    assert (
        "1 Second review (four eyes) Bob Builder (bob) 2026-06-01 12:25:00 UTC Reject the "
        "proposal Reviewer No" in text
    )
    assert "Modify the proposal Senior reviewer Yes Policy exception" in text
    assert "Rationale: Refund half: partial use." in text
    assert (
        "2026-06-01 12:25:00 UTC Bob Builder (bob) four_eyes_disagreement Reviewer "
        "Senior reviewer 2 The two reviewers disagreed: approve vs reject." in text
    )
    assert "Round 1: Bob Builder (bob), 2026-06-01 12:25:00 UTC: reject the proposal." in text
    assert "<script>alert(1)</script>" in text  # the outcome's note, as text


def test_dossier_lists_the_versions_and_the_ledger_events_with_their_hashes(story):
    report = render(story.pk)

    text = text_of(report.pdf)
    events = list(AuditEvent.objects.order_by("sequence"))
    assert len(events) == 8
    assert "8 events in the audit ledger concern this case, its decisions and outcomes." in text
    flat = "".join(text.split())
    for event in events:
        assert event.hash in flat
    assert "1 2026-06-01 12:00:00 UTC refund-bot AI system case.opened" in text
    assert "status: claimed → awaiting_second_review" in text
    assert "review_round: 1 → 2" in text
    # History ids come from a sequence that PostgreSQL does not rewind between tests.
    first = story.history.order_by("history_id").first().history_id
    assert f"Created #{first} HITL Oversight first version" in text
    assert report.ledger_sequence == 8
    assert f"event #8 · {events[-1].hash}" in text


def test_ledger_events_are_bounded_and_the_rest_counted(story, monkeypatch):
    monkeypatch.setattr(dossier, "LEDGER_EVENT_LIMIT", 3)

    text = text_of(render(story.pk).pdf)

    assert (
        "8 events in the audit ledger concern this case, its decisions and outcomes; the "
        "first 3 are listed." in text
    )
    assert "And 5 more events not listed." in text
    assert "case.overridden" not in text


def test_untrusted_text_is_printed_escaped_and_nothing_it_names_is_fetched(story, monkeypatch):
    calls = []
    fetch = StaticFilesURLFetcher.fetch

    def spy(self, url, headers=None):
        calls.append(url)
        return fetch(self, url, headers)

    monkeypatch.setattr(StaticFilesURLFetcher, "fetch", spy)

    pdf = render(story.pk).pdf

    assert calls == ["https://reports.hitl-oversight.invalid/static/reports/report.css"]
    text = text_of(pdf)
    assert 'note <img src="file:///etc/passwd"> see <a href="http://169.254.169.254/' in text
    # The long URL wraps inside its cell: compare without the line breaks.
    flat = "".join(text.split())
    assert '<ahref="http://169.254.169.254/latest/meta-data/">this</a>' in flat
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    for page in reader.pages:
        xobjects = page["/Resources"].get("/XObject", {})
        assert not any(x.get_object()["/Subtype"] == "/Image" for x in xobjects.values())
        for annotation in page.get("/Annots", []):
            action = annotation.get_object().get("/A", {})
            assert "169.254" not in str(action.get("/URI", ""))


def test_a_bare_case_says_what_did_not_happen(db):
    with time_machine.travel(OPENED, tick=False):
        case = CaseFactory(
            journey=JourneyFactory(name="Billing"),
            route_reason="customer_requested_human",
            context={},
            proposal={},
        )

    text = text_of(render(case.pk).pdf)

    assert "The system sent no context." in text
    assert "The system sent no proposal." in text
    assert "No gate evaluation opened this case (customer asked for a human)." in text
    assert "Nobody claimed this case." in text
    assert "No decision has been taken on this case." in text
    assert "The case was not escalated." in text
    assert "This case did not need a second review." in text
    assert "No outcome has been reported for this case." in text
    assert "No audit ledger event concerns this case." in text
    assert "Page 1 of" in text and REPORT_ID in text


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("nope", "'nope' is not a case id."),
        ("", "The case is required (its id)."),
        ("0c3c9e6e-1b1d-4f5e-9d7a-000000000000", "There is no case 0c3c9e6e-"),
    ],
)
def test_unknown_or_malformed_case_is_refused(db, value, message):
    with pytest.raises(ReportParameterError) as refused:
        render_report("dossier", {"case": value}, report_id=REPORT_ID, generated_at=OPENED)

    assert str(refused.value).startswith(message)


def test_an_event_still_waiting_to_be_chained_is_sealed_before_the_dossier_pins_the_head():
    """A case opening's event is chained just after its commit (issue #17); a report that starts
    in between seals it first, so the head it prints covers the event and the table numbers it."""
    from audit.services.ledger import record_event

    case = CaseFactory(opened_at=OPENED)
    pending = record_event(actor=Actor.system(), action="case.opened", obj=case)
    assert AuditEvent.objects.get(pk=pending.pk).sequence is None  # its commit has not come

    rendered = render(case.pk)

    sealed = AuditEvent.objects.get(pk=pending.pk)
    assert sealed.sequence is not None
    assert rendered.ledger_sequence >= sealed.sequence
    assert f"{sealed.sequence} " in text_of(rendered.pdf)
