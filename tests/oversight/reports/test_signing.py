"""Issued reports carry a PAdES signature that pyHanko and pdfsig check without this product,
and `verify_report` tells an issued report, a re-saved copy of one and a foreign file apart."""

import datetime
import hashlib
import io
import shutil
import subprocess
from io import StringIO

import pypdf
import pytest
import time_machine
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.core.management import CommandError, call_command
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from audit.models import AuditEvent
from oversight.models import IssuedReport, ReportRequest, ReportStatus
from oversight.reports import signing
from oversight.reports.verification import Verdict, check_copy, named_report_id
from oversight.services.reports import issue_report_now
from tests.factories import IssuedReportFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 6, 15, 9, 30, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def issue() -> IssuedReport:
    return issue_report_now(user=None, kind="authority", params={"as_of": "2026-06-01"})


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def certificate(path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def pyhanko_status(content: bytes, trust_root_pem: bytes):
    from asn1crypto import pem
    from asn1crypto import x509 as asn1_x509

    reader = PdfFileReader(io.BytesIO(content), strict=False)
    (embedded,) = reader.embedded_signatures
    root = asn1_x509.Certificate.load(pem.unarmor(trust_root_pem)[2])
    context = ValidationContext(trust_roots=[root], allow_fetching=False)
    return validate_pdf_signature(embedded, context)


# Signing ------------------------------------------------------------------------------------


def test_an_issued_report_is_signed_and_pyhanko_finds_it_intact_by_the_configured_signer(
    report_signing,
):
    report = issue()
    content = bytes(report.content)
    cert_pem = (report_signing / signing.DEV_CERT_NAME).read_bytes()

    status = pyhanko_status(content, cert_pem)

    assert status.intact and status.valid and status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.signing_cert.dump() == x509.load_pem_x509_certificate(cert_pem).public_bytes(
        serialization.Encoding.DER
    )
    # The stored SHA-256 is of the signed bytes, exactly as handed out.
    assert report.sha256 == hashlib.sha256(content).hexdigest()
    assert AuditEvent.objects.get(action="report.generated").payload["sha256"] == report.sha256


def test_a_one_byte_change_breaks_the_pyhanko_check(report_signing):
    content = bytearray(bytes(issue().content))
    content[len(content) // 3] ^= 0x01  # inside the signed range, in the rendered report
    cert_pem = (report_signing / signing.DEV_CERT_NAME).read_bytes()

    status = pyhanko_status(bytes(content), cert_pem)

    assert not status.intact


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="pdfsig (poppler-utils) not on PATH")
def test_pdfsig_checks_the_signature_without_this_product(tmp_path):
    content = bytes(issue().content)
    good, bad = tmp_path / "good.pdf", tmp_path / "bad.pdf"
    good.write_bytes(content)
    changed = bytearray(content)
    changed[len(changed) // 3] ^= 0x01
    bad.write_bytes(bytes(changed))

    said = subprocess.run(["pdfsig", str(good)], capture_output=True, text=True, check=True)
    said_bad = subprocess.run(["pdfsig", str(bad)], capture_output=True, text=True)

    assert "Signature Validation: Signature is Valid." in said.stdout
    assert "Total document signed" in said.stdout
    assert f"Common Name: {signing.DEV_COMMON_NAME}" in said.stdout
    assert "Signature is Valid." not in said_bad.stdout
    assert "Digest Mismatch" in said_bad.stdout


def test_the_demo_key_is_made_once_on_first_use_readable_only_by_its_owner(settings, tmp_path):
    settings.REPORT_SIGNING_DEV_DIR = tmp_path / "signing"

    first = signing.signing_files()
    cert_before = first.cert.read_bytes()
    again = signing.signing_files()

    assert first.key.stat().st_mode & 0o777 == 0o600
    assert again == first and first.cert.read_bytes() == cert_before
    assert certificate(first.cert).subject.rfc4514_string().startswith("O=HITL Oversight,CN=")


def test_a_configured_key_with_a_passphrase_signs_the_reports(settings, tmp_path):
    files = signing.generate_self_signed(tmp_path, common_name="Acme compliance signing")
    key = serialization.load_pem_private_key(files.key.read_bytes(), password=None)
    encrypted = tmp_path / "encrypted-key.pem"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"correct horse"),
        )
    )
    settings.REPORT_SIGNING_KEY_FILE = str(encrypted)
    settings.REPORT_SIGNING_CERT_FILE = str(files.cert)
    settings.REPORT_SIGNING_KEY_PASSPHRASE = "correct horse"
    settings.REPORT_SIGNING_GENERATE_DEV_CERT = False

    status = pyhanko_status(bytes(issue().content), files.cert.read_bytes())

    assert status.intact and status.trusted
    assert "Acme compliance signing" in status.signing_cert.subject.human_friendly


