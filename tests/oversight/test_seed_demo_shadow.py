"""The demo's shadow-mode journey: tested in shadow, signed off live, back in shadow since."""

import datetime

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from oversight.demo.shadow import FIRST_PERIOD, SECOND_PERIOD, SLUG, WAITING
from oversight.metrics.agreement import agreement_for
from oversight.models import (
    Case,
    CaseStatus,
    GoLiveSignOff,
    Journey,
    JourneyMode,
    ReportKind,
    ReportRequest,
    RouteReason,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("seeded_demo")]


def test_the_demo_has_a_journey_in_shadow_with_a_go_live_history():
    journey = Journey.objects.get(slug=SLUG)
    now = timezone.now()

    assert journey.mode == JourneyMode.SHADOW
    assert now - datetime.timedelta(days=7) < journey.shadow_since < now
    sign_off = GoLiveSignOff.objects.get(journey=journey)
    assert sign_off.signed_off_by.username == "manager"
    assert (sign_off.decisions, sign_off.agreed) == (FIRST_PERIOD[2], FIRST_PERIOD[2] - 2)
    assert sign_off.agreement >= float(sign_off.target_agreement)
    assert sign_off.rule_versions[0]["slug"] == "termination-fee"
    assert sign_off.signed_off_at < journey.shadow_since
    states = [row.automation_state for row in journey.history.order_by("history_date")]
    assert states == ["shadow", "running", "shadow"]
    assert ReportRequest.objects.filter(
        kind=ReportKind.GO_LIVE, params={"sign_off": str(sign_off.pk)}
    ).exists()
    assert AuditEvent.objects.filter(action="journey.went_live").count() == 1
    assert AuditEvent.objects.filter(action="journey.returned_to_shadow").count() == 1


def test_the_current_shadow_period_has_its_own_agreement_and_a_queue():
    journey = Journey.objects.get(slug=SLUG)

    figures = agreement_for(journey)

    assert (figures.overall.decided, figures.overall.agreed) == (
        SECOND_PERIOD[2],
        SECOND_PERIOD[2] - SECOND_PERIOD[3],
    )
    assert figures.by_band and figures.by_point
    waiting = Case.objects.filter(journey=journey, status=CaseStatus.OPEN)
    assert waiting.count() == WAITING
    assert set(Case.objects.filter(journey=journey).values_list("route_reason", flat=True)) == {
        RouteReason.SHADOW
    }
