"""Issue the AI-literacy register as of a day, optionally for one AI system or team."""

from oversight.management.reporting import ReportCommand
from oversight.models import ReportKind


class Command(ReportCommand):
    help = (
        "Generate the AI-literacy register (who holds which training, current or not) as of a "
        "day, optionally narrowed to the people overseeing one AI system or to one team; store "
        "it as an issued report and write the PDF."
    )
    kind = ReportKind.LITERACY

    def add_report_arguments(self, parser):
        parser.add_argument("--as-of", required=True, metavar="YYYY-MM-DD", help="The day.")
        parser.add_argument("--system", metavar="SLUG", help="Only people overseeing it.")
        parser.add_argument("--team", metavar="NAME", help="Only members of this group.")

    def report_params(self, options) -> dict:
        return {
            "as_of": options["as_of"],
            "system": options.get("system") or None,
            "team": options.get("team") or None,
        }
