"""The go-live evaluation PDF: one per sign-off, signed, with the figures as they were signed."""

import io

import pdfplumber
import pytest
import time_machine
from pyhanko.pdf_utils.reader import PdfFileReader

from audit.models import AuditEvent
from oversight.exceptions import InvalidInput
from oversight.models import DecisionOutcome, IssuedReport, ReportRequest, ReportStatus
from oversight.reports.rendering import ReportParameterError, render_report
from oversight.services.golive import return_to_shadow, sign_off_go_live
from oversight.services.reports import generate_report, issue_report_now
from tests.factories import JudgementPointFactory
from tests.oversight.authority_world import DAY, NOW, world
from tests.oversight.shadow_cases import decided_shadow_case

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def utc(settings):
    settings.TIME_ZONE = "Europe/Paris"


def text_of(pdf: bytes) -> str:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return " ".join(" ".join((page.extract_text() or "").split()) for page in document.pages)


@pytest.fixture
def signed():
    """Refunds: 32 shadow decisions (29 agree), two points, signed off by Mark at 90 %."""
    with time_machine.travel(NOW, tick=False):
        w = world()
        big = JudgementPointFactory(journey=w.refunds, slug="big-refund", name="Big refund")
        JudgementPointFactory(journey=w.refunds, slug="angry", name="Angry customer")
        return_to_shadow(journey=w.refunds, by=w.manager, reason="New model", at=NOW - 7 * DAY)
        for index in range(32):
            decided_shadow_case(
                w.refunds,
                DecisionOutcome.REJECT if index < 3 else DecisionOutcome.APPROVE,
                confidence=0.95 if index % 2 else 0.75,
                points=[big] if index < 10 else [],
            )
        sign_off = sign_off_go_live(
            journey=w.refunds,
            by=w.manager,
            target_agreement="0.9",
            min_decisions=30,
            note="<b>Shadow</b> fortnight reviewed with the team",
        )
        yield w, sign_off


def test_the_sign_off_orders_a_signed_go_live_evaluation_with_its_figures(signed):
    w, sign_off = signed
    request = ReportRequest.objects.get(kind="go_live")

    with time_machine.travel(NOW, tick=False):
        issued = generate_report(request.pk)

    request.refresh_from_db()
    assert request.status == ReportStatus.DONE, request.error
    pdf = bytes(issued.content)
    assert PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures  # signed
    text = text_of(pdf)
    assert "Go-live evaluation" in text
    assert "Mark Ellison (mark) signed off Support assistant / Refunds" in text
    # 29 of 32: 90.6 %, Wilson 95 % interval 75.8 % – 96.8 %.
    assert "agreement 90.6 % (95 % interval 75.8 % – 96.8 %)" in text
    assert "against a target of 90.0 % over at least 30 shadow decisions" in text
    # By band: 0.7–0.8 has the 16 even cases (cases 0 and 2 rejected), 0.9–1.0 the 16 odd
    # ones (case 1 rejected).
    assert "0.7–0.8 16 14 87.5 % 64.0 % – 96.5 %" in text
    assert "0.9–1.0 16 15 93.8 % 71.7 % – 98.9 %" in text
    assert "Big refund 10 7 70.0 %" in text
    assert "No judgement point fired 22 22 100.0 %" in text
    assert "Angry customer angry v1" in text and "Big refund big-refund v1" in text
    assert "<b>Shadow</b> fortnight reviewed with the team" in text  # printed as text
    assert "CEST" in text  # times in the report's zone, with the zone shown
    assert issued.params == {"sign_off": str(sign_off.pk)}
    assert AuditEvent.objects.filter(action="report.generated").count() == 1


def test_the_report_prints_the_figures_as_signed_not_as_they_are_now(signed):
    w, sign_off = signed
    for _ in range(10):  # later shadow history changes nothing in the evaluation
        decided_shadow_case(w.refunds, DecisionOutcome.REJECT)

    rendered = render_report(
        "go_live", {"sign_off": str(sign_off.pk)}, report_id="r-1", generated_at=NOW
    )

    assert "agreement 90.6 %" in text_of(rendered.pdf)


def test_a_compliance_officer_may_order_it_again_and_bad_ids_are_refused(signed):
    w, sign_off = signed
    before = ReportRequest.objects.count()

    for bad, message in [
        ({}, "go-live sign-off is required"),
        ({"sign_off": "nope"}, "not a go-live sign-off id"),
        ({"sign_off": "9c0ffee0-0000-4000-8000-00000000d055"}, "There is no go-live sign-off"),
        ({"sign_off": str(sign_off.pk), "extra": 1}, "Unknown parameter"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            issue_report_now(user=None, kind="go_live", params=bad)
    assert ReportRequest.objects.count() == before

    with time_machine.travel(NOW, tick=False):
        issued = issue_report_now(user=None, kind="go_live", params={"sign_off": str(sign_off.pk)})
    assert IssuedReport.objects.filter(pk=issued.pk).exists()


def test_the_builder_refuses_what_names_no_sign_off():
    with pytest.raises(ReportParameterError, match="not a go-live sign-off id"):
        render_report("go_live", {"sign_off": "x"}, report_id="r", generated_at=NOW)
