"""Report commands (real renderer) and `verify_report`: issued PDFs pass, a changed byte fails."""

import datetime
import hashlib
from io import StringIO

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from oversight.models import IssuedReport, ReportRequest
from oversight.roles import COMPLIANCE_OFFICER, REVIEWER
from tests.factories import AISystemFactory, CaseFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 6, 15, 9, 30, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def person(role, username):
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def assert_issued(out: str, path, kind: str, requested_by=None) -> IssuedReport:
    """The file is a PDF, stored byte for byte, and the command said which report it is."""
    content = path.read_bytes()
    assert content.startswith(b"%PDF")
    report = IssuedReport.objects.get()
    assert bytes(report.content) == content
    assert report.sha256 == hashlib.sha256(content).hexdigest()
    assert (report.kind, report.requested_by) == (kind, requested_by)
    assert report.request.requested_via == "command"
    assert report.page_count >= 1
    pages = f"{report.page_count} page{'s' if report.page_count != 1 else ''}"
    assert f"Report {report.pk}: " in out
    assert f"{pages}, sha256 {report.sha256}" in out
    assert f"Written to {path}" in out
    assert list(AuditEvent.objects.values_list("action", flat=True).order_by("sequence"))[-2:] == [
        "report.requested",
        "report.generated",
    ]
    return report


def test_oversight_report_writes_the_pdf_and_records_it(tmp_path):
    AISystemFactory(slug="refund-bot", name="Refund bot")
    path = tmp_path / "oversight.pdf"

    out = run(
        "oversight_report",
        "--system=refund-bot",
        "--from=2026-05-01",
        "--to=2026-05-31",
        f"--out={path}",
    )

    report = assert_issued(out, path, "oversight")
    assert report.params == {"system": "refund-bot", "start": "2026-05-01", "end": "2026-05-31"}


def test_authority_report_records_the_person_given_with_user(tmp_path):
    officer = person(COMPLIANCE_OFFICER, "olga")
    path = tmp_path / "authority.pdf"

    out = run("authority_report", "--as-of=2026-06-01", f"--out={path}", "--user=olga")

    report = assert_issued(out, path, "authority", requested_by=officer)
    assert report.params == {"as_of": "2026-06-01"}
    assert AuditEvent.objects.get(action="report.requested").actor_user == officer


def test_literacy_report_with_a_team(tmp_path):
    path = tmp_path / "literacy.pdf"

    out = run("literacy_report", "--as-of=2026-06-01", f"--team={REVIEWER}", f"--out={path}")

    report = assert_issued(out, path, "literacy")
    assert report.params == {"as_of": "2026-06-01", "system": None, "team": REVIEWER}


def test_case_dossier(tmp_path):
    case = CaseFactory()
    path = tmp_path / "dossier.pdf"

    out = run("case_dossier", str(case.pk), f"--out={path}")

    report = assert_issued(out, path, "dossier")
    assert report.params == {"case": str(case.pk)}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["oversight_report", "--system=nope", "--from=2026-05-01", "--to=2026-05-31"],
            "There is no AI system “nope”.",
        ),
        (["authority_report", "--as-of=2026-13-01"], "“2026-13-01” is not a date"),
        (["literacy_report", "--as-of=2026-06-01", "--team=Nobody"], "There is no team “Nobody”."),
        (["case_dossier", "not-a-case"], "“not-a-case” is not a case id"),
        (["authority_report", "--as-of=2026-06-01", "--user=ghost"], "There is no user “ghost”."),
    ],
)
def test_an_error_is_a_clear_message_and_nothing_is_written(tmp_path, args, message):
    path = tmp_path / "report.pdf"

    with pytest.raises(CommandError, match=message):
        run(*args, f"--out={path}")

    assert not path.exists()
    assert list(tmp_path.iterdir()) == []
    assert ReportRequest.objects.count() == IssuedReport.objects.count() == 0


def test_a_person_without_permission_is_refused_and_nothing_is_written(tmp_path):
    person(REVIEWER, "rita")
    path = tmp_path / "report.pdf"

    with pytest.raises(CommandError, match="You may not request reports"):
        run("authority_report", "--as-of=2026-06-01", f"--out={path}", "--user=rita")

    assert not path.exists()
    assert ReportRequest.objects.count() == AuditEvent.objects.count() == 0


def test_a_missing_directory_is_refused_before_anything_is_generated(tmp_path):
    path = tmp_path / "missing" / "report.pdf"

    with pytest.raises(CommandError, match="does not exist; nothing was written"):
        run("authority_report", "--as-of=2026-06-01", f"--out={path}")

    assert ReportRequest.objects.count() == 0


# verify_report -----------------------------------------------------------------------------


def test_verify_accepts_an_issued_pdf(tmp_path):
    path = tmp_path / "authority.pdf"
    run("authority_report", "--as-of=2026-06-01", f"--out={path}")
    report = IssuedReport.objects.get()

    out = run("verify_report", str(path))

    first = out.splitlines()[0]
    assert first == (
        f"Issued by HITL Oversight: {report}, report {report.pk}, "
        f"generated 2026-06-15T09:30:00+00:00, sha256 {report.sha256}"
    )
    assert f"covers the audit ledger up to #{report.ledger_sequence}" in out


def test_verify_reports_an_unreadable_file(tmp_path):
    with pytest.raises(CommandError, match="Cannot read") as refused:
        run("verify_report", str(tmp_path / "absent.pdf"))
    assert refused.value.returncode == 2
