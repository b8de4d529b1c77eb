"""Section 5 of the oversight report: every stop and resumption by a person in full, guardrail
pauses summarised per journey with their reasons as written (issue #15)."""

import datetime
import io

import pypdf
import pytest
import time_machine

from oversight.reports.oversight_report import build
from oversight.reports.rendering import render_report
from oversight.services.automation import pause_journey, resume_journey
from tests.factories import AISystemFactory, JourneyFactory, SuperUserFactory

pytestmark = pytest.mark.django_db

MAY = {"system": "support", "start": "2026-05-01", "end": "2026-05-31"}
GUARDRAIL_REASON = (
    "Guardrail breached: Median customer effort (1-7) of the last N outcomes at most — "
    "6 over the last 5 is above 4.5."
)


@pytest.fixture(autouse=True)
def utc(settings):
    settings.TIME_ZONE = "UTC"


def at(day: int, hour: int = 0, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, 5, day, hour, minute, tzinfo=datetime.UTC)


@pytest.fixture
def world():
    """55 guardrail pauses on Refunds (each resumed by Mia), then Mia's own stop on 30 May."""
    with time_machine.travel(at(1), tick=False):
        boss = SuperUserFactory(username="mia")
        system = AISystemFactory(slug="support", name="Support bot")
        refunds = JourneyFactory(ai_system=system, slug="refunds", name="Refunds")
        other = JourneyFactory(ai_system=system, slug="billing", name="Billing disputes")
    for n in range(55):
        day, minute = 1 + n // 2, 10 * (n % 2)
        with time_machine.travel(at(day, 8, minute), tick=False):
            pause_journey(journey=refunds, reason=GUARDRAIL_REASON, guardrail=True)
        with time_machine.travel(at(day, 9, minute), tick=False):
            resume_journey(journey=refunds, by=boss, note=f"Checked, resumed ({n + 1})")
    with time_machine.travel(at(29, 12), tick=False):
        pause_journey(journey=other, reason="Latest reason: Wrong Currency", guardrail=True)
    with time_machine.travel(at(30, 14), tick=False):
        pause_journey(journey=refunds, by=boss, reason="Stop: Legal Asked Us To Halt Refunds")
    return {"boss": boss}


def test_a_manual_stop_is_listed_however_many_guardrail_pauses_came_before(world):
    stops = build(MAY).data["stops"]

    manual = stops["events"]
    assert stops["manual_total"] == len(manual) == 56  # 55 resumptions and the stop
    assert (manual[-1]["action"], manual[-1]["by"], manual[-1]["why"]) == (
        "Paused",
        "mia",
        "Stop: Legal Asked Us To Halt Refunds",
    )
    assert manual[0]["action"] == "Resumed" and manual[0]["after_guardrail"] is True
    assert manual[0]["paused_for_seconds"] == 3600.0
    assert all(e["by"] == "mia" for e in manual)


def test_guardrail_pauses_are_summarised_per_journey_with_the_reason_as_written(world):
    stops = build(MAY).data["stops"]

    assert stops["guardrail_pauses"] == [
        {
            "journey": "Billing disputes",
            "pauses": 1,
            "first": "2026-05-29 12:00",
            "last": "2026-05-29 12:00",
            "latest_reason": "Latest reason: Wrong Currency",
        },
        {
            "journey": "Refunds",
            "pauses": 55,
            "first": "2026-05-01 08:00",
            "last": "2026-05-28 08:00",
            "latest_reason": GUARDRAIL_REASON,
        },
    ]
    assert stops["guardrail_pauses_total"] == 56
    assert stops["events_total"] == 56 + 56


def test_the_pdf_prints_the_stop_and_the_guardrail_summary(world):
    pdf = render_report(
        "oversight",
        MAY,
        report_id="0b5e55ed-0000-4000-8000-000000000005",
        generated_at=at(31, 23),
    ).pdf

    text = " ".join(
        " ".join(page.extract_text().split()) for page in pypdf.PdfReader(io.BytesIO(pdf)).pages
    )
    assert "Stop: Legal Asked Us To Halt Refunds" in text
    assert "Paused by a guardrail, per journey" in text
    assert "Median customer effort (1-7) of the last N outcomes at most" in text
    assert "Refunds 55 2026-05-01 08:00 2026-05-28 08:00" in text
