"""Put guardian's decide/override permissions back in step with the grants; print what changed."""

from django.core.management.base import BaseCommand

from oversight.services.authority import reconcile_authority


class Command(BaseCommand):
    help = (
        "Re-derive every decide/override object permission from the authority grants in force "
        "now (training current), remove stray ones, and record expired grants in the audit "
        "ledger. Drift put right is normal: the command succeeds and prints what it fixed."
    )

    def handle(self, *args, **options):
        report = reconcile_authority()
        style = self.style.WARNING if report.changed else self.style.SUCCESS
        first, *rest = report.lines()
        self.stdout.write(style(first))
        for line in rest:
            self.stdout.write(line)
