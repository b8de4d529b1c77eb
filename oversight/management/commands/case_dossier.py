"""Issue the dossier of one case (what the system saw, tried, and what people decided)."""

from oversight.management.reporting import ReportCommand
from oversight.models import ReportKind


class Command(ReportCommand):
    help = (
        "Generate the dossier of one case with its decisions and history, store it as an "
        "issued report and write the PDF."
    )
    kind = ReportKind.DOSSIER

    def add_report_arguments(self, parser):
        parser.add_argument("case_id", metavar="CASE_ID", help="The case's id (a UUID).")

    def report_params(self, options) -> dict:
        return {"case": options["case_id"]}