def test_without_a_signing_certificate_in_production_no_report_is_issued_and_it_says_why(
    settings,
):
    settings.REPORT_SIGNING_GENERATE_DEV_CERT = False  # production: DEBUG off
    events_before = AuditEvent.objects.count()

    with pytest.raises(Exception, match="no signing certificate is configured: set "):
        issue()

    request = ReportRequest.objects.get()
    assert request.status == ReportStatus.FAILED
    assert "REPORT_SIGNING_KEY_FILE and REPORT_SIGNING_CERT_FILE" in request.error
    assert IssuedReport.objects.count() == 0
    assert list(
        AuditEvent.objects.order_by("sequence").values_list("action", flat=True)[events_before:]
    ) == ["report.requested", "report.failed"]


def test_only_one_of_the_two_files_configured_is_refused(settings, tmp_path):
    settings.REPORT_SIGNING_KEY_FILE = str(tmp_path / "key.pem")

    with pytest.raises(signing.SigningNotConfigured, match="Set both REPORT_SIGNING_KEY_FILE"):
        signing.signing_files()


def test_a_missing_configured_file_is_named_in_the_refusal(settings, tmp_path):
    settings.REPORT_SIGNING_KEY_FILE = str(tmp_path / "key.pem")
    settings.REPORT_SIGNING_CERT_FILE = str(tmp_path / "cert.pem")

    with pytest.raises(signing.SigningNotConfigured, match="key.pem does not exist"):
        signing.signing_files()


def test_a_rotated_certificate_signs_the_next_report(settings, tmp_path):
    first = issue()
    new = signing.generate_self_signed(tmp_path, common_name="Rotated signing certificate")
    settings.REPORT_SIGNING_KEY_FILE = str(new.key)
    settings.REPORT_SIGNING_CERT_FILE = str(new.cert)

    second = issue_report_now(user=None, kind="authority", params={"as_of": "2026-06-02"})

    assert "Rotated signing certificate" in (
        pyhanko_status(
            bytes(second.content), new.cert.read_bytes()
        ).signing_cert.subject.human_friendly
    )
    assert "Rotated" not in (
        pyhanko_status(
            bytes(first.content), new.cert.read_bytes()
        ).signing_cert.subject.human_friendly
    )


# verify_report: three verdicts --------------------------------------------------------------


def test_the_report_id_is_in_the_pdf_metadata_and_text():
    report = issue()
    reader = pypdf.PdfReader(io.BytesIO(bytes(report.content)))

    assert reader.metadata["/hitlreportid"] == str(report.pk)
    assert named_report_id(bytes(report.content)) == str(report.pk)


def test_verify_an_issued_report_exit_0_with_its_signature(tmp_path):
    report = issue()
    path = tmp_path / "report.pdf"
    path.write_bytes(bytes(report.content))

    out = run("verify_report", str(path))

    assert out.startswith(f"Issued by HITL Oversight: {report}, report {report.pk}, ")
    assert "PDF signature: intact, covers the whole file, signed by O=HITL Oversight," in out
    assert "this installation's signing certificate" in out


