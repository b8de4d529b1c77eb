"""Section 11 of the oversight report: each serious incident of the period, its deadline, and
whether it was met (issue #19)."""

import datetime
import io

import pypdf
import pytest
import time_machine

from oversight.models import IncidentClass, IncidentState
from oversight.reports.oversight_report import build
from oversight.reports.rendering import render_report
from oversight.services.incidents import advance_incident
from tests import factories
from tests.oversight.incidents.world import incident_world, raise_one

pytestmark = pytest.mark.django_db
S = IncidentState
MAY = {"system": "refunds", "start": "2026-05-01", "end": "2026-05-31"}


def at(month: int, day: int, hour: int = 12) -> datetime.datetime:
    return datetime.datetime(2026, month, day, hour, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def utc(settings):
    settings.TIME_ZONE = "UTC"


def report_to_authority(w, incident, moment, skip=True):
    with time_machine.travel(moment, tick=False):
        incident = advance_incident(incident=incident, by=w.officer, to_state=S.CONFIRMED)
        return advance_incident(
            incident=incident, by=w.officer, to_state=S.REPORTED_TO_AUTHORITY,
            note="Provider unreachable", authority_reference="REF",
        )  # fmt: skip


@pytest.fixture
def world():
    with time_machine.travel(at(4, 1), tick=False):
        w = incident_world()
    raised = {}
    for name, aware, klass in (
        ("met", at(5, 3), IncidentClass.OTHER),
        ("late", at(5, 10), IncidentClass.WIDESPREAD),
        ("overdue", at(5, 20), IncidentClass.WIDESPREAD),
        ("not due", at(5, 28), IncidentClass.OTHER),
        ("not serious", at(5, 5), IncidentClass.OTHER),
        ("april, due in May", at(4, 25), IncidentClass.OTHER),
        ("june", at(6, 2), IncidentClass.OTHER),
    ):
        with time_machine.travel(aware, tick=False):
            raised[name] = raise_one(w, title=f"Incident {name}", incident_class=klass)
    report_to_authority(w, raised["met"], at(5, 6))
    report_to_authority(w, raised["late"], at(5, 13))
    with time_machine.travel(at(5, 6), tick=False):
        advance_incident(
            incident=raised["not serious"], by=w.officer, to_state=S.CLOSED, note="No harm."
        )
    with time_machine.travel(at(5, 2), tick=False):
        raise_one(w, title="Other system", ai_system=w.other_system, case=w.other_case)
        factories.IncidentFactory(
            ai_system=w.system,
            state=S.SUGGESTED,
            source="suggestion",
            deadline=None,
            became_aware_at=None,
            title="A suggestion",
        )
    return w


def test_each_incident_of_the_period_with_its_deadline_and_verdict(world):
    with time_machine.travel(at(6, 5), tick=False):
        section = build(MAY).data["incidents"]

    verdicts = {row["title"]: row["verdict"] for row in section["incidents"]}
    assert verdicts == {
        "Incident met": "met",
        "Incident late": "missed",
        "Incident overdue": "missed",
        "Incident not due": "not yet due",
        "Incident not serious": "closed as not serious",
        "Incident april, due in May": "missed",  # due 10 May, never reported
    }
    late = next(r for r in section["incidents"] if r["title"] == "Incident late")
    assert late["deadline"] == "2026-05-12 12:00 UTC"
    assert section["verdicts"] == {"met": 1, "missed": 3, "not_due": 1, "not_serious": 1}


def test_the_section_is_printed_in_the_pdf(world):
    with time_machine.travel(at(6, 5), tick=False):
        rendered = render_report(
            "oversight", MAY, report_id="00000000-0000-0000-0000-000000000011",
            generated_at=at(6, 5),
        )  # fmt: skip

    pages = pypdf.PdfReader(io.BytesIO(rendered.pdf)).pages
    text = " ".join(" ".join(page.extract_text().split()) for page in pages)
    assert "11. Serious incidents" in text and "12. Sign-off" in text
    assert "Incident overdue" in text and "Other system" not in text
    assert "Deadlines met: 1; missed: 3; not yet due: 1" in text
