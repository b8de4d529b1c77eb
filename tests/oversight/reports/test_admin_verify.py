"""Verify a PDF in the admin: the same verdict as `verify_report`, recorded in the ledger."""

import datetime
import hashlib
from io import StringIO

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils.html import escape

from audit.models import AuditEvent
from oversight.models import IssuedReport
from oversight.roles import COMPLIANCE_OFFICER, REVIEWER
from oversight.services.report_verification import verify_report_bytes
from tests.factories import IssuedReportFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 6, 15, 9, 30, tzinfo=datetime.UTC)
VERIFY = "/admin/oversight/issuedreport/verify/"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def person(role):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def officer(client):
    user = person(COMPLIANCE_OFFICER)
    client.force_login(user)
    return user


def upload(client, content: bytes, name="copy.pdf"):
    return client.post(VERIFY, {"pdf": SimpleUploadedFile(name, content, "application/pdf")})


def command_verdict(path) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("verify_report", str(path), stdout=out)
    except CommandError as error:
        return error.returncode, str(error)
    return 0, out.getvalue()


def test_the_page_and_the_command_give_the_same_verdict_on_a_real_report(client, officer, tmp_path):
    path = tmp_path / "authority.pdf"
    call_command("authority_report", "--as-of=2026-06-01", f"--out={path}", stdout=StringIO())
    report = IssuedReport.objects.get()
    changed = bytearray(path.read_bytes())
    changed[500] ^= 0x01
    changed_path = tmp_path / "changed.pdf"
    changed_path.write_bytes(bytes(changed))

    genuine = upload(client, path.read_bytes(), "authority.pdf")
    forged = upload(client, bytes(changed), "changed.pdf")

    assert genuine.context["verdict"].ok and genuine.context["verdict"].report == report
    assert command_verdict(path)[0] == 0
    page = genuine.content.decode()
    assert f"Issued by HITL Oversight: {report}, report {report.pk}" in page
    assert report.sha256 in page
    # One changed byte: never genuine. Whether the copy still parses, and so still names its
    # report (a re-saved copy, exit 3) or not (not a report of ours, exit 1), depends on where
    # the byte fell; the page and the command always say the same.
    verdict = forged.context["verdict"]
    assert not verdict.ok
    code, message = command_verdict(changed_path)
    assert (verdict.code, code) in {("copy", 3), ("foreign", 1)}
    opening = "A re-saved copy of report" if verdict.code == "copy" else "NOT a report of this"
    forged_page = forged.content.decode()
    assert message.startswith(opening)
    assert opening in forged_page
    assert hashlib.sha256(bytes(changed)).hexdigest() in forged_page


def test_each_check_is_recorded_in_the_ledger_with_who_which_file_and_the_verdict(client, officer):
    report = IssuedReportFactory()

    upload(client, bytes(report.content), "auditor-copy.pdf")
    upload(client, b"%PDF-1.7 something else", "other.pdf")

    genuine, foreign = AuditEvent.objects.filter(action="report.verified").order_by("sequence")
    assert (genuine.actor_label, genuine.object_type, genuine.object_id) == (
        officer.username,
        "oversight.issuedreport",
        str(report.pk),
    )
    assert genuine.payload == {
        "sha256": report.sha256,
        "filename": "auditor-copy.pdf",
        "size": report.size,
        "verdict": "issued",
        "report": str(report.pk),
    }
    assert foreign.payload["verdict"] == "foreign"
    assert foreign.payload["report"] is None
    assert foreign.payload["sha256"] == hashlib.sha256(b"%PDF-1.7 something else").hexdigest()


def test_a_stored_row_whose_bytes_differ_from_its_hash_is_not_trusted(client, officer):
    genuine = b"%PDF-1.7 genuine"
    forged_row = IssuedReportFactory(
        content=b"%PDF-1.7 other", sha256=hashlib.sha256(genuine).hexdigest()
    )

    response = upload(client, genuine)

    verdict = response.context["verdict"]
    assert (verdict.ok, verdict.code, verdict.report) == (False, "copy", forged_row)
    assert verify_report_bytes(genuine).code == "copy"
    assert "its bytes differ from the issued PDF" in response.content.decode()


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "empty.pdf", "The file is empty: choose the PDF you want to check."),
        (
            b"PK\x03\x04 a zip",
            "report.zip",
            "“report.zip” is not a PDF (it does not start with %PDF-). "
            "Choose the report's PDF file.",
        ),
        (
            b"%PDF-" + b"x" * 2048,
            "huge.pdf",
            "The file is larger than 1.0\xa0KB, more than any report this system issues: "
            "it is not one of them. Nothing was recorded.",
        ),
    ],
)
def test_a_bad_upload_is_refused_with_a_message_and_writes_nothing(
    client, officer, settings, content, name, message
):
    settings.REPORT_VERIFY_MAX_BYTES = 1024
    IssuedReportFactory()
    events = AuditEvent.objects.count()

    response = upload(client, content, name)

    assert response.status_code == 200
    assert response.context["verdict"] is None
    assert response.context["refusal"] == message
    assert escape(message) in response.content.decode()
    assert AuditEvent.objects.count() == events
    assert IssuedReport.objects.count() == 1


def test_no_file_at_all_is_refused_and_writes_nothing(client, officer):
    events = AuditEvent.objects.count()

    response = client.post(VERIFY, {})

    assert response.context["refusal"] == "This field is required."
    assert AuditEvent.objects.count() == events


def test_a_reviewer_may_not_verify_and_nothing_is_recorded(client):
    report = IssuedReportFactory()
    client.force_login(person(REVIEWER))
    events = AuditEvent.objects.count()

    assert client.get(VERIFY).status_code == 403
    assert upload(client, bytes(report.content)).status_code == 403
    assert AuditEvent.objects.count() == events


def test_a_request_too_large_to_hold_the_limit_is_refused_before_its_body_is_read(
    client, officer, settings
):
    settings.REPORT_VERIFY_MAX_BYTES = 1024
    events = AuditEvent.objects.count()

    response = client.post(
        VERIFY,
        {"pdf": SimpleUploadedFile("big.pdf", b"%PDF-" + b"x" * (200 * 1024), "application/pdf")},
    )

    assert response.status_code == 200
    assert response.context["refusal"].startswith("The file is larger than 1.0\xa0KB")
    assert not response.context["form"].is_bound  # the body was never parsed into a form
    assert AuditEvent.objects.count() == events


def test_a_damaged_copy_whose_page_cannot_be_read_is_still_named_by_its_metadata(
    tmp_path, monkeypatch
):
    """Seen as a flaky failure of the test above: one flipped byte that lands in the first
    page's content stream made the copy "NOT a report of this system", though its metadata
    still names the report. The metadata is read first and is not lost with the page text."""
    import pypdf

    path = tmp_path / "authority.pdf"
    call_command("authority_report", "--as-of=2026-06-01", f"--out={path}", stdout=StringIO())
    report = IssuedReport.objects.get()
    changed_path = tmp_path / "changed.pdf"
    changed_path.write_bytes(path.read_bytes() + b"\n% changed\n")  # other bytes, still readable

    def unreadable(self, *args, **kwargs):
        raise pypdf.errors.PdfReadError("Invalid Elementary Object starting with b'*'")

    monkeypatch.setattr(pypdf.PageObject, "extract_text", unreadable)

    code, message = command_verdict(changed_path)
    assert code == 3
    assert message.startswith(f"A re-saved copy of report {report.pk}: content unverifiable")
