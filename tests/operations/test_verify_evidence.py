"""`verify_evidence`, run after a restore: the ledger and every issued report against anchors."""

import datetime
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from audit.models import AuditEvent, LedgerVerification
from audit.services.verification import create_daily_checkpoint
from oversight.models import IssuedReport
from oversight.services.reports import issue_report_now
from tests.audit.conftest import triggers_bypassed

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 6, 15, 9, 30, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def evidence(tmp_path):
    """A signed report, a signed checkpoint, and an anchor file exported before the 'backup'."""
    report = issue_report_now(user=None, kind="authority", params={"as_of": "2026-06-01"})
    create_daily_checkpoint()
    anchor = tmp_path / "anchor.json"
    call_command("verify_audit", "--no-record", "--export-anchor", str(anchor), stdout=StringIO())
    return report, anchor


def run(*args) -> str:
    out = StringIO()
    call_command("verify_evidence", *args, stdout=out)
    return out.getvalue()


def test_intact_evidence_is_verified_against_the_anchor_file(evidence):
    report, anchor = evidence
    verifications = LedgerVerification.objects.count()
    out = run("--anchor", str(anchor))
    events = AuditEvent.objects.count()
    assert f"Ledger: OK: {events} events, head " in out
    assert (
        "Ledger anchors: 1 signed checkpoints, 1 issued reports' ledger heads, the anchor file "
        "checked." in out
    )
    assert (
        "Reports: 1 issued, 1 intact (stored bytes match their SHA-256, PDF signature intact "
        "over the whole file)." in out
    )
    assert out.rstrip().endswith("Evidence verified.")
    assert LedgerVerification.objects.count() == verifications  # records nothing


def test_a_report_whose_bytes_changed_in_the_restore_fails_naming_it(evidence):
    report, anchor = evidence
    content = bytearray(bytes(report.content))
    content[len(content) // 2] ^= 0x01
    with triggers_bypassed():
        IssuedReport.objects.filter(pk=report.pk).update(content=bytes(content))
    with pytest.raises(CommandError) as failed:
        run("--anchor", str(anchor))
    assert failed.value.returncode == 1
    message = str(failed.value)
    assert "Reports: 1 issued, 0 intact" in message
    assert f"BROKEN report {report.pk} ({report.title}): its stored bytes hash to " in message
    assert message.startswith("Ledger: OK")


def test_a_report_rehashed_to_match_changed_bytes_fails_on_its_pdf_signature(evidence):
    """An insider who also rewrote the stored SHA-256 still cannot re-sign the PDF."""
    import hashlib

    report, anchor = evidence
    content = bytearray(bytes(report.content))
    content[len(content) // 2] ^= 0x01
    with triggers_bypassed():
        IssuedReport.objects.filter(pk=report.pk).update(
            content=bytes(content), sha256=hashlib.sha256(bytes(content)).hexdigest()
        )
    with pytest.raises(CommandError) as failed:
        run()
    message = str(failed.value)
    assert f"BROKEN report {report.pk}" in message
    assert "PDF signature:" in message and "intact, covers the whole file" not in message


def test_a_ledger_that_lost_its_tail_in_the_restore_fails_against_the_anchor(evidence):
    report, anchor = evidence
    last = AuditEvent.objects.order_by("-sequence").first()
    with triggers_bypassed():
        AuditEvent.objects.filter(sequence__gte=last.sequence - 1).delete()
    with pytest.raises(CommandError) as failed:
        run("--anchor", str(anchor))
    assert failed.value.returncode == 1
    assert str(failed.value).startswith("Ledger: BROKEN at #")


def test_an_unreadable_anchor_file_is_refused(tmp_path):
    path = tmp_path / "anchor.json"
    path.write_text("not json")
    with pytest.raises(CommandError, match="BROKEN anchor file"):
        run("--anchor", str(path))


def test_an_empty_database_says_that_nothing_vouches_for_it():
    out = run()
    assert "Ledger: OK: 0 events" in out
    assert "WARNING: nothing vouches for this ledger but its own chain" in out
    assert "Reports: 0 issued, 0 intact" in out
