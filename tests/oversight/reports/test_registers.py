"""The authority and AI-literacy registers as PDFs: figures, rows, empty registers, the frame."""

import datetime
import hashlib
import io
import json
import uuid

import pypdf
import pytest
import time_machine
from django.core.serializers.json import DjangoJSONEncoder

from audit.services.ledger import Actor, append_event, ledger_head
from oversight.reports.rendering import ReportParameterError, render_report
from tests.factories import (
    AISystemFactory,
    AuthorityGrantFactory,
    AuthorityLevelFactory,
    JourneyFactory,
    TrainingCompletionFactory,
    TrainingModuleFactory,
    TrainingModuleVersionFactory,
    TrainingRequirementFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 6, 1, 12, tzinfo=datetime.UTC)
REPORT_ID = "3f2b8c1e-0000-4000-8000-000000000001"


@pytest.fixture(autouse=True)
def today_is_1_june_2026(settings):
    settings.TIME_ZONE = "UTC"
    with time_machine.travel(NOW, tick=False):
        yield


def render(kind, params, **kwargs):
    return render_report(kind, params, report_id=REPORT_ID, generated_at=NOW, **kwargs)


def pages_text(pdf: bytes) -> list[str]:
    """Each page's text with runs of whitespace (line wraps in table cells) made one space."""
    return [
        " ".join(page.extract_text().split()) for page in pypdf.PdfReader(io.BytesIO(pdf)).pages
    ]


@pytest.fixture
def world():
    """Refund bot: Ada (trained) on the Refunds journey, Bob (untrained) on the whole system,
    both granted by Mia; the Reviewer level requires 'Oversight basics'."""
    level = AuthorityLevelFactory(name="Reviewer", rank=1)
    version = TrainingModuleVersionFactory(
        module=TrainingModuleFactory(title="Oversight basics"),
        published_on=datetime.date(2025, 1, 1),
    )
    TrainingRequirementFactory(module=version.module, authority_level=level)
    system = AISystemFactory(name="Refund bot", slug="refund-bot")
    refunds = JourneyFactory(ai_system=system, name="Refunds", slug="refunds")
    mia = UserFactory(username="mia", first_name="Mia", last_name="Manager")
    ada = UserFactory(username="ada", first_name="Ada", last_name="Lovelace")
    bob = UserFactory(username="bob")
    AuthorityGrantFactory(
        user=ada,
        level=level,
        journey=refunds,
        granted_by=mia,
        valid_from=datetime.datetime(2026, 5, 1, 9, tzinfo=datetime.UTC),
        valid_until=datetime.datetime(2026, 12, 31, tzinfo=datetime.UTC),
        justification="Handles the refunds queue.",
        sync_permissions=False,
    )
    AuthorityGrantFactory(
        user=bob,
        level=level,
        journey=None,
        ai_system=system,
        granted_by=mia,
        valid_from=datetime.datetime(2026, 5, 15, 8, 30, tzinfo=datetime.UTC),
        justification="<b>Cover</b> for holidays.",
        sync_permissions=False,
    )
    TrainingCompletionFactory(
        user=ada, module_version=version, completed_on=datetime.date(2026, 3, 1)
    )
    AISystemFactory(name="Chat bot", slug="chat-bot")
    return system


# --- authority register ----------------------------------------------------------------------


def test_authority_register_lists_each_grant_in_force_with_its_training(world):
    append_event(actor=Actor.system(), action="test.event", object_type="test", object_id="1")
    progress = []

    report = render("authority", {"as_of": "2026-06-01"}, progress=lambda *a: progress.append(a))

    text = pages_text(report.pdf)
    body = " ".join(text)
    assert report.title == "Authority register"
    assert report.subtitle == "As of 2026-06-01 (end of day)"
    assert (
        "At the end of 2026-06-01, 2 people held 2 grants of authority on 1 AI system. "
        "1 grant was held without the level's required training current or its system "
        "briefing acknowledged." in body
    )
    assert (
        "bob Reviewer Every journey Mia Manager (mia) 2026-05-15 08:30 until revoked "
        "<b>Cover</b> for holidays. No missing: Oversight basics" in body
    )
    assert (
        "Ada Lovelace (ada) Reviewer Refunds Mia Manager (mia) 2026-05-01 09:00 "
        "2026-12-31 00:00 Handles the refunds queue. Yes" in body
    )
    assert "Chat bot" not in body  # nobody held authority there
    assert (report.ledger_sequence, report.ledger_hash) == ledger_head()
    assert report.ledger_sequence == 1
    assert f"event #1 · {report.ledger_hash}" in text[0]
    assert [p for p, _ in progress] == sorted(p for p, _ in progress)
    assert progress[0][0] < progress[-1][0] == 100


def test_every_page_has_the_frame_page_x_of_y_report_id_and_generation_time(world):
    report = render("authority", {"as_of": "2026-06-01"})

    text = pages_text(report.pdf)
    assert report.page_count == len(text) >= 2
    for number, page in enumerate(text, start=1):
        assert f"Page {number} of {report.page_count}" in page
        assert f"Report {REPORT_ID} · generated 2026-06-01 12:00 UTC" in page
    assert "Authority register As of 2026-06-01 (end of day)" in text[1]  # running header


