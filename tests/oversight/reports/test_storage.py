"""Requesting, generating and storing reports (services/reports.py), with a stand-in renderer.

These tests are about the request's life and the stored evidence, so the renderer is replaced by
one that returns fixed bytes; the real renderer runs in test_commands.py and test_admin_reports.py.
"""

import datetime
import hashlib
import logging

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import DatabaseError, connection, transaction

from audit.models import AuditEvent
from oversight.exceptions import InvalidInput, NotAllowed
from oversight.models import (
    ImmutableRecordError,
    IssuedReport,
    ReportRequest,
    ReportStatus,
    RequestedVia,
)
from oversight.reports import rendering
from oversight.reports.rendering import RenderedReport, ReportParameterError
from oversight.roles import COMPLIANCE_OFFICER, REVIEWER
from oversight.services import reports
from oversight.services.reports import (
    GENERATE_TASK,
    find_issued,
    generate_report,
    issue_report_now,
    request_report,
)
from oversight.tasks import generate_report as generate_report_task
from tests.factories import AISystemFactory, CaseFactory, IssuedReportFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 6, 15, 9, 30, tzinfo=datetime.UTC)
FAKE_PDF = b"%PDF-1.7\nstand-in report\n%%EOF\n"
OVERSIGHT = {"system": "refund-bot", "start": "2026-05-01", "end": "2026-05-31"}


@pytest.fixture(autouse=True)
def unsigned(monkeypatch):
    """The stand-in bytes are no PDF a signer could read: stored as rendered here. Signing the
    real renderer's PDFs, and storing the signed bytes, is tested in test_signing.py."""
    from oversight.reports import signing

    monkeypatch.setattr(signing, "sign_pdf", lambda pdf, **kwargs: pdf)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as clock:
        yield clock


def person(role):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def officer():
    return person(COMPLIANCE_OFFICER)


@pytest.fixture
def system():
    return AISystemFactory(slug="refund-bot")


class FakeRenderer:
    """Stands in for render_report: records its calls, reports progress, returns FAKE_PDF."""

    def __init__(self, error: Exception | None = None):
        self.calls = []
        self.error = error

    def __call__(self, kind, params, *, report_id, generated_at, progress=None):
        self.calls.append({"kind": kind, "params": params, "report_id": report_id})
        if progress:
            progress(40, "Collecting data")
        if self.error:
            raise self.error
        return RenderedReport(
            pdf=FAKE_PDF + report_id.encode(),
            title="Oversight report",
            subtitle="May 2026",
            page_count=3,
            data_sha256="a" * 64,
            ledger_sequence=7,
            ledger_hash="b" * 64,
        )


@pytest.fixture
def renderer(monkeypatch):
    fake = FakeRenderer()
    monkeypatch.setattr(rendering, "render_report", fake)
    return fake


def counts():
    return (ReportRequest.objects.count(), IssuedReport.objects.count(), AuditEvent.objects.count())


def actions():
    return list(AuditEvent.objects.order_by("sequence").values_list("action", flat=True))


# Requesting ------------------------------------------------------------------------------------


def test_a_reviewer_may_not_request_a_report_and_nothing_is_created(
    system, task_queue, django_capture_on_commit_callbacks
):
    before = counts()
    reviewer = person(REVIEWER)
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(NotAllowed, match="You may not request reports"),
    ):
        request_report(user=reviewer, kind="oversight", params=OVERSIGHT)

    assert counts() == before
    assert task_queue.size() == 0


def test_without_a_person_only_the_command_line_and_the_schedule_may_request(system):
    with pytest.raises(NotAllowed, match="Sign in"):
        request_report(user=None, kind="oversight", params=OVERSIGHT, via="admin")
    assert ReportRequest.objects.count() == 0

    request = request_report(user=None, kind="oversight", params=OVERSIGHT, via="command")
    assert (request.requested_by, request.requested_via) == (None, RequestedVia.COMMAND)
    event = AuditEvent.objects.get(action="report.requested")
    assert (event.actor_type, event.actor_label) == ("system", "command line")


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("weekly", {}, "Unknown report type “weekly”"),
        ("oversight", {**OVERSIGHT, "system": ""}, "Choose the AI system"),
        ("oversight", {**OVERSIGHT, "system": "nope"}, "There is no AI system “nope”"),
        ("oversight", {**OVERSIGHT, "start": "01/05/2026"}, "“01/05/2026” is not a date"),
        ("oversight", {**OVERSIGHT, "start": "2026-02-30"}, "“2026-02-30” is not a date"),
        ("oversight", {**OVERSIGHT, "end": "2026-04-30"}, "ends (2026-04-30) before it starts"),
        ("oversight", {**OVERSIGHT, "end": "2026-07-01"}, "2026-07-01 is in the future"),
        ("oversight", {**OVERSIGHT, "start": "2010-01-01"}, "longer than ten years"),
        ("oversight", {**OVERSIGHT, "colour": "red"}, "Unknown parameter for a"),
        ("authority", {}, "as-of date is required"),
        ("literacy", {"as_of": "2026-06-01", "team": "Nobody"}, "There is no team “Nobody”"),
        ("dossier", {"case": "42"}, "“42” is not a case id"),
        (
            "dossier",
            {"case": "00000000-0000-0000-0000-000000000001"},
            "There is no case 00000000-0000-0000-0000-000000000001",
        ),
    ],
)
def test_bad_parameters_are_refused_with_a_clear_message_and_nothing_is_created(
    officer, system, task_queue, django_capture_on_commit_callbacks, kind, params, message
):
    before = counts()
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(InvalidInput) as refused,
    ):
        request_report(user=officer, kind=kind, params=params)

    assert message in refused.value.message
    assert counts() == before
    assert task_queue.size() == 0


