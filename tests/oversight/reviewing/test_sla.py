"""The periodic sweep: SLA breaches escalate and are kept; lapsed claims return to the queue."""

import datetime

import pytest
import time_machine

from audit.models import AuditEvent
from oversight.models import CaseStatus
from oversight.services.cases import claim_case, sweep_cases
from oversight.tasks import sweep_cases as sweep_task
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db

# After the fixtures' grants start (they start 30 days before the real today).
START = datetime.datetime(2027, 3, 3, 9, 0, tzinfo=datetime.UTC)


def test_a_case_past_its_sla_is_escalated_and_the_breach_kept(journey, levels):
    with time_machine.travel(START, tick=False):
        case = CaseFactory(
            journey=journey,
            required_level=levels["reviewer"],
            opened_at=START,
            sla_deadline=START + datetime.timedelta(hours=2),
        )
    with time_machine.travel(START + datetime.timedelta(hours=1), tick=False):
        assert sweep_cases() == {"sla_breached": 0, "claims_released": 0}
    late = START + datetime.timedelta(hours=2, minutes=1)
    with time_machine.travel(late, tick=False):
        assert sweep_task() == {"sla_breached": 1, "claims_released": 0}
        assert sweep_cases() == {"sla_breached": 0, "claims_released": 0}  # idempotent
    case.refresh_from_db()
    assert case.sla_breached_at == late
    assert case.status == CaseStatus.ESCALATED
    assert case.required_level.name == "Senior reviewer"
    assert case.sla_deadline == late + datetime.timedelta(hours=2)
    actions = list(
        AuditEvent.objects.filter(object_id=str(case.id)).values_list("action", flat=True)
    )
    assert actions == ["case.sla_breached", "case.escalated"]


def test_the_breach_note_names_the_time_in_the_sites_zone_not_an_iso_timestamp(
    journey, levels, settings
):
    settings.TIME_ZONE = "Europe/Paris"
    with time_machine.travel(START, tick=False):
        case = CaseFactory(
            journey=journey,
            required_level=levels["reviewer"],
            opened_at=START,
            sla_deadline=START + datetime.timedelta(hours=2),
        )
    with time_machine.travel(START + datetime.timedelta(hours=2, minutes=1), tick=False):
        sweep_cases()

    case.refresh_from_db()
    assert case.escalation_note == "SLA breached at 3 Mar 2027, 12:01 CET: escalated automatically."


def test_decided_cases_are_never_marked_as_breached(journey, levels):
    with time_machine.travel(START, tick=False):
        case = CaseFactory(
            journey=journey,
            required_level=levels["reviewer"],
            status=CaseStatus.DECIDED,
            decided_at=START,
            sla_deadline=START + datetime.timedelta(minutes=5),
        )
    with time_machine.travel(START + datetime.timedelta(days=1), tick=False):
        assert sweep_cases()["sla_breached"] == 0
    case.refresh_from_db()
    assert case.sla_breached_at is None


def test_a_lapsed_claim_is_released_back_to_the_queue(case, reviewer, settings):
    settings.CLAIM_LEASE_MINUTES = 15
    case.sla_deadline = START + datetime.timedelta(days=1)
    case.save()
    with time_machine.travel(START, tick=False):
        claim_case(case=case, reviewer=reviewer)
    with time_machine.travel(START + datetime.timedelta(minutes=14), tick=False):
        assert sweep_cases()["claims_released"] == 0
    with time_machine.travel(START + datetime.timedelta(minutes=16), tick=False):
        assert sweep_cases()["claims_released"] == 1
    case.refresh_from_db()
    assert (case.status, case.claimed_by) == (CaseStatus.OPEN, None)
    event = AuditEvent.objects.get(action="case.claim_expired")
    assert event.payload == {"holder": "rhea"}
