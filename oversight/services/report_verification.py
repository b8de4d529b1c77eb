"""Is this PDF, byte for byte, a report this system issued? One verdict for every caller.

`verify_report_bytes` is the check itself, shared by `manage.py verify_report` and the admin's
"Verify a PDF" page so both always give the same verdict. `verify_uploaded_report` is the
admin's service: it refuses bad uploads, runs the check and writes to the ledger who checked
which file (its SHA-256) and the verdict, because a copy checked before an audit is itself
evidence ("report.verified").

A refused upload (empty, too large, not a PDF) is NOT written to the ledger: nothing was
checked, no report was named, and the ledger records consequential actions, not typing
mistakes; writing refusals would also let any officer fill the ledger with junk files.
"""

import dataclasses
import logging

from django.conf import settings
from django.db import transaction
from django.template.defaultfilters import filesizeformat

from audit.services.ledger import Actor, append_event
from oversight.exceptions import InvalidInput, NotAllowed
from oversight.models import IssuedReport
from oversight.reports.verification import SignatureCheck, check_copy
from oversight.reports.verification import Verdict as CopyVerdict
from oversight.services.reports import sha256_of

logger = logging.getLogger(__name__)

ISSUED = CopyVerdict.ISSUED.value  # byte for byte a report this system issued
COPY = CopyVerdict.COPY.value  # names an issued report, but its bytes differ (e.g. re-saved)
FOREIGN = CopyVerdict.FOREIGN.value  # not a report of this system


def describe_signature(signature: SignatureCheck) -> str:
    """What the file's PDF signature says, in one sentence, as any PDF reader would judge it."""
    if signature.ok:
        trusted = ", this installation's signing certificate" if signature.trusted else ""
        return (
            f"PDF signature: intact, covers the whole file, signed by {signature.signer} "
            f"(certificate sha256 {signature.signer_sha256}{trusted})"
        )
    if signature.present and signature.intact:
        return "PDF signature: intact, but the file was changed or added to after signing"
    if signature.present:
        problem = f" ({signature.problem})" if signature.problem else ""
        return f"PDF signature: BROKEN, the signed bytes were changed{problem}"
    return f"PDF signature: none ({signature.problem})"


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The outcome of checking one file: `ok` only when it is exactly an issued report."""

    code: str
    sha256: str
    size: int
    signature: SignatureCheck
    report: IssuedReport | None = None

    @property
    def ok(self) -> bool:
        return self.code == ISSUED

    @property
    def signature_line(self) -> str:
        return describe_signature(self.signature)

    @property
    def summary(self) -> str:
        """The verdict in the words `verify_report` prints (without the file's path)."""
        if self.code == ISSUED:
            return f"Issued by HITL Oversight: {self.report}, report {self.report.pk}"
        if self.code == COPY:
            return (
                f"A re-saved copy of report {self.report.pk}: content unverifiable, compare "
                f"with the issued original. It names report {self.report.pk} ({self.report}) "
                f"but its bytes differ from the issued PDF (sha256 {self.sha256}, issued "
                f"{self.report.sha256})."
            )
        return (
            "NOT a report of this system. Its content differs from every report this system "
            "issued, and it names none of them."
        )


def verify_report_bytes(data: bytes) -> Verdict:
    """Issued, a re-saved copy of an issued report, or foreign (`check_copy`), with the PDF
    signature's own verdict beside it.

    Only the stored bytes prove a copy is what this system issued: any changed byte makes it a
    copy at best, and a stored row whose bytes do not match its own hash is not trusted either.
    """
    check = check_copy(data)
    return Verdict(
        code=check.verdict.value,
        sha256=sha256_of(data),
        size=len(data),
        signature=check.signature,
        report=check.report,
    )


# Room for the multipart envelope around the file (boundaries, headers, the CSRF token).
UPLOAD_ENVELOPE_BYTES = 64 * 1024


def refuse_oversized(size: int) -> None:
    """InvalidInput when `size` bytes exceed REPORT_VERIFY_MAX_BYTES (the upload's limit)."""
    limit = settings.REPORT_VERIFY_MAX_BYTES
    if size > limit:
        raise InvalidInput(
            f"The file is larger than {filesizeformat(limit)}, more than any report this "
            "system issues: it is not one of them. Nothing was recorded."
        )


def refuse_oversized_request(content_length: int) -> None:
    """Refuses a whole upload request before its body is read (and spooled to disk)."""
    refuse_oversized(max(0, content_length - UPLOAD_ENVELOPE_BYTES))


def _read_limited(upload, limit: int) -> bytes:
    # Reads at most one byte past the limit, whatever size the client claimed.
    data = upload.read(limit + 1)
    return bytes(data or b"")


def verify_uploaded_report(*, user, upload, filename: str = "") -> Verdict:
    """Check an uploaded copy of a report and record the check in the ledger.

    Rules: `oversight.view_issuedreport` is required (those who may download reports may check
    them). The upload must be non-empty, at most REPORT_VERIFY_MAX_BYTES, and start like a PDF
    (`%PDF-`); otherwise InvalidInput, and nothing is written (see the module docstring). Every
    check that runs appends "report.verified" with the file's SHA-256, name, size and verdict.
    """
    if user is None or not user.has_perm("oversight.view_issuedreport"):
        raise NotAllowed("You may not verify reports; compliance officers may.")
    limit = settings.REPORT_VERIFY_MAX_BYTES
    data = _read_limited(upload, limit)
    name = (filename or "")[:200]
    if not data:
        raise InvalidInput("The file is empty: choose the PDF you want to check.")
    refuse_oversized(len(data))
    if not data.startswith(b"%PDF-"):
        raise InvalidInput(
            f"“{name or 'The file'}” is not a PDF (it does not start with %PDF-). "
            "Choose the report's PDF file."
        )
    verdict = verify_report_bytes(data)
    with transaction.atomic():
        append_event(
            actor=Actor.for_user(user),
            action="report.verified",
            obj=verdict.report,
            object_type="" if verdict.report else "oversight.issuedreport",
            payload={
                "sha256": verdict.sha256,
                "filename": name,
                "size": verdict.size,
                "verdict": verdict.code,
                "report": str(verdict.report.pk) if verdict.report else None,
            },
        )
    logger.info("Report copy %s checked by %s: %s", verdict.sha256, user, verdict.code)
    return verdict
