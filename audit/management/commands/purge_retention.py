"""Delete ledger events and gate evaluations older than their retention (the sanctioned path)."""

from django.core.management.base import BaseCommand, CommandError

from audit.services.ledger import Actor
from audit.services.retention import RetentionRefused, purge_expired


class Command(BaseCommand):
    help = (
        "Delete audit events older than RETENTION_LEDGER_DAYS (the oldest part of the chain, "
        "after a purge checkpoint) and gate evaluations older than "
        "RETENTION_GATE_EVALUATIONS_DAYS that nothing refers to. Refuses retentions under six "
        "months and ledgers that do not verify. The purge is recorded in the ledger."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would be deleted; delete nothing."
        )

    def handle(self, *args, dry_run=False, **options):
        try:
            report = purge_expired(actor=Actor.system("purge_retention"), dry_run=dry_run)
        except RetentionRefused as refused:
            raise CommandError(refused.message) from None
        for line in report.lines():
            self.stdout.write(line)
