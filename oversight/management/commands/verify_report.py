"""Check a PDF: a report this system issued, a re-saved copy of one, or not a report of ours."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from oversight.services.report_verification import COPY, FOREIGN, verify_report_bytes

# Exit codes, as `diff` uses them: 0 the same, 1 different, 2 trouble; 3 is the middle verdict.
EXIT_ISSUED = 0
EXIT_NOT_OURS = 1
EXIT_UNREADABLE = 2
EXIT_COPY = 3


class Command(BaseCommand):
    help = (
        "Say whether a file is a report this system issued, byte for byte (prints 'Issued by "
        "HITL Oversight: ...', exit 0); a copy that names an issued report but whose bytes "
        "differ, e.g. re-saved by another tool (exit 3: content unverifiable, compare with the "
        "issued original); or not a report of this system (exit 1). Exit 2: the file could "
        "not be read. Also prints what the file's PDF signature says."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE.pdf", help="The PDF to check.")

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            content = path.read_bytes()
        except OSError as error:
            raise CommandError(
                f"Cannot read {path}: {error.strerror or error}.", returncode=EXIT_UNREADABLE
            ) from None
        # The same verdict as the admin's "Verify a PDF" page.
        verdict = verify_report_bytes(content)
        digest, signature_line = verdict.sha256, verdict.signature_line
        if verdict.code == FOREIGN:
            raise CommandError(
                f"NOT a report of this system: {path}, sha256 {digest}. Its content differs "
                "from every report this system issued, and it names none of them. "
                f"{signature_line}.",
                returncode=EXIT_NOT_OURS,
            )
        report = verdict.report
        if verdict.code == COPY:
            raise CommandError(
                f"A re-saved copy of report {report.pk}: content unverifiable, compare with the "
                f"issued original. {path} names report {report.pk} ({report}) but its bytes "
                f"differ from the issued PDF (sha256 {digest}, issued {report.sha256}). "
                f"{signature_line}.",
                returncode=EXIT_COPY,
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
        self.stdout.write(signature_line)
