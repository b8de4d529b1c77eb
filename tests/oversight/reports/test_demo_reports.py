"""Each report renders for the demo data (what `make run` seeds), with real content in it."""

import datetime
import io
from io import StringIO

import pypdf
import pytest
from django.core.management import call_command
from django.utils import timezone

from oversight.demo import SYSTEM_SLUG
from oversight.models import Case, CaseStatus
from oversight.reports.rendering import render_report

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    call_command("seed_demo", stdout=StringIO())


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def render(kind, params):
    rendered = render_report(
        kind, params, report_id="demo-report", generated_at=timezone.now(), progress=None
    )
    assert rendered.pdf.startswith(b"%PDF")
    return rendered, text_of(rendered.pdf)


def test_the_oversight_report_of_the_demo_system(demo):
    today = timezone.localdate()
    start = (today - datetime.timedelta(days=90)).isoformat()
    rendered, text = render(
        "oversight", {"system": SYSTEM_SLUG, "start": start, "end": today.isoformat()}
    )
    assert rendered.page_count >= 3
    assert "No gate calls or cases in this period" not in text
    assert "Log integrity" in text
    assert f"Page 1 of {rendered.page_count}" in text


def test_the_registers_of_the_demo_organisation(demo):
    today = timezone.localdate().isoformat()
    authority, authority_text = render("authority", {"as_of": today})
    assert "No authority was in force" not in authority_text
    literacy, literacy_text = render("literacy", {"as_of": today, "system": None, "team": None})
    assert "Nobody was required" not in literacy_text
    assert authority.page_count >= 1 and literacy.page_count >= 1


def test_the_dossier_of_a_decided_demo_case(demo):
    case = Case.objects.filter(status=CaseStatus.DECIDED).order_by("opened_at").first()
    rendered, text = render("dossier", {"case": str(case.pk)})
    assert str(case.pk) in text.replace("\n", "")
    assert rendered.ledger_sequence > 0
