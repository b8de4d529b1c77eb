"""The compliance officer's path in a real browser, for each report type: order it from the admin
home on its own small form (the case dossier by the case's short id), wait for it to be ready,
download the PDF, check the download on "Verify a PDF" and read "Genuine", then check a copy
with one byte changed and see it refused. Each check is a "report.verified" ledger event."""

import datetime
import hashlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.utils import timezone
from playwright.sync_api import expect

from audit.models import AuditEvent
from oversight.models import IssuedReport, ReportKind, ReportRequest, ReportStatus
from oversight.roles import COMPLIANCE_OFFICER
from oversight.services.reports import generate_report
from tests.factories import AuthorityGrantFactory, CaseFactory, UserFactory

# serialized_rollback: the roles (groups) come from a data migration, which the flush after
# each transaction=True test would otherwise leave empty for the next one.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

DAY = datetime.timedelta(days=1)


def run_as_worker(task, *args):
    def work():
        try:
            return task(*args)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(work).result(timeout=60)


@pytest.fixture
def officer():
    user = UserFactory(username="olivia", first_name="Olivia", last_name="Officer", is_staff=True)
    user.groups.add(Group.objects.get(name=COMPLIANCE_OFFICER))
    return user


@pytest.fixture
def case():
    """One case a week old, on a grant held for a month: something for every report to show."""
    case = CaseFactory(journey__name="Refunds", journey__ai_system__name="Support assistant")
    AuthorityGrantFactory(
        journey=case.journey,
        level=case.required_level,
        valid_from=timezone.now() - 30 * DAY,
    )
    return case


def yesterday() -> str:
    return (timezone.localdate() - DAY).isoformat()


def fill_oversight(page, case):
    page.get_by_label("AI system").select_option(label=str(case.journey.ai_system))
    page.get_by_label("Period from").fill((timezone.localdate() - 30 * DAY).isoformat())
    page.get_by_label("Period to").fill(timezone.localdate().isoformat())
    return {"system": case.journey.ai_system.slug}


def fill_authority(page, case):
    page.get_by_label("As of").fill(yesterday())
    return {"as_of": yesterday()}


def fill_literacy(page, case):
    page.get_by_label("As of").fill(yesterday())
    return {"as_of": yesterday(), "system": None, "team": None}


def fill_dossier(page, case):
    page.get_by_label("Case").fill(str(case.pk)[:8])  # the short id shown everywhere
    return {"case": str(case.pk)}


# (report type, the button on the admin home, the form's heading, what fills it in)
REPORTS = [
    (ReportKind.OVERSIGHT, "Oversight report", "Order an oversight report", fill_oversight),
    (ReportKind.AUTHORITY, "Authority register", "Order an authority register", fill_authority),
    (ReportKind.LITERACY, "AI-literacy register", "Order an AI-literacy register", fill_literacy),
    (ReportKind.DOSSIER, "Case dossier", "Order a case dossier", fill_dossier),
]


def verify(page, name: str, content: bytes):
    page.locator('input[type="file"]').set_input_files(
        files=[{"name": name, "mimeType": "application/pdf", "buffer": content}]
    )
    page.get_by_role("button", name="Verify").click()


def tampered(content: bytes) -> bytes:
    """The same PDF with one byte of its body changed."""
    middle = len(content) // 2
    return content[:middle] + bytes([content[middle] ^ 0x01]) + content[middle + 1 :]


@pytest.mark.parametrize(
    ("kind", "button", "heading", "fill"), REPORTS, ids=[kind.value for kind, *_ in REPORTS]
)
def test_the_officer_orders_downloads_and_verifies_each_report(
    page, live_server, sign_in, officer, case, kind, button, heading, fill
):
    sign_in(page, "olivia")

    page.locator(".compliance-home").get_by_role("link", name=button, exact=True).click()
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expected_params = fill(page, case)
    page.get_by_role("button", name="Order this report").click()
    expect(page.get_by_text("Ordered: ")).to_be_visible()
    expect(page.get_by_text("This page reloads every 3 seconds.")).to_be_visible()

    ordered = ReportRequest.objects.get()
    assert ordered.kind == kind
    assert ordered.requested_by == officer
    assert {key: ordered.params.get(key) for key in expected_params} == expected_params
    assert ordered.status == ReportStatus.QUEUED
    assert IssuedReport.objects.count() == 0

    # The live server runs no task worker: do the queued task's job, in a thread of its own as
    # a worker would (signing runs its own event loop, which Playwright's would block here).
    assert run_as_worker(generate_report, ordered.pk) is not None
    ordered.refresh_from_db()
    assert ordered.status == ReportStatus.DONE
    issued = IssuedReport.objects.get()
    assert (issued.kind, issued.request) == (kind, ordered)

    # The page reloads itself every 3 seconds until the report is ready.
    status = page.locator(".report-status")
    expect(status.get_by_text("Ready.")).to_be_visible(timeout=10_000)
    download_button = status.get_by_role("link", name="Download PDF")
    expect(download_button).to_be_in_viewport()
    with page.expect_download() as download_info:
        download_button.click()
    download = download_info.value
    name = download.suggested_filename
    assert name.endswith(".pdf")
    content = download.path().read_bytes()
    assert content.startswith(b"%PDF-")
    assert hashlib.sha256(content).hexdigest() == issued.sha256

    # The download, as issued: genuine, naming the report.
    status.get_by_role("link", name="Verify a copy").click()
    expect(page.get_by_role("heading", name="Verify a PDF")).to_be_visible()
    verify(page, name, content)
    expect(page.locator(".verdict-headline")).to_contain_text("Genuine:")
    expect(page.locator(".verdict")).to_contain_text(issued.title)
    expect(page.locator(".verdict")).to_contain_text(issued.sha256)

    # One byte changed: refused, and the page says so.
    verify(page, name, tampered(content))
    expect(page.locator(".verdict.verdict-bad")).to_be_visible()
    expect(page.locator(".verdict-headline")).not_to_contain_text("Genuine:")

    checks = list(
        AuditEvent.objects.filter(action="report.verified")
        .order_by("sequence")
        .values_list("actor_user", "payload")
    )
    assert [(user, payload["verdict"]) for user, payload in checks] == [
        (officer.pk, "issued"),
        (officer.pk, checks[1][1]["verdict"]),
    ]
    assert checks[1][1]["verdict"] in {"copy", "foreign"}
