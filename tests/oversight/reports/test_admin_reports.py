"""The reports admin: request through the form, watch the progress, download the issued PDF."""

import datetime
import hashlib
import uuid

import pytest
import time_machine
from django.contrib.auth.models import Group

from audit.models import AuditEvent
from oversight.models import IssuedReport, ReportRequest
from oversight.roles import COMPLIANCE_OFFICER, REVIEWER
from oversight.tasks import generate_report
from tests.factories import (
    AISystemFactory,
    CaseFactory,
    IssuedReportFactory,
    ReportRequestFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 6, 15, 9, 30, tzinfo=datetime.UTC)
REQUESTS = "/admin/oversight/reportrequest/"
ADD = REQUESTS + "add/"
ORDER = REQUESTS + "order/{}/"
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
            ORDER.format("oversight"),
            {
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
    assert download["Content-Disposition"] == (
        'attachment; filename="oversight-report_refund-bot_2026-05-01_2026-05-31_'
        f'{str(issued.pk)[:8]}.pdf"'
    )
    assert download.content == bytes(issued.content)
    assert download.content.startswith(b"%PDF")
    assert hashlib.sha256(download.content).hexdigest() == issued.sha256
    taken = AuditEvent.objects.get(action="report.downloaded")
    assert (taken.actor_label, taken.object_id) == (officer.username, str(issued.pk))
    assert taken.payload["sha256"] == issued.sha256


@pytest.mark.parametrize(
    ("kind", "data", "field", "message"),
    [
        (
            "oversight",
            {"start": "2026-05-01", "end": "2026-05-31"},
            "ai_system",
            "This field is required.",
        ),
        (
            "oversight",
            {"ai_system": "refund-bot", "end": "2026-05-31"},
            "start",
            "This field is required.",
        ),
        (
            "oversight",
            {"ai_system": "refund-bot", "start": "2026-05-31", "end": "2026-05-01"},
            "end",
            "The period must end on or after its first day.",
        ),
        ("authority", {}, "as_of", "This field is required."),
        (
            "literacy",
            {"as_of": "2026-06-01", "team": "Nobody"},
            "team",
            "Select a valid choice. That choice is not one of the available choices.",
        ),
        (
            "dossier",
            {"case": "12"},
            "case",
            "“12” is not a case id: give the 8-character short id shown with the case "
            "(e.g. c4e414fb) or its full id, or search below.",
        ),
    ],
)
def test_each_form_asks_for_what_its_report_needs_and_creates_nothing(
    client, officer, kind, data, field, message
):
    AISystemFactory(slug="refund-bot")

    response = client.post(ORDER.format(kind), data)

    assert response.status_code == 200
    assert message in response.context["form"].errors[field]
    assert ReportRequest.objects.count() == AuditEvent.objects.count() == 0


def test_a_refusal_of_the_service_shows_on_the_form(client, officer):
    response = client.post(ORDER.format("authority"), {"as_of": "2026-07-01"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "The as-of date 2026-07-01 is in the future."
    ]
    assert ReportRequest.objects.count() == 0


def test_a_reviewer_may_not_request_see_or_download_reports(client):
    report = IssuedReportFactory()
    client.force_login(person(REVIEWER))

    assert client.get(ADD).status_code == 403
    assert client.post(ORDER.format("authority"), {"as_of": "2026-06-01"}).status_code == 403
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


def test_the_download_file_name_is_built_from_safe_parts_whatever_the_title(client, officer):
    report = IssuedReportFactory(
        kind="authority",
        params={"as_of": "2026-06-01"},
        title='../../etc/"passwd"\r\nX-Evil: 1',
        subtitle="Mai–Juni",
    )

    response = client.get(download_url(report.pk))

    assert response["Content-Disposition"] == (
        f'attachment; filename="authority-register_2026-06-01_{str(report.pk)[:8]}.pdf"'
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


# One small form per report type (#16 point 5) ---------------------------------------------


def test_the_order_page_links_one_small_form_per_report_type(client, officer):
    listing = client.get(REQUESTS).content.decode()
    assert f'<a href="{ADD}" class="addlink">Order a report</a>' in listing
    page = client.get(ADD).content.decode()

    for kind in ["oversight", "authority", "literacy", "dossier"]:
        assert f'href="{ORDER.format(kind)}"' in page
    authority = client.get(ORDER.format("authority"))
    assert list(authority.context["form"].fields) == ["as_of"]
    dossier = client.get(ORDER.format("dossier"))
    assert list(dossier.context["form"].fields) == ["case"]
    assert list(client.get(ORDER.format("oversight")).context["form"].fields) == [
        "ai_system",
        "start",
        "end",
    ]
    assert client.get(ORDER.format("nonsense")).status_code != 200  # no such form


def test_a_dossier_is_ordered_by_the_short_id_shown_everywhere(client, officer):
    case = CaseFactory()

    response = client.post(ORDER.format("dossier"), {"case": str(case.pk)[:8].upper()})

    request = ReportRequest.objects.get()
    assert response.status_code == 302
    assert (request.kind, request.params) == ("dossier", {"case": str(case.pk)})
    assert AuditEvent.objects.filter(action="report.requested").count() == 1


def test_a_dossier_by_full_id_still_works(client, officer):
    case = CaseFactory()

    client.post(ORDER.format("dossier"), {"case": str(case.pk)})

    assert ReportRequest.objects.get().params == {"case": str(case.pk)}


def case_with_id(text: str):
    return CaseFactory(id=uuid.UUID(text))


def test_an_ambiguous_short_id_is_refused_with_the_candidates_and_nothing_is_ordered(
    client, officer
):
    first = case_with_id("c4e414fb-0000-4000-8000-000000000001")
    second = case_with_id("c4e414fb-0000-4000-8000-000000000002")
    events = AuditEvent.objects.count()

    response = client.post(ORDER.format("dossier"), {"case": "c4e414fb"})

    assert response.status_code == 200
    [message] = response.context["form"].errors["case"]
    assert message == (
        f"The short id c4e414fb names more than one case ({first.pk}, {second.pk}): give the "
        "full id, or search below and choose one."
    )
    assert ReportRequest.objects.count() == 0
    assert AuditEvent.objects.count() == events


def test_an_unknown_short_id_is_refused_and_nothing_is_ordered(client, officer):
    case_with_id("c4e414fb-0000-4000-8000-000000000001")
    events = AuditEvent.objects.count()

    response = client.post(ORDER.format("dossier"), {"case": "c4e414fc"})

    assert response.context["form"].errors["case"] == [
        "There is no case c4e414fc that you can see."
    ]
    assert ReportRequest.objects.count() == 0
    assert AuditEvent.objects.count() == events


def test_the_dossier_form_finds_cases_by_search_and_fills_the_chosen_one(client, officer):
    wanted = CaseFactory(subject_ref="cust-4711")
    CaseFactory(subject_ref="cust-0815")

    page = client.get(ORDER.format("dossier"), {"q": "cust-4711"})

    assert [case.pk for case in page.context["found"]] == [wanted.pk]
    assert f"?case={wanted.pk}" in page.content.decode()
    chosen = client.get(ORDER.format("dossier"), {"case": str(wanted.pk)})
    assert chosen.context["form"]["case"].value() == str(wanted.pk)
    by_short_id = client.get(ORDER.format("dossier"), {"q": str(wanted.pk)[:8]})
    assert [case.pk for case in by_short_id.context["found"]] == [wanted.pk]


def test_the_request_page_shows_labelled_parameters_and_the_download_at_the_top(client, officer):
    AISystemFactory(slug="support-assistant", name="Support assistant")
    report = IssuedReportFactory(
        request__kind="oversight",
        request__params={"system": "support-assistant", "start": "2026-05-01", "end": "2026-05-31"},
    )

    page = client.get(f"{REQUESTS}{report.request.pk}/change/").content.decode()

    top = page.index('class="report-status')
    assert top < page.index("<fieldset")
    assert page.index(download_url(report.pk), top) < page.index("<fieldset")
    assert "Verify a copy" in page[top : page.index("<fieldset")]
    assert "<dt>AI system</dt><dd>Support assistant (support-assistant)</dd>" in page
    assert "<dt>Period</dt><dd>1 May 2026 – 31 May 2026</dd>" in page
    assert '{"system"' not in page and "&quot;system&quot;" not in page
    listing = client.get(REQUESTS).content.decode()
    assert "<dt>AI system</dt><dd>Support assistant (support-assistant)</dd>" in listing


# The issued-report list at 1366 px (#16 point 3) ------------------------------------------


def test_the_issued_list_shows_sizes_short_hashes_to_copy_and_download_buttons(client, officer):
    report = IssuedReportFactory(
        content=b"%PDF-" + b"x" * (420 * 1024),
        requested_by=UserFactory(username="hwu", first_name="Hannah", last_name="Wu"),
    )

    page = client.get(ISSUED).content.decode()

    assert "for Hannah Wu" in page and "for hwu" not in page

    assert ">420 KB<" in page
    assert f'data-copy="{report.sha256}"' in page
    assert f"{report.sha256[:8]}…" in page
    assert f'<a class="button" href="{download_url(report.pk)}">Download</a>' in page
    assert 'href="/admin/oversight/issuedreport/verify/"' in page
    assert "oversight/admin/copy.js" in page
    detail = client.get(f"{ISSUED}{report.pk}/change/").content.decode()
    assert "Download PDF" in detail and "Verify a copy" in detail


@pytest.mark.parametrize(
    ("kind", "params", "name"),
    [
        (
            "oversight",
            {"system": "support-assistant", "start": "2026-09-01", "end": "2026-09-30"},
            "oversight-report_support-assistant_2026-09-01_2026-09-30_{id}.pdf",
        ),
        ("authority", {"as_of": "2026-09-30"}, "authority-register_2026-09-30_{id}.pdf"),
        (
            "literacy",
            {"as_of": "2026-09-30", "system": None, "team": "Refund Desk (EU)"},
            "ai-literacy-register_2026-09-30_refund-desk-eu_{id}.pdf",
        ),
        (
            "dossier",
            {"case": "c4e414fb-05e2-5bf9-82f8-90c416814678"},
            "case-dossier_case-c4e414fb_{id}.pdf",
        ),
    ],
)
def test_download_file_names_are_built_from_short_safe_parts_and_end_with_the_id(
    client, officer, kind, params, name
):
    report = IssuedReportFactory(
        kind=kind, params=params, title="A very long title " * 16, subtitle="x" * 300
    )

    response = client.get(download_url(report.pk))

    expected = name.format(id=str(report.pk)[:8])
    assert response["Content-Disposition"] == f'attachment; filename="{expected}"'
