"""The reports admin: request through the form, watch the progress, download the issued PDF."""

import datetime
import hashlib

import pytest
import time_machine
from django.contrib.auth.models import Group

from audit.models import AuditEvent
from oversight.models import IssuedReport, ReportRequest
from oversight.roles import COMPLIANCE_OFFICER, REVIEWER
from oversight.tasks import generate_report
from tests.factories import (
    AISystemFactory,
    IssuedReportFactory,
    ReportRequestFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 6, 15, 9, 30, tzinfo=datetime.UTC)
REQUESTS = "/admin/oversight/reportrequest/"
ADD = REQUESTS + "add/"
ISSUED = "/admin/oversight/issuedreport/"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as clock:
        yield clock


def person(role):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def officer(client):
    user = person(COMPLIANCE_OFFICER)
    client.force_login(user)
    return user


def download_url(report_id) -> str:
    return f"{ISSUED}{report_id}/download/"


def test_a_compliance_officer_requests_watches_and_downloads_a_report(
    client, officer, task_queue, django_capture_on_commit_callbacks, frozen
):
    AISystemFactory(slug="refund-bot", name="Refund bot")
    assert client.get(ADD).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            ADD,
            {
                "kind": "oversight",
                "ai_system": "refund-bot",
                "start": "2026-05-01",
                "end": "2026-05-31",
            },
        )

    request = ReportRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{REQUESTS}{request.pk}/change/"
    assert (request.requested_by, request.requested_via, request.params) == (
        officer,
        "admin",
        {"system": "refund-bot", "start": "2026-05-01", "end": "2026-05-31"},
    )
    frozen.shift(1)  # the ORM broker hands out tasks queued strictly before now
    [queued] = task_queue.take_all()

    # Queued: the page shows it and reloads itself.
    page = client.get(response["Location"]).content.decode()
    assert '<meta http-equiv="refresh" content="3">' in page
    assert "Queued: 0 %" in page

    # Running, part way: the progress shows in the list and on the page.
    ReportRequest.objects.filter(pk=request.pk).update(
        status="running", progress=40, progress_message="Collecting data"
    )
    page = client.get(response["Location"]).content.decode()
    assert "Running: 40 % — Collecting data" in page
    listing = client.get(REQUESTS).content.decode()
    assert '<progress value="40" max="100"' in listing
    ReportRequest.objects.filter(pk=request.pk).update(status="queued", progress=0)

    # The worker runs the task with the real renderer.
    generate_report(*queued["args"])
    issued = IssuedReport.objects.get()
    page = client.get(response["Location"]).content.decode()
    assert 'http-equiv="refresh"' not in page
    assert download_url(issued.pk) in page
    assert download_url(issued.pk) in client.get(REQUESTS).content.decode()

    download = client.get(download_url(issued.pk))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith('attachment; filename="')
    assert download["Content-Disposition"].endswith(f'-{str(issued.pk)[:8]}.pdf"')
    assert download.content == bytes(issued.content)
    assert download.content.startswith(b"%PDF")
    assert hashlib.sha256(download.content).hexdigest() == issued.sha256
    taken = AuditEvent.objects.get(action="report.downloaded")
    assert (taken.actor_label, taken.object_id) == (officer.username, str(issued.pk))
    assert taken.payload["sha256"] == issued.sha256


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"kind": "oversight", "start": "2026-05-01", "end": "2026-05-31"},
            "ai_system",
            "Choose the AI system the oversight report is about.",
        ),
        (
            {"kind": "oversight", "ai_system": "refund-bot", "end": "2026-05-31"},
            "start",
            "Give the first day of the period.",
        ),
        (
            {
                "kind": "oversight",
                "ai_system": "refund-bot",
                "start": "2026-05-31",
                "end": "2026-05-01",
            },
            "end",
            "The period must end on or after its first day.",
        ),
        ({"kind": "authority"}, "as_of", "Give the day the authority register shows."),
        (
            {"kind": "literacy", "team": "Nobody"},
            "team",
            "Select a valid choice. That choice is not one of the available choices.",
        ),
        ({"kind": "dossier", "case": "12"}, "case", "Enter a valid UUID."),
    ],
)
def test_the_form_asks_for_what_the_report_type_needs_and_creates_nothing(
    client, officer, data, field, message
):
    AISystemFactory(slug="refund-bot")

    response = client.post(ADD, data)

    assert response.status_code == 200
    assert message in response.context["form"].errors[field]
    assert ReportRequest.objects.count() == AuditEvent.objects.count() == 0


def test_a_refusal_of_the_service_shows_on_the_form(client, officer):
    response = client.post(ADD, {"kind": "authority", "as_of": "2026-07-01"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "The as-of date 2026-07-01 is in the future."
    ]
    assert ReportRequest.objects.count() == 0


def test_a_reviewer_may_not_request_see_or_download_reports(client):
    report = IssuedReportFactory()
    client.force_login(person(REVIEWER))

    assert client.get(ADD).status_code == 403
    assert client.post(ADD, {"kind": "authority", "as_of": "2026-06-01"}).status_code == 403
    assert client.get(REQUESTS).status_code == 403
    assert client.get(ISSUED).status_code == 403
    assert client.get(download_url(report.pk)).status_code == 403
    assert not AuditEvent.objects.filter(action="report.downloaded").exists()
    assert ReportRequest.objects.count() == 1  # only the factory's


def test_a_missing_report_is_not_found(client, officer):
    assert client.get(download_url("00000000-0000-0000-0000-000000000001")).status_code == 404


def test_issued_reports_are_view_only(client, officer):
    report = IssuedReportFactory()

    assert client.get(f"{ISSUED}{report.pk}/change/").status_code == 200
    assert client.post(f"{ISSUED}{report.pk}/change/", {"title": "Forged"}).status_code == 403
    assert client.get(f"{ISSUED}add/").status_code == 403
    assert client.get(f"{ISSUED}{report.pk}/delete/").status_code == 403
    assert client.post(f"{REQUESTS}{report.request.pk}/change/", {}).status_code == 403
    assert IssuedReport.objects.get().title == report.title


def test_the_download_file_name_is_safe_whatever_the_title(client, officer):
    report = IssuedReportFactory(title='../../etc/"passwd"\r\nX-Evil: 1', subtitle="Mai–Juni")

    response = client.get(download_url(report.pk))

    assert response["Content-Disposition"] == (
        f'attachment; filename="etcpasswd-x-evil-1-maijuni-{str(report.pk)[:8]}.pdf"'
    )


def test_the_request_list_runs_a_fixed_number_of_queries(
    client, officer, django_assert_max_num_queries
):
    for _ in range(3):
        IssuedReportFactory()
    for status in ["queued", "running", "failed"]:
        ReportRequestFactory(status=status)
    client.get(REQUESTS)  # warm caches (content types, session)

    # Session, user, 2 permissions, 2 counts, the page, 2 for the date hierarchy.
    with django_assert_max_num_queries(9):
        response = client.get(REQUESTS)

    assert response.context["cl"].result_count == 6


def test_the_issued_report_list_runs_a_fixed_number_of_queries_without_the_pdfs(
    client, officer, django_assert_max_num_queries
):
    for _ in range(5):
        IssuedReportFactory()
    client.get(ISSUED)

    with django_assert_max_num_queries(8) as captured:
        response = client.get(ISSUED)

    assert response.context["cl"].result_count == 5
    listing = [query["sql"] for query in captured if "oversight_issuedreport" in query["sql"]]
    assert not any('"content"' in sql for sql in listing)
