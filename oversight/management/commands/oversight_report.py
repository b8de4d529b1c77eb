"""Issue the oversight report of one AI system for a period, as a stored, verifiable PDF."""

from oversight.management.reporting import ReportCommand
from oversight.models import ReportKind


class Command(ReportCommand):
    help = (
        "Generate the oversight report of an AI system for a period (dates inclusive), store "
        "it as an issued report and write the PDF. Prints the report id, SHA-256 and pages."
    )
    kind = ReportKind.OVERSIGHT

    def add_report_arguments(self, parser):
        parser.add_argument("--system", required=True, metavar="SLUG", help="The AI system.")
        parser.add_argument(
            "--from", dest="start", required=True, metavar="YYYY-MM-DD", help="First day."
        )
        parser.add_argument(
            "--to", dest="end", required=True, metavar="YYYY-MM-DD", help="Last day."
        )

    def report_params(self, options) -> dict:
        return {"system": options["system"], "start": options["start"], "end": options["end"]}
