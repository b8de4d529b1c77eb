"""The serious-incident report (initial and final): content read back with pdfplumber, signed
like every issued report, ordered from the admin; bad parameters refused."""

import datetime
import io

import pdfplumber
import pytest
import time_machine
from django.urls import reverse
from pyhanko.pdf_utils.reader import PdfFileReader

from audit.models import AuditEvent
from oversight.exceptions import InvalidInput
from oversight.models import IncidentClass, IncidentState, ReportRequest
from oversight.services.incidents import advance_incident
from oversight.services.reports import issue_report_now, request_report
from tests import factories
from tests.oversight.incidents.world import incident_world, raise_one

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2026, 10, 24, 21, 30, tzinfo=datetime.UTC)  # 23:30 in Berlin
S = IncidentState


def text_of(pdf: bytes) -> str:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return " ".join(" ".join((page.extract_text() or "").split()) for page in document.pages)


@pytest.fixture
def story(settings):
    settings.TIME_ZONE = "UTC"
    with time_machine.travel(NOW, tick=False):
        w = incident_world()
        factories.DecisionFactory(case=w.case, reviewer=w.reviewer)
        factories.OutcomeFactory(case=w.case, complaint=True, reversed=True)
        w.incident = raise_one(
            w,
            incident_class=IncidentClass.WIDESPREAD,
            time_zone="Europe/Berlin",
            what_happened="Refunds refused <script>alert(1)</script>",
        )
    with time_machine.travel(NOW + datetime.timedelta(days=1), tick=False):
        w.incident = advance_incident(incident=w.incident, by=w.officer, to_state=S.CONFIRMED)
    yield w


def test_the_initial_report_shows_the_incident_clock_timeline_cases_and_ledger_head(story):
    with time_machine.travel(NOW + datetime.timedelta(days=1, hours=1), tick=False):
        issued = issue_report_now(
            user=None, kind="incident", params={"incident": story.incident.pk}
        )

    text = text_of(bytes(issued.content))
    assert "Serious incident report (initial)" in text
    assert "Initial report under Art. 73" in text
    assert "Refunds withheld from a group of customers" in text
    assert "Refunds refused <script>alert(1)</script>" in text  # printed as text
    assert "Widespread infringement" in text
    assert "2026-10-24 23:30 CEST (Europe/Berlin)" in text
    assert "2026-10-26 23:30 CET (Europe/Berlin)" in text  # two calendar days, DST between
    assert "Open: the authority has not been told yet" in text
    assert "Suspected" in text and "Confirmed" in text  # the timeline
    assert f"Case {str(story.case.pk)[:8]}" in text
    assert "complaint reversed" in text
    assert "incident.raised" in text and "incident.state_changed" in text
    assert f"event #{issued.ledger_sequence}" in text
    assert issued.ledger_hash in text.replace(" ", "")
    reader = PdfFileReader(io.BytesIO(bytes(issued.content)), strict=False)
    assert len(reader.embedded_signatures) == 1


def test_the_final_report_waits_for_the_authority_and_then_says_whether_the_deadline_was_met(
    story,
):
    before = ReportRequest.objects.count()
    with pytest.raises(InvalidInput, match="final report of incident .* waits until"):
        request_report(
            user=story.officer,
            kind="incident",
            params={"incident": story.incident.pk, "stage": "final"},
        )
    assert ReportRequest.objects.count() == before

    with time_machine.travel(NOW + datetime.timedelta(days=3), tick=False):
        advance_incident(
            incident=story.incident, by=story.officer, to_state=S.REPORTED_TO_AUTHORITY,
            note="Provider unreachable (Art. 26(5)).", authority_reference="BNetzA-2026-17",
        )  # fmt: skip
        issued = issue_report_now(
            user=None, kind="incident", params={"incident": story.incident.pk, "stage": "final"}
        )

    text = text_of(bytes(issued.content))
    assert "Serious incident report (final)" in text
    assert "No: reported after the deadline" in text
    assert "BNetzA-2026-17" in text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"incident": "abc"}, "is not an incident number"),
        ({"incident": 999999}, "There is no serious incident 999999"),
        ({"incident": 1, "stage": "middle"}, "is not initial or final"),
        ({"incident": 1, "extra": 1}, "Unknown parameter"),
    ],
)
def test_bad_parameters_are_refused_and_nothing_is_requested(story, params, message):
    before = (ReportRequest.objects.count(), AuditEvent.objects.count())

    with pytest.raises(InvalidInput, match=message):
        request_report(user=story.officer, kind="incident", params=params)

    assert (ReportRequest.objects.count(), AuditEvent.objects.count()) == before


def test_a_suggestion_has_no_report(story):
    suggestion = factories.IncidentFactory(
        ai_system=story.system, state=S.SUGGESTED, source="suggestion", deadline=None,
        became_aware_at=None,
    )  # fmt: skip

    with pytest.raises(InvalidInput, match="There is no serious incident"):
        request_report(user=story.officer, kind="incident", params={"incident": suggestion.pk})


def test_the_report_is_orderable_from_the_admin(story, client, task_queue):
    client.force_login(story.officer)
    url = reverse("admin:oversight_reportrequest_order_incident")

    page = client.get(url)
    response = client.post(url, {"incident": story.incident.pk, "stage": "initial"})

    assert page.status_code == 200 and "Order a serious incident report" in page.content.decode()
    assert response.status_code == 302
    request = ReportRequest.objects.get()
    assert (request.kind, request.params) == (
        "incident",
        {"incident": story.incident.pk, "stage": "initial"},
    )
