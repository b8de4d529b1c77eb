"""Run the ledger sealer (audit/services/sealer.py) until SIGTERM or Ctrl-C."""

import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from audit.services.sealer import POLL_SECONDS, SealerNotSupported, run_sealer


class Command(BaseCommand):
    help = (
        "Chain the audit events case openings record, in batches, holding the ledger's sealing "
        "lock (PostgreSQL). Run one beside the web server (make serve starts it); a second "
        "waits as a standby. Without it each case opening seals after its own commit. Stops "
        "on SIGTERM or Ctrl-C, sealing what is pending first."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--poll",
            type=float,
            default=POLL_SECONDS,
            help=f"seconds to sleep when nothing is pending (default {POLL_SECONDS})",
        )

    def handle(self, *args, poll, **options):
        if not 0 < poll <= 60:
            raise CommandError("--poll must be more than 0 and at most 60 seconds.")
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        try:
            sealed = run_sealer(
                poll=poll,
                should_stop=stop.is_set,
                on_lock=lambda: self.stdout.write("Ledger sealer: holding the sealing lock."),
            )
        except SealerNotSupported as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Ledger sealer stopped; {sealed} event(s) sealed.")
