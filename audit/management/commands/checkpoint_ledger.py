"""Verify the ledger and sign its head now (the daily schedule does the same at 03:30 UTC)."""

from django.core.management.base import BaseCommand, CommandError

from audit.models import VerificationTrigger
from audit.services.verification import create_checkpoint_now


class Command(BaseCommand):
    help = (
        "Verify the whole audit ledger and write a checkpoint of its head signed with the "
        "ledger signing key (LEDGER_SIGNING_KEY_FILE). Nothing is signed when the ledger does "
        "not verify."
    )

    def handle(self, *args, **options):
        check, checkpoint = create_checkpoint_now(triggered_by=VerificationTrigger.COMMAND)
        if not check.ok:
            raise CommandError(f"Not signed: {check.summary()}", returncode=1)
        if checkpoint is None:
            self.stdout.write("The ledger is empty: nothing to sign.")
            return
        self.stdout.write(
            f"Signed checkpoint at #{checkpoint.sequence} ({checkpoint.head_hash}), "
            f"key {checkpoint.key_id}, {checkpoint.created_at:%Y-%m-%d %H:%M:%S} UTC."
        )
