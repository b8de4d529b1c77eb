"""No text is ever clipped: each of the four reports, drawn with long names, long unbroken
tokens and many rows, keeps every character inside the page and its margins, prints every long
name whole, and never leaves a heading as the last thing on a page (read with pdfplumber)."""

import datetime
import io
import os
import re

import pdfplumber
import pytest
import time_machine

from oversight.models import CaseStatus
from oversight.reports.rendering import render_report
from oversight.services.automation import pause_journey, resume_journey
from tests.factories import (
    AISystemFactory,
    AuthorityGrantFactory,
    AuthorityLevelFactory,
    CaseFactory,
    DecisionFactory,
    GateEvaluationFactory,
    JourneyFactory,
    JudgementPointFactory,
    OverrideReasonFactory,
    SuperUserFactory,
    TrainingCompletionFactory,
    TrainingModuleFactory,
    TrainingModuleVersionFactory,
    TrainingRequirementFactory,
    TriggerConditionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

MM = 72 / 25.4  # PDF points per millimetre
SIDE_MARGIN = 18 * MM  # report.css @page margin, left and right
TOLERANCE = 0.5  # points: glyph side bearings
REPORT_ID = "5e1f0c4d-0000-4000-8000-000000000c11"
GENERATED = datetime.datetime(2026, 6, 2, 9, 0, tzinfo=datetime.UTC)

SYSTEM = "Customer refunds, billing disputes and goodwill gestures assistant (Northern Europe)"
JOURNEY = "Refunds above the monthly limit for customers in collections with disputed charges"
JOURNEY_2 = "Identity verification after repeated failed logins from unrecognised devices"
POINT = "Irreversible refund above the customer's lifetime value with a prior fraud flag"
LEVEL = "Senior reviewer with approval authority for irreversible actions"
MODULE = "Data protection for reviewers"
MODULE_LONG = (
    "Understanding automation bias, rubber-stamping and the limits of confidence scores in "
    "customer service decisions"
)
TOKEN = "Datenschutzgrundverordnungsbeauftragtenschulungsnachweisdokumentation2026"
REASON = "Policy exception agreed with the head of customer operations for vulnerable customers"
LONG_USER = "reviewer.with.a.very.long.unbroken.username.from.the.identity.provider"
RATIONALE = (
    "Refunded in full: the customer is vulnerable and the charge is disputed. See "
    "https://tickets.example.com/customer-operations/refunds/escalations/2026/05/"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
)

LONG_NAMES = [SYSTEM, JOURNEY, JOURNEY_2, POINT, LEVEL, MODULE, MODULE_LONG, TOKEN, LONG_USER]


def at(day: int, hour: int = 10, month: int = 5) -> datetime.datetime:
    return datetime.datetime(2026, month, day, hour, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def utc(settings):
    settings.TIME_ZONE = "UTC"


@pytest.fixture
def world():
    """One AI system with long names everywhere, 45 grants, overrides and a paused journey."""
    with time_machine.travel(at(1, month=4), tick=False):
        boss = SuperUserFactory(username="boss", first_name="Mia", last_name="Manager")
        system = AISystemFactory(slug="refund-assistant", name=SYSTEM, owner=boss)
        journey = JourneyFactory(ai_system=system, slug="refunds", name=JOURNEY)
        journey_2 = JourneyFactory(ai_system=system, slug="identity", name=JOURNEY_2)
        level = AuthorityLevelFactory(name=LEVEL, rank=2, may_override=True)
        point = JudgementPointFactory(
            journey=journey, slug="irreversible", name=POINT, required_level=level
        )
        TriggerConditionFactory(judgement_point=point, signal=TOKEN.lower()[:60], value=0.7)
        modules = [
            TrainingModuleVersionFactory(
                module=TrainingModuleFactory(slug=f"m{n}", title=title),
                published_on=datetime.date(2026, 1, 1),
            )
            for n, title in enumerate([MODULE, MODULE_LONG, TOKEN])
        ]
        for version in modules:
            TrainingRequirementFactory(module=version.module, authority_level=level)
        people = []
        for n in range(45):
            user = UserFactory(
                username=f"{LONG_USER}{n:02d}" if n % 3 == 0 else f"reviewer{n:02d}",
                first_name="Maximiliane-Friederike" if n % 2 else "Ada",
                last_name="Oberlandesgerichtspräsidentenstellvertreterin" if n % 2 else "Lovelace",
            )
            people.append(user)
            if n % 4:  # a quarter miss every module: the training column holds long lists
                TrainingCompletionFactory(
                    user=user, module_version=modules[0], completed_on=datetime.date(2026, 3, 1)
                )
            AuthorityGrantFactory(
                user=user,
                level=level,
                journey=journey if n % 2 else journey_2,
                granted_by=boss,
                valid_from=at(1, month=4),
                justification=f"Covers the queue; evidence {TOKEN}",
                sync_permissions=False,
            )
        reason = OverrideReasonFactory(code="policy", label=REASON)
    for n in range(12):
        with time_machine.travel(at(2 + n), tick=False):
            evaluation = GateEvaluationFactory(
                journey=journey,
                route="human",
                matched=[
                    {
                        "judgement_point": str(point.pk),
                        "slug": point.slug,
                        "version": 1,
                        "combinator": "all",
                        "fired": [{"signal": TOKEN, "operator": "lt", "value": 0.7, "actual": 0.2}],
                    }
                ],
            )
            case = CaseFactory(
                journey=journey,
                evaluation=evaluation,
                required_level=level,
                opened_at=at(2 + n),
                context={TOKEN: TOKEN * 3, "note": RATIONALE},
                status=CaseStatus.DECIDED,
                decided_at=at(2 + n, 11),
            )
            case.judgement_points.add(point)
            DecisionFactory(
                case=case,
                reviewer=people[n],
                authority_level=level,
                outcome="modify",
                is_override=True,
                override_reason=reason,
                rationale=RATIONALE,
                decided_at=at(2 + n, 11),
            )
    with time_machine.travel(at(20, 9), tick=False):
        pause_journey(journey=journey, by=boss, reason=f"Refund errors reported: {TOKEN}")
    with time_machine.travel(at(20, 11), tick=False):
        resume_journey(journey=journey, by=boss, note=RATIONALE)
    return {"system": system, "case": case, "people": people}


def render(kind: str, params: dict) -> bytes:
    with time_machine.travel(GENERATED, tick=False):
        pdf = render_report(kind, params, report_id=REPORT_ID, generated_at=GENERATED).pdf
    if os.environ.get("REPORT_LAYOUT_DIR"):  # to look at the pages: pdftoppm -png -r 60
        with open(os.path.join(os.environ["REPORT_LAYOUT_DIR"], f"{kind}.pdf"), "wb") as out:
            out.write(pdf)
    return pdf


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def assert_nothing_clipped(pdf: bytes, names: list[str]) -> None:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        text = ""
        for number, page in enumerate(document.pages, start=1):
            outside = [
                c["text"]
                for c in page.chars
                if c["x0"] < SIDE_MARGIN - TOLERANCE
                or c["x1"] > page.width - SIDE_MARGIN + TOLERANCE
                or c["top"] < 0
                or c["bottom"] > page.height
            ]
            assert not outside, f"page {number}: {''.join(outside)[:200]!r} outside the margins"
            # In content-stream order a table cell's wrapped lines stay together.
            text += "".join(c["text"] for c in page.chars)
            assert_no_heading_at_the_foot(page, number)
    whole = squeeze(text)
    for name in names:
        assert squeeze(name) in whole, f"{name!r} is not printed whole"


def assert_no_heading_at_the_foot(page, number: int) -> None:
    """The body's last line (above the footer margin) is not a section heading (h2 or h3)."""
    body = [c for c in page.chars if c["bottom"] < page.height - 26 * MM and c["top"] > 30 * MM]
    if not body:
        return
    last_top = max(round(c["top"]) for c in body)
    last_line = [c for c in body if abs(round(c["top"]) - last_top) <= 2]
    heading = all(c["size"] >= 9.9 and not c["text"].isdigit() for c in last_line) and any(
        "Bold" in c["fontname"] or c["size"] > 13 for c in last_line
    )
    line = "".join(c["text"] for c in sorted(last_line, key=lambda c: c["x0"]))
    assert not heading, f"page {number} ends with the heading {line!r}"


def test_the_oversight_report_keeps_every_character_on_the_page(world):
    pdf = render(
        "oversight", {"system": "refund-assistant", "start": "2026-05-01", "end": "2026-05-31"}
    )

    assert_nothing_clipped(pdf, [*LONG_NAMES, REASON, f"not current: {MODULE}"])


def test_the_authority_register_keeps_every_character_on_the_page(world):
    pdf = render("authority", {"as_of": "2026-05-31"})

    assert_nothing_clipped(pdf, [SYSTEM, JOURNEY, JOURNEY_2, LEVEL, MODULE, MODULE_LONG, TOKEN])


def test_the_literacy_register_keeps_every_character_on_the_page(world):
    pdf = render("literacy", {"as_of": "2026-05-31"})

    assert_nothing_clipped(pdf, [SYSTEM, LEVEL, MODULE, MODULE_LONG, TOKEN, LONG_USER])


def test_the_case_dossier_keeps_every_character_on_the_page(world):
    pdf = render("dossier", {"case": str(world["case"].pk)})

    assert_nothing_clipped(pdf, [SYSTEM, JOURNEY, POINT, LEVEL, TOKEN, REASON])


def test_the_check_itself_sees_text_beyond_the_margin():
    """The assertion can fail: a line wider than the page is caught."""
    import weasyprint

    pdf = weasyprint.HTML(
        string=f"<style>@page {{ size: A4; margin: 18mm }}</style><p style='white-space: nowrap'>"
        f"{TOKEN * 4}</p>"
    ).write_pdf()

    with pytest.raises(AssertionError, match="outside the margins"):
        assert_nothing_clipped(pdf, [])


def test_the_check_itself_sees_a_heading_at_the_foot():
    import weasyprint

    html = (
        "<style>@page { size: A4; margin: 30mm 18mm 26mm 18mm } h2 { font-size: 13.5pt }</style>"
        "<p>Some text.</p><h2 style='break-after: page'>Lonely heading</h2><p>Its section.</p>"
    )
    pdf = weasyprint.HTML(string=html).write_pdf()

    with (
        pytest.raises(AssertionError, match="ends with the heading 'Lonely heading'"),
        pdfplumber.open(io.BytesIO(pdf)) as document,
    ):
        for number, page in enumerate(document.pages, start=1):
            assert_no_heading_at_the_foot(page, number)


def test_a_section_heading_and_its_caption_move_with_the_chart_they_introduce():
    """Seen on a demo oversight report: "8. Trends" and its one-line caption ended page 6 and
    the chart began page 7. Wherever the section falls, heading, caption and chart share a page."""
    import pathlib

    import weasyprint

    css = pathlib.Path("static/reports/report.css").read_text()
    section = (
        "<section><h2>8. Trends</h2><p class='note'>Per day; a day without calls or decisions"
        " leaves a gap.</p><div class='chart'><div style='height: 70mm'>CHARTBODY</div></div>"
        "</section>"
    )
    for lines in range(20, 75, 3):
        filler = "".join(f"<p>Filler line {n}.</p>" for n in range(lines))
        pdf = weasyprint.HTML(
            string=f"<html><head><style>{css}</style></head><body>{filler}{section}</body></html>"
        ).write_pdf()
        with pdfplumber.open(io.BytesIO(pdf)) as document:
            pages = [squeeze(page.extract_text() or "") for page in document.pages]
        [heading_page] = [n for n, text in enumerate(pages) if "8.Trends" in text]
        assert "CHARTBODY" in pages[heading_page], f"with {lines} lines the chart left its heading"
