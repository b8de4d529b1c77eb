"""Issue the authority register as it stood at the end of a day, as a stored, verifiable PDF."""

from oversight.management.reporting import ReportCommand
from oversight.models import ReportKind


class Command(ReportCommand):
    help = (
        "Generate the authority register (who held which authority on what) as of a day, "
        "store it as an issued report and write the PDF."
    )
    kind = ReportKind.AUTHORITY

    def add_report_arguments(self, parser):
        parser.add_argument("--as-of", required=True, metavar="YYYY-MM-DD", help="The day.")

    def report_params(self, options) -> dict:
        return {"as_of": options["as_of"]}