def test_parameters_are_stored_normalised():
    case = CaseFactory()
    officer = person(COMPLIANCE_OFFICER)

    literacy = request_report(user=officer, kind="literacy", params={"as_of": "2026-06-01"})
    dossier = request_report(user=officer, kind="dossier", params={"case": str(case.pk).upper()})

    assert literacy.params == {"as_of": "2026-06-01", "system": None, "team": None}
    assert dossier.params == {"case": str(case.pk)}


def test_a_request_is_recorded_and_queues_one_task_after_commit(
    officer, system, task_queue, django_capture_on_commit_callbacks, frozen
):
    with django_capture_on_commit_callbacks(execute=True):
        request = request_report(user=officer, kind="oversight", params=OVERSIGHT)
        assert task_queue.size() == 0  # not before the request is committed

    assert (request.status, request.progress, request.requested_by) == ("queued", 0, officer)
    frozen.shift(1)  # the ORM broker hands out tasks queued strictly before now
    [queued] = task_queue.take_all()
    assert queued["func"] == GENERATE_TASK
    assert queued["args"] == (str(request.pk),)
    event = AuditEvent.objects.get(action="report.requested")
    assert event.actor_user == officer
    assert event.object_id == str(request.pk)
    assert event.payload == {
        "report": str(request.report_id),
        "kind": "oversight",
        "params": OVERSIGHT,
        "via": "admin",
    }


# Generating ------------------------------------------------------------------------------------


def test_the_task_stores_the_pdf_with_its_sha256_and_records_it(officer, system, renderer):
    request = request_report(user=officer, kind="oversight", params=OVERSIGHT)

    result = generate_report_task(str(request.pk))

    issued = IssuedReport.objects.get()
    pdf = FAKE_PDF + str(request.report_id).encode()
    assert result == f"Report {issued.pk} issued, sha256 {issued.sha256}"
    assert issued.pk == request.report_id
    assert renderer.calls == [
        {"kind": "oversight", "params": OVERSIGHT, "report_id": str(request.report_id)}
    ]
    assert bytes(issued.content) == pdf
    assert issued.sha256 == hashlib.sha256(pdf).hexdigest()
    assert (issued.size, issued.page_count, issued.title, issued.subtitle) == (
        len(pdf),
        3,
        "Oversight report",
        "May 2026",
    )
    assert (issued.requested_by, issued.generated_at, issued.params) == (officer, NOW, OVERSIGHT)
    request.refresh_from_db()
    assert (request.status, request.progress, request.error) == ("done", 100, "")
    assert request.started_at == request.finished_at == NOW
    assert actions() == ["report.requested", "report.generated"]
    generated = AuditEvent.objects.get(action="report.generated")
    assert generated.object_type == "oversight.issuedreport"
    assert generated.payload == {
        "report": str(issued.pk),
        "request": str(request.pk),
        "kind": "oversight",
        "params": OVERSIGHT,
        "sha256": issued.sha256,
        "ledger_sequence": 7,
        "ledger_hash": "b" * 64,
        "data_sha256": "a" * 64,
        "page_count": 3,
    }


def test_progress_is_saved_while_rendering(officer, system, monkeypatch):
    request = request_report(user=officer, kind="oversight", params=OVERSIGHT)
    seen = []

    def render(kind, params, *, report_id, generated_at, progress):
        for percent, message in [(10, "Collecting data"), (250, "x" * 300)]:
            progress(percent, message)
            seen.append(
                ReportRequest.objects.values_list("status", "progress", "progress_message").get()
            )
        return FakeRenderer()(kind, params, report_id=report_id, generated_at=generated_at)

    monkeypatch.setattr(rendering, "render_report", render)
    generate_report(request.pk)

    assert seen == [("running", 10, "Collecting data"), ("running", 100, "x" * 200)]


