"""Check that a PDF is, byte for byte, a report this system issued."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from oversight.services.report_verification import BYTES_DIFFER, UNKNOWN, verify_report_bytes


class Command(BaseCommand):
    help = (
        "Compute the file's SHA-256 and look it up among the issued reports, then compare the "
        "file with the stored bytes. Prints 'Issued by HITL Oversight: ...' and exits 0, or "
        "'NOT an issued report ...' and exits 1: any changed byte is rejected."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE.pdf", help="The PDF to check.")

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            content = path.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror or error}.") from None
        # The same verdict as the admin's "Verify a PDF" page.
        verdict = verify_report_bytes(content)
        digest, report = verdict.sha256, verdict.report
        if verdict.code == UNKNOWN:
            raise CommandError(
                f"NOT an issued report (no report with this SHA-256): {path}, sha256 {digest}. "
                "Its content differs from every report this system issued.",
                returncode=1,
            )
        if verdict.code == BYTES_DIFFER:
            raise CommandError(
                f"NOT an issued report (its bytes differ from report {report.pk}, which has "
                f"the same SHA-256): {path}, sha256 {digest}.",
                returncode=1,
            )
        generated = timezone.localtime(report.generated_at).isoformat(timespec="seconds")
        self.stdout.write(
            self.style.SUCCESS(
                f"Issued by HITL Oversight: {report}, report {report.pk}, "
                f"generated {generated}, sha256 {digest}"
            )
        )
        requester = report.requested_by.get_username() if report.requested_by else "-"
        self.stdout.write(
            f"{report.page_count} pages; requested by {requester}; covers the audit ledger up "
            f"to #{report.ledger_sequence} ({report.ledger_hash}); data sha256 "
            f"{report.data_sha256}"
        )
