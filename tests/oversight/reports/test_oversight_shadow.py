"""The oversight report's shadow-mode part: agreement per journey, go-live sign-offs and returns
to shadow in the period, recomputed by hand and printed in section 5."""

import datetime
import io

import pypdf
import pytest
import time_machine

from oversight.models import DecisionOutcome
from oversight.reports.oversight_report import build
from oversight.reports.rendering import render_report
from oversight.services.golive import return_to_shadow, sign_off_go_live
from tests.factories import AISystemFactory, JourneyFactory, SuperUserFactory
from tests.oversight.shadow_cases import decided_shadow_case

pytestmark = pytest.mark.django_db

MAY = {"system": "support", "start": "2026-05-01", "end": "2026-05-31"}


@pytest.fixture(autouse=True)
def utc(settings):
    settings.TIME_ZONE = "UTC"


def at(month: int, day: int, hour: int = 9) -> datetime.datetime:
    return datetime.datetime(2026, month, day, hour, tzinfo=datetime.UTC)


@pytest.fixture
def world():
    """Refunds: 31 shadow cases decided in May (29 agree), signed off 20 May by Mia; a guardrail
    returns Billing to shadow on 25 May; April's shadow cases are outside the period."""
    with time_machine.travel(at(4, 1), tick=False):
        mia = SuperUserFactory(username="mia", first_name="Mia", last_name="Kern")
        system = AISystemFactory(slug="support", name="Support bot")
        refunds = JourneyFactory(ai_system=system, slug="refunds", name="Refunds")
        billing = JourneyFactory(ai_system=system, slug="billing", name="Billing")
        return_to_shadow(journey=refunds, by=mia, reason="New model")
    for index in range(5):  # April: not in May's figures
        decided_shadow_case(refunds, DecisionOutcome.REJECT, opened_at=at(4, 10 + index))
    for index in range(31):
        outcome = DecisionOutcome.MODIFY if index < 2 else DecisionOutcome.APPROVE
        decided_shadow_case(refunds, outcome, opened_at=at(5, 2 + index % 15))
    with time_machine.travel(at(5, 20), tick=False):
        sign_off_go_live(
            journey=refunds, by=mia, target_agreement="0.8", min_decisions=30, note="OK"
        )
    with time_machine.travel(at(5, 25), tick=False):
        return_to_shadow(journey=billing, reason="Guardrail breached: overrides", guardrail=True)
    return {"mia": mia}


def test_the_section_counts_may_only(world):
    shadow = build(MAY).data["shadow"]

    assert shadow["agreement"] == [
        {
            "journey": "Refunds",
            "decided": 31,
            "agreed": 29,
            "rate": "93.5 %",
            "interval": "79.3 % – 98.2 %",
        }
    ]
    (sign_off,) = shadow["sign_offs"]
    assert (sign_off["at"], sign_off["by"], sign_off["target"], sign_off["decisions"]) == (
        "2026-05-20 09:00",
        "Mia Kern",
        "80.0 %",
        36,  # the whole shadow period since April: what the manager signed on
    )
    (returned,) = shadow["returns"]
    assert (returned["at"], returned["journey"], returned["by"], returned["why"]) == (
        "2026-05-25 09:00",
        "Billing",
        "guardrails",
        "Guardrail breached: overrides",
    )


def test_the_section_is_printed_in_the_oversight_report(world):
    pdf = render_report("oversight", MAY, report_id="r-1", generated_at=at(6, 1)).pdf
    text = " ".join(
        " ".join(page.extract_text().split()) for page in pypdf.PdfReader(io.BytesIO(pdf)).pages
    )

    assert "Shadow mode and go-live sign-offs" in text
    assert "Refunds 31 29 93.5 % 79.3 % – 98.2 %" in text
    assert "Mia Kern 80.0 %" in text
    assert "Guardrail breached: overrides" in text
