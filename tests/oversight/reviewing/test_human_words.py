"""The reviewer's screens speak in human words: action labels, names, local times with the
zone, no raw ISO timestamps (issue #16, "Human words everywhere")."""

import datetime

import pytest
from django.utils import timezone

from oversight.services.cases import claim_case, sweep_cases
from oversight.services.decisions import DecisionInput, decide_case
from oversight.wording import (
    action_label,
    clock_time,
    local_moment,
    moment_said,
    with_local_times,
)
from tests.factories import CaseFactory
from tests.oversight.reviewing.workspace import QUEUE_URL, html, log_in, review_url, section

ISO = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}"


@pytest.mark.parametrize(
    ("raw", "label"),
    [
        ("refund_delivery_fee", "Refund delivery fee"),
        ("bank-transfer-refund", "Bank transfer refund"),
        ("refundDeliveryFee", "Refund delivery fee"),
        ("send.SMS", "Send SMS"),
        ("partial refund", "Partial refund"),  # already words: kept
        ("", ""),
        (None, ""),
    ],
)
def test_action_ids_read_as_words(raw, label):
    assert action_label(raw) == label


def test_times_carry_their_zone(settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    moment = datetime.datetime(2026, 3, 2, 5, 8, tzinfo=datetime.UTC)

    assert clock_time(moment) == "14:08 JST"
    assert local_moment(moment) == "Mon 2 Mar 14:08 JST"
    assert (
        with_local_times("SLA breached at 2026-03-02T05:08:00.123456+00:00: escalated.")
        == "SLA breached at Mon 2 Mar 14:08 JST: escalated."
    )
    assert with_local_times("<b>2026-99-99T99:99</b>") == "<b>2026-99-99T99:99</b>"  # left as is


def test_a_moment_of_today_is_said_by_its_time_alone(settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    now = timezone.now()

    assert moment_said(now) == clock_time(now)
    assert moment_said(now - datetime.timedelta(days=2)) == local_moment(
        now - datetime.timedelta(days=2)
    )


@pytest.mark.django_db
def test_the_queue_and_the_screen_show_labels_names_and_zoned_times(
    client, journey, levels, reviewer, senior, settings
):
    settings.TIME_ZONE = "Asia/Tokyo"
    senior.first_name, senior.last_name = "Sam", "Lee"
    senior.save()
    case = CaseFactory(
        journey=journey,
        required_level=levels["reviewer"],
        action_type="refund_delivery_fee",
        options=["refund_delivery_fee", "decline"],
    )
    held = CaseFactory(journey=journey, required_level=levels["reviewer"])
    claim_case(case=held, reviewer=senior)
    log_in(client, reviewer)

    queue = html(client.get(QUEUE_URL))
    screen = client.get(review_url(case))

    assert "Refund delivery fee" in queue and "refund_delivery_fee" not in queue
    assert "Sam Lee" in queue and ">sam<" not in queue
    assert "JST" in queue
    assert "Review: Refunds — Refund delivery fee" in html(screen)
    assert "refund_delivery_fee" not in section(screen, "what-it-tried")
    assert "<li>Refund delivery fee</li>" in section(screen, "decide")
    summary = html(screen).split('id="case-summary"', 1)[1].split('id="claim-state"', 1)[0]
    assert "JST" in summary


@pytest.mark.django_db
def test_sla_notes_show_local_times_not_iso_timestamps(client, case, reviewer, senior, settings):
    import re

    settings.TIME_ZONE = "Asia/Tokyo"
    sweep_cases(now=case.sla_deadline + datetime.timedelta(minutes=1))
    case.refresh_from_db()
    # The sweep writes its note in words with the zone; an older note with ISO timestamps is
    # shown in local times too.
    assert not re.search(ISO, case.escalation_note)
    case.escalation_note = (
        f"SLA deadline passed at {case.sla_deadline.isoformat()}: escalated automatically."
    )
    case.save()
    log_in(client, senior)

    history = section(client.get(review_url(case)), "history")

    assert not re.search(ISO, history)
    assert "JST" in history
    assert "SLA deadline passed" in history
    assert "automatically:" in " ".join(history.split())


@pytest.mark.django_db
def test_decisions_name_the_reviewer(client, case, reviewer, senior):
    reviewer.first_name, reviewer.last_name = "Rhea", "Ray"
    reviewer.save()
    claim_case(case=case, reviewer=reviewer)
    decide_case(
        case=case, reviewer=reviewer, decision=DecisionInput(outcome="escalate", rationale="Up.")
    )
    log_in(client, senior)

    history = section(client.get(review_url(case)), "history")

    assert "Rhea Ray" in history
    escalations = history.split("Escalations and SLA breaches", 1)[1]
    assert "Rhea Ray:" in " ".join(escalations.split())
