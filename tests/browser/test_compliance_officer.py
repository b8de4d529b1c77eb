"""The compliance officer's path in a real browser: order an authority register from the admin
home, download the finished PDF, check the download on "Verify a PDF" and read "Genuine"."""

import datetime
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.utils import timezone
from playwright.sync_api import expect

from oversight.models import ReportRequest
from oversight.roles import COMPLIANCE_OFFICER
from oversight.services.reports import generate_report
from tests.factories import AuthorityGrantFactory, UserFactory

# serialized_rollback: the roles (groups) come from a data migration, which the flush after
# each transaction=True test would otherwise leave empty for the next one.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


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


def test_the_officer_orders_downloads_and_verifies_an_authority_register(
    page, live_server, sign_in, officer
):
    AuthorityGrantFactory(valid_from=timezone.now() - datetime.timedelta(days=30))
    as_of = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    sign_in(page, "olivia")

    home = page.locator(".compliance-home")
    home.get_by_role("link", name="Authority register").click()
    expect(page.get_by_role("heading", name="Order an authority register")).to_be_visible()
    page.get_by_label("As of").fill(as_of)
    page.get_by_role("button", name="Order this report").click()
    expect(page.get_by_text("Ordered: ")).to_be_visible()
    expect(page.get_by_text("This page reloads every 3 seconds.")).to_be_visible()

    # The live server runs no task worker: do the queued task's job, in a thread of its own as
    # a worker would (signing runs its own event loop, which Playwright's would block here).
    ordered = ReportRequest.objects.get()
    assert run_as_worker(generate_report, ordered.pk) is not None
    page.reload()

    status = page.locator(".report-status")
    expect(status.get_by_text("Ready.")).to_be_visible()
    download_button = status.get_by_role("link", name="Download PDF")
    expect(download_button).to_be_in_viewport()
    with page.expect_download() as download_info:
        download_button.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    saved = download.path()
    assert saved.read_bytes().startswith(b"%PDF-")

    status.get_by_role("link", name="Verify a copy").click()
    expect(page.get_by_role("heading", name="Verify a PDF")).to_be_visible()
    page.locator('input[type="file"]').set_input_files(
        files=[
            {
                "name": download.suggested_filename,
                "mimeType": "application/pdf",
                "buffer": saved.read_bytes(),
            }
        ]
    )
    page.get_by_role("button", name="Verify").click()
    expect(page.locator(".verdict-headline")).to_contain_text("Genuine:")
    expect(page.locator(".verdict")).to_contain_text("Authority register")
