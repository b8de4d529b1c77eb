"""What the report commands share: `--out` and `--user`, issuing the report, writing the file.

Each command names its parameters; this module turns them into one `issue_report_now` call and
writes the PDF only once the report is issued, through a temporary file in the same directory,
so a refusal or failure leaves no file (and no half-written one) behind.
"""

import os
import tempfile
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from oversight.exceptions import DomainError
from oversight.models import IssuedReport, RequestedVia
from oversight.services.reports import issue_report_now


class ReportCommand(BaseCommand):
    """Base of the report commands: subclasses set `kind` and implement `report_params`."""

    kind = ""

    def add_arguments(self, parser):
        self.add_report_arguments(parser)
        parser.add_argument(
            "--out", required=True, metavar="FILE.pdf", help="Where to write the PDF."
        )
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            help="Record this person as the requester; they need permission to request "
            "reports. Without it the report is recorded as requested from the command line.",
        )

    def add_report_arguments(self, parser):
        raise NotImplementedError

    def report_params(self, options) -> dict:
        raise NotImplementedError

    def handle(self, *args, **options):
        out = Path(options["out"])
        if not out.parent.is_dir():
            raise CommandError(f"The directory {out.parent} does not exist; nothing was written.")
        if out.is_dir():
            raise CommandError(f"{out} is a directory; give a file name ending in .pdf.")
        user = self._user(options.get("user"))
        try:
            report = issue_report_now(
                user=user,
                kind=self.kind,
                params=self.report_params(options),
                via=RequestedVia.COMMAND,
            )
        except DomainError as error:
            raise CommandError(error.message) from None
        write_atomically(out, bytes(report.content))
        self.stdout.write(self.style.SUCCESS(describe(report)))
        self.stdout.write(f"Written to {out}")

    @staticmethod
    def _user(username: str | None):
        if not username:
            return None
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"There is no user “{username}”.")
        return user


def describe(report: IssuedReport) -> str:
    return (
        f"Report {report.pk}: {report}, {report.page_count} "
        f"page{'s' if report.page_count != 1 else ''}, sha256 {report.sha256}"
    )


def write_atomically(path: Path, content: bytes) -> None:
    """Write `content` to `path` completely or not at all."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".report-", suffix=".pdf")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