def test_a_copy_resaved_by_another_tool_is_named_as_a_copy_of_its_report_exit_3(tmp_path):
    report = issue()
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(bytes(report.content))))
    buffer = io.BytesIO()
    writer.write(buffer)
    path = tmp_path / "resaved.pdf"
    path.write_bytes(buffer.getvalue())
    assert buffer.getvalue() != bytes(report.content)

    with pytest.raises(CommandError) as refused:
        run("verify_report", str(path))

    assert refused.value.returncode == 3
    assert str(refused.value).startswith(
        f"A re-saved copy of report {report.pk}: content unverifiable, compare with the issued "
        "original."
    )
    assert check_copy(buffer.getvalue()).verdict == Verdict.COPY


@pytest.mark.parametrize("position", [500, -1, "middle"])
def test_an_issued_report_with_one_byte_changed_is_not_verified(tmp_path, position):
    report = issue()
    content = bytearray(bytes(report.content))
    index = len(content) // 3 if position == "middle" else position
    content[index] ^= 0x01
    path = tmp_path / "changed.pdf"
    path.write_bytes(bytes(content))

    with pytest.raises(CommandError) as refused:
        run("verify_report", str(path))

    # Still names its report when readable (a copy), else unrecognisable: never "issued".
    assert refused.value.returncode in (1, 3)
    message = str(refused.value)
    assert hashlib.sha256(bytes(content)).hexdigest() in message
    if refused.value.returncode == 3:
        assert message.startswith(f"A re-saved copy of report {report.pk}")


def test_a_changed_first_byte_is_not_a_report_of_this_system(tmp_path):
    content = bytearray(bytes(issue().content))
    content[0] ^= 0x01
    path = tmp_path / "changed.pdf"
    path.write_bytes(bytes(content))

    with pytest.raises(CommandError) as refused:
        run("verify_report", str(path))

    assert refused.value.returncode == 1
    assert str(refused.value).startswith("NOT a report of this system")


def test_an_unrelated_pdf_is_not_a_report_of_this_system(tmp_path):
    import weasyprint

    issue()
    path = tmp_path / "other.pdf"
    path.write_bytes(weasyprint.HTML(string="<p>Quarterly figures</p>").write_pdf())

    with pytest.raises(CommandError) as refused:
        run("verify_report", str(path))

    assert refused.value.returncode == 1
    assert str(refused.value).startswith("NOT a report of this system")
    assert "PDF signature: none (no PDF signature)" in str(refused.value)


def test_a_text_file_naming_a_report_id_is_not_a_report_of_this_system(tmp_path):
    report = issue()
    path = tmp_path / "notes.txt"
    path.write_text(f"Report id {report.pk}\n")

    with pytest.raises(CommandError) as refused:
        run("verify_report", str(path))

    assert refused.value.returncode == 1
    assert str(refused.value).startswith("NOT a report of this system")


def test_a_stored_row_whose_bytes_differ_despite_the_hash_is_not_verified(tmp_path):
    genuine = b"%PDF-1.7 genuine"
    forged = IssuedReportFactory(
        content=b"%PDF-1.7 other", sha256=hashlib.sha256(genuine).hexdigest()
    )
    path = tmp_path / "copy.pdf"
    path.write_bytes(genuine)

    with pytest.raises(CommandError) as refused:
        run("verify_report", str(path))

    assert refused.value.returncode == 3
    assert f"report {forged.pk}" in str(refused.value)


def test_the_system_check_refuses_production_without_a_signing_certificate(settings):
    from oversight.checks import check_report_signing

    settings.REPORT_SIGNING_GENERATE_DEV_CERT = False

    (error,) = check_report_signing()

    assert error.id == "oversight.E010"
    assert "no signing certificate is configured" in error.msg


def test_the_system_check_accepts_configured_files(settings, report_signing):
    from oversight.checks import check_report_signing

    settings.REPORT_SIGNING_GENERATE_DEV_CERT = False
    settings.REPORT_SIGNING_KEY_FILE = str(report_signing / signing.DEV_KEY_NAME)
    settings.REPORT_SIGNING_CERT_FILE = str(report_signing / signing.DEV_CERT_NAME)

    assert check_report_signing() == []