def test_pdf_metadata_names_the_report(world):
    report = render("authority", {"as_of": "2026-06-01"})

    metadata = pypdf.PdfReader(io.BytesIO(report.pdf)).metadata
    assert metadata.title == "Authority register"
    assert metadata.author == "HITL Oversight"
    assert REPORT_ID in metadata.subject
    assert REPORT_ID in metadata["/Keywords"]


def test_data_fingerprint_is_the_sha256_of_the_canonical_figures_and_is_reproducible(world):
    first = render("authority", {"as_of": "2026-06-01"})
    second = render("authority", {"as_of": "2026-06-01"})

    assert first.data_sha256 == second.data_sha256
    assert f"SHA-256 {first.data_sha256}" in pages_text(first.pdf)[0]
    from oversight.reports.registers import build_authority

    data = build_authority({"as_of": "2026-06-01"}).data
    canonical = json.dumps(
        data, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    assert first.data_sha256 == hashlib.sha256(canonical.encode()).hexdigest()
    assert data["figures"] == {
        "grants": 2,
        "people": 2,
        "ai_systems": 1,
        "training_not_current": 1,
    }


def test_authority_register_before_any_grant_says_so_in_a_sentence(world):
    report = render("authority", {"as_of": "2026-01-01"})

    body = " ".join(pages_text(report.pdf))
    assert "No authority was in force on 2026-01-01." in body
    assert "Granted by" not in body  # no empty table


def test_authority_register_of_an_empty_database(db):
    report = render("authority", {"as_of": "2026-06-01"})

    assert "No authority was in force on 2026-06-01." in " ".join(pages_text(report.pdf))
    assert report.ledger_sequence == 0


# --- AI-literacy register --------------------------------------------------------------------


def test_literacy_register_lists_people_items_and_coverage(world):
    report = render("literacy", {"as_of": "2026-06-01", "system": None, "team": None})

    body = " ".join(pages_text(report.pdf))
    assert report.title == "AI-literacy register"
    assert (
        "At the end of 2026-06-01, 2 people were required to hold AI-literacy training or "
        "oversaw an AI system; 1 of them held everything required current." in body
    )
    assert "Chat bot 0 0 no overseers" in body
    assert "Refund bot 2 1 50.0 %" in body
    assert (
        "Oversight basics: current, completed 2026-03-01, expires 2027-03-01 "
        "required by level Reviewer" in body
    )
    assert "Oversight basics: missing required by level Reviewer No" in body
    assert "<svg" not in body  # the coverage chart is drawn, not printed as text


def test_literacy_register_for_one_ai_system_nobody_oversees(world):
    report = render("literacy", {"as_of": "2026-06-01", "system": "chat-bot", "team": None})

    body = " ".join(pages_text(report.pdf))
    assert report.subtitle == "As of 2026-06-01 (end of day) · Chat bot"
    assert (
        "Nobody in Chat bot was required to hold AI-literacy training or oversaw an AI system "
        "on 2026-06-01." in body
    )
    assert "Chat bot 0 0 no overseers" in body
    assert "Refund bot" not in body


def test_literacy_register_of_an_empty_database(db):
    report = render("literacy", {"as_of": "2026-06-01"})

    body = " ".join(pages_text(report.pdf))
    assert (
        "Nobody was required to hold AI-literacy training or oversaw an AI system on "
        "2026-06-01." in body
    )
    assert "No AI system is registered." in body


# --- parameters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("authority", {}, "The as-of date is required (YYYY-MM-DD)."),
        ("authority", {"as_of": "01/06/2026"}, "The as-of date '01/06/2026' is not YYYY-MM-DD."),
        ("authority", {"as_of": "2026-02-30"}, "The as-of date '2026-02-30' is not a calendar"),
        ("literacy", {"as_of": "2026-06-01", "system": "nope"}, "There is no AI system 'nope'."),
        ("literacy", {"as_of": "2026-06-01", "team": "Pilots"}, "There is no team (role) named"),
        ("payroll", {}, "There is no report of kind 'payroll'."),
    ],
)
def test_bad_parameters_are_refused_with_a_clear_message(db, kind, params, message):
    with pytest.raises(ReportParameterError) as refused:
        render(kind, params)

    assert str(refused.value).startswith(message)
    assert isinstance(refused.value, ValueError)


def test_report_id_may_be_a_uuid(world):
    report_id = uuid.uuid4()

    report = render_report(
        "authority", {"as_of": "2026-06-01"}, report_id=report_id, generated_at=NOW
    )

    assert str(report_id) in pages_text(report.pdf)[0]


def test_coverage_prints_one_share_in_the_chart_and_the_table(world):
    """The chart printed "71.4 %" above a table saying "71 %": one rounding rule now."""
    from django.template.loader import render_to_string

    from oversight.reports.registers import build_literacy

    document = build_literacy({"as_of": "2026-06-01", "system": None, "team": None})
    chart = str(document.context["coverage_chart"])
    html = render_to_string(document.template, {**document.context, "report": {}})
    for item in document.context["coverage"]:
        if item["share"] is None:
            continue
        printed = f"{item['share'] * 100:.1f} %"
        assert printed in chart
        assert f'<td class="num">{printed}</td>' in html
