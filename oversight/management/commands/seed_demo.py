"""Load the demo data (oversight.demo) and print the demo logins."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from oversight.demo import DEMO_LOGINS, ForeignDataError, SeedResult, seed_demo
from oversight.exceptions import DomainError


class Command(BaseCommand):
    help = (
        "Create the demo data (users, the support assistant, journeys, judgement points, "
        "training, grants and cases in every state). Idempotent: a second run creates nothing. "
        "Refuses a database that holds other data unless --force is given."
    )

    def add_arguments(self, parser):
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--force",
            action="store_true",
            help="Add the demo data even though the database holds other users or AI systems.",
        )
        mode.add_argument(
            "--skip-if-not-demo",
            action="store_true",
            help="If the database holds other data, change nothing and exit successfully "
            "(for `make run` on a database in real use).",
        )

    def handle(self, *args, force: bool, skip_if_not_demo: bool, **options):
        try:
            result = seed_demo(force=force)
        except ForeignDataError as error:
            found = "; ".join(error.findings)
            if skip_if_not_demo:
                self.stdout.write(f"Demo data not loaded: this database holds {found}.")
                return
            raise CommandError(
                f"This database holds data that is not demo data: {found}. Nothing was "
                "changed. Run seed_demo --force to add the demo data alongside it."
            ) from error
        except (DomainError, ValidationError) as error:
            raise CommandError(
                f"Demo data could not be loaded, nothing was changed: {error}"
            ) from error
        self._print_summary(result)
        self._print_logins(result)

    def _print_summary(self, result: SeedResult) -> None:
        verb = "loaded" if result.created_anything else "already present, nothing created"
        self.stdout.write(self.style.SUCCESS(f"Demo data {verb}."))
        width = max(len(kind) for kind in result.tallies)
        self.stdout.write(f"  {'':<{width}}  created  found")
        for kind, tally in result.tallies.items():
            self.stdout.write(f"  {kind:<{width}}  {tally.created:>7}  {tally.found:>5}")

    def _print_logins(self, result: SeedResult) -> None:
        self.stdout.write("\nDemo logins (demo data only: never use these passwords elsewhere):")
        rows = [("username", "password", "role")]
        rows += [(login.username, login.password, login.role) for login in DEMO_LOGINS]
        widths = [max(len(row[column]) for row in rows) for column in range(2)]
        for username, password, role in rows:
            self.stdout.write(f"  {username:<{widths[0]}}  {password:<{widths[1]}}  {role}")
        for username in result.changed_passwords:
            self.stdout.write(
                self.style.WARNING(
                    f"  Note: {username} existed before this run and has another password."
                )
            )
