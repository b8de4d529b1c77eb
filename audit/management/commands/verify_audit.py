"""Verify the audit ledger's hash chain end to end (or from the latest checkpoint)."""

from django.core.management.base import BaseCommand, CommandError

from audit.models import VerificationTrigger
from audit.services.ledger import verify_ledger
from audit.services.verification import run_verification


class Command(BaseCommand):
    help = (
        "Walk the audit ledger in sequence order, recomputing every hash and link, and compare "
        "its end with the ledger head. Prints 'OK: N events, head <hash>' and exits 0, or "
        "'BROKEN at #<sequence>: <reason>' and exits 1. Reads in fixed-size chunks: memory "
        "does not grow with the ledger. The result is recorded unless --no-record."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--since-checkpoint",
            action="store_true",
            help="Start at the latest checkpoint (its hash must still match) instead of the "
            "beginning of the ledger.",
        )
        parser.add_argument(
            "--no-record",
            action="store_true",
            help="Do not record the result (e.g. on a read-only replica).",
        )

    def handle(self, *args, since_checkpoint=False, no_record=False, **options):
        if no_record:
            check = verify_ledger(since_checkpoint=since_checkpoint)
        else:
            check, _ = run_verification(
                triggered_by=VerificationTrigger.COMMAND, since_checkpoint=since_checkpoint
            )
        if not check.ok:
            raise CommandError(check.summary(), returncode=1)
        self.stdout.write(self.style.SUCCESS(check.summary()))
        start = (
            f"checkpoint #{check.checkpoint.sequence} ({check.checkpoint.get_kind_display()})"
            if check.checkpoint
            else "the first event"
        )
        if check.count:
            self.stdout.write(
                f"Checked #{check.from_sequence}–#{check.head_sequence}, starting from {start}."
            )
