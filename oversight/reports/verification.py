"""Recognising a copy of a report: issued as is, a re-saved copy of one, or not ours at all.

Only the stored bytes prove a copy is what this system issued (`find_issued` by SHA-256, then a
byte comparison). A copy another tool re-saved (a viewer's "Save as", a PDF library) has the
same text but other bytes: it still names its report (the id is in the PDF's metadata and on
its first page), so it can be told apart from an unrelated file, but its content cannot be
vouched for: the reader is sent to the issued original. The PDF signature is checked as well,
with pyHanko, as any reader without this product would.
"""

import io
import logging
import re
import uuid
from dataclasses import dataclass
from enum import StrEnum

from oversight.models import IssuedReport
from oversight.services.reports import find_issued

logger = logging.getLogger(__name__)

METADATA_KEY = "/hitlreportid"  # from <meta name="hitl-report-id"> (templates/reports/base.html)
_REPORT_ID_TEXT = re.compile(
    r"Report id\s*([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})", re.I
)
_PDF_HEADER_WINDOW = 1024  # readers accept a header within the first KiB


class Verdict(StrEnum):
    ISSUED = "issued"  # byte for byte a report this system issued
    COPY = "copy"  # names a report this system issued, but its bytes differ
    FOREIGN = "foreign"  # not a report of this system


@dataclass(frozen=True)
class SignatureCheck:
    """What pyHanko says of the file's PDF signature, as a reader without the product sees it."""

    present: bool
    intact: bool = False  # the signed bytes are unchanged
    covers_whole_file: bool = False  # nothing was appended after signing
    signer: str = ""  # the signing certificate's subject
    signer_sha256: str = ""  # fingerprint of the signing certificate (DER)
    trusted: bool = False  # signed with the certificate this installation signs with now
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.present and self.intact and self.covers_whole_file


@dataclass(frozen=True)
class CopyCheck:
    verdict: Verdict
    report: IssuedReport | None
    named_report_id: str | None
    signature: SignatureCheck


def _is_pdf(content: bytes) -> bool:
    return b"%PDF-" in content[:_PDF_HEADER_WINDOW]


def named_report_id(content: bytes) -> str | None:
    """The report id a PDF names in its metadata, or else on its first page; None if none.

    A text file, or a PDF that cannot be parsed, names nothing.
    """
    if not _is_pdf(content):
        return None
    import pypdf

    candidates = []
    try:
        reader = pypdf.PdfReader(io.BytesIO(content), strict=False)
        metadata = reader.metadata or {}
        candidates.append(str(metadata.get(METADATA_KEY) or ""))
        # Apart: a damaged page must not lose the id the metadata still names.
        if reader.pages:
            candidates.append(reader.pages[0].extract_text() or "")
    except Exception:  # any parse failure: a damaged or foreign file names no report
        logger.info("A PDF given to verify could not be parsed.", exc_info=True)
    for text in candidates:
        text = text.strip()
        try:
            return str(uuid.UUID(text))
        except ValueError:
            pass
        found = _REPORT_ID_TEXT.search(text)
        if found:
            return str(uuid.UUID(found.group(1)))
    return None


def check_signature(content: bytes, *, trusted_cert_pem: bytes | None = None) -> SignatureCheck:
    """The first PDF signature of `content`, validated by pyHanko (integrity, coverage).

    Trust in the certificate is the reader's decision; `signer_sha256` lets them compare it
    with the certificate the compliance team published.
    """
    if not _is_pdf(content):
        return SignatureCheck(present=False, problem="not a PDF")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(content), strict=False)
        signatures = reader.embedded_signatures
    except Exception as error:  # a damaged file: no signature can be read from it
        return SignatureCheck(present=False, problem=f"unreadable PDF ({error.__class__.__name__})")
    if not signatures:
        return SignatureCheck(present=False, problem="no PDF signature")
    embedded = signatures[0]
    roots = []
    if trusted_cert_pem:
        from asn1crypto import pem
        from asn1crypto import x509 as asn1_x509

        _, _, der = pem.unarmor(trusted_cert_pem)
        roots.append(asn1_x509.Certificate.load(der))
    try:
        status = validate_pdf_signature(
            embedded, ValidationContext(trust_roots=roots, allow_fetching=False)
        )
    except (SignatureValidationError, ValueError) as error:
        return SignatureCheck(present=True, problem=str(error)[:200])
    cert = x509.load_der_x509_certificate(status.signing_cert.dump())
    return SignatureCheck(
        present=True,
        intact=bool(status.intact and status.valid),
        covers_whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        signer=cert.subject.rfc4514_string(),
        signer_sha256=cert.fingerprint(hashes.SHA256()).hex(),
        trusted=bool(status.trusted),
    )


def _current_certificate() -> bytes | None:
    from oversight.reports.signing import SigningNotConfigured, signing_certificate_pem

    try:
        return signing_certificate_pem()
    except SigningNotConfigured:
        return None


def check_copy(content: bytes) -> CopyCheck:
    """Say whether `content` is an issued report, a copy of one with other bytes, or foreign.

    Issued: its SHA-256 names a stored report and the bytes are identical. Copy: it names (in
    its metadata or first page) a report this system issued, but its bytes are not that
    report's. Foreign: anything else, an unrelated PDF or a text file.
    """
    signature = check_signature(content, trusted_cert_pem=_current_certificate())
    report = find_issued(content)
    if report is not None:
        # Same SHA-256 but other bytes means the stored row itself is not to be trusted.
        verdict = Verdict.ISSUED if bytes(report.content) == content else Verdict.COPY
        return CopyCheck(verdict, report, str(report.pk), signature)
    named = named_report_id(content)
    if named is not None:
        original = IssuedReport.objects.defer("content").filter(pk=named).first()
        if original is not None:
            return CopyCheck(Verdict.COPY, original, named, signature)
    return CopyCheck(Verdict.FOREIGN, None, named, signature)