def test_a_parameter_problem_found_while_rendering_fails_the_request_with_its_message(
    officer, system, monkeypatch
):
    request = request_report(user=officer, kind="oversight", params=OVERSIGHT)
    monkeypatch.setattr(
        rendering, "render_report", FakeRenderer(ReportParameterError("There is no AI system."))
    )

    assert generate_report(request.pk) is None

    request.refresh_from_db()
    assert (request.status, request.error, request.progress) == (
        "failed",
        "There is no AI system.",
        40,
    )
    assert request.finished_at == NOW
    assert IssuedReport.objects.count() == 0
    assert actions() == ["report.requested", "report.failed"]
    assert AuditEvent.objects.get(action="report.failed").payload["error"] == (
        "There is no AI system."
    )


def test_an_unexpected_error_is_logged_and_shown_without_its_details(
    officer, system, monkeypatch, caplog
):
    request = request_report(user=officer, kind="oversight", params=OVERSIGHT)
    monkeypatch.setattr(
        rendering, "render_report", FakeRenderer(RuntimeError("password=hunter2 in /srv/x.py"))
    )

    with caplog.at_level(logging.ERROR, logger="oversight.services.reports"):
        assert generate_report(request.pk) is None

    request.refresh_from_db()
    assert request.status == "failed"
    assert request.error.startswith("The report could not be generated because of an internal")
    assert str(request.pk) in request.error
    assert "hunter2" not in request.error
    assert "hunter2" not in str(AuditEvent.objects.get(action="report.failed").payload)
    assert "hunter2" in caplog.text  # the details are in the log, for an administrator
    assert IssuedReport.objects.count() == 0


def test_a_request_is_generated_once_however_often_the_task_runs(officer, system, renderer):
    request = request_report(user=officer, kind="oversight", params=OVERSIGHT)

    first = generate_report(request.pk)
    second = generate_report(request.pk)

    assert second.pk == first.pk
    assert len(renderer.calls) == 1
    assert IssuedReport.objects.count() == 1
    assert actions() == ["report.requested", "report.generated"]


@pytest.mark.parametrize("status", [ReportStatus.RUNNING, ReportStatus.FAILED])
def test_a_running_or_failed_request_is_not_generated_again(officer, system, renderer, status):
    request = request_report(user=officer, kind="oversight", params=OVERSIGHT)
    ReportRequest.objects.filter(pk=request.pk).update(status=status)

    assert generate_report(request.pk) is None
    assert renderer.calls == []
    assert IssuedReport.objects.count() == 0


def test_a_missing_request_is_reported_by_the_task(renderer):
    missing = "00000000-0000-0000-0000-000000000009"
    assert generate_report_task(missing) == f"No report request {missing}; nothing to do."


def test_issuing_now_returns_the_report_or_raises_the_failure(officer, system, monkeypatch):
    monkeypatch.setattr(rendering, "render_report", FakeRenderer())
    issued = issue_report_now(user=officer, kind="oversight", params=OVERSIGHT)
    assert issued.request.requested_via == "command"

    monkeypatch.setattr(
        rendering, "render_report", FakeRenderer(ReportParameterError("Nothing to report."))
    )
    with pytest.raises(InvalidInput, match="Nothing to report."):
        issue_report_now(user=officer, kind="oversight", params=OVERSIGHT)
    assert list(ReportRequest.objects.values_list("status", flat=True).order_by("status")) == [
        "done",
        "failed",
    ]


def test_find_issued_recognises_the_exact_bytes_only():
    report = IssuedReportFactory()
    content = bytes(report.content)

    assert find_issued(content) == report
    assert find_issued(content + b" ") is None
    assert find_issued(b"X" + content[1:]) is None
    assert reports.sha256_of(content) == report.sha256


# Immutability ----------------------------------------------------------------------------------


def test_an_issued_report_cannot_be_changed_or_deleted():
    report = IssuedReportFactory()

    report.title = "Something else"
    with pytest.raises(ImmutableRecordError, match="cannot be changed"):
        report.save()
    with pytest.raises(ImmutableRecordError, match="cannot be deleted"):
        report.delete()

    stored = IssuedReport.objects.get(pk=report.pk)
    assert stored.title == "Authority register"


@pytest.mark.postgres
def test_the_database_refuses_to_change_or_delete_an_issued_report(postgres_only):
    report = IssuedReportFactory()
    refused = "refused: its rows are evidence"

    for statement in [
        "UPDATE oversight_issuedreport SET content = %s WHERE id = %s",
        "DELETE FROM oversight_issuedreport WHERE id = %s AND content <> %s",
    ]:
        params = [b"forged", report.pk] if statement.startswith("UPDATE") else [report.pk, b"x"]
        with (
            pytest.raises(DatabaseError) as failure,
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, params)
        assert refused in str(failure.value)

    assert bytes(IssuedReport.objects.get(pk=report.pk).content) == bytes(report.content)
