"""Verify the audit ledger: its hash chain end to end (or from a checkpoint) and its anchors."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.models import VerificationTrigger
from audit.services.checkpoints import (
    AnchorFileError,
    anchor_document,
    latest_signed_checkpoint,
    read_anchor_file,
    write_anchor_file,
)
from audit.services.ledger import verify_ledger
from audit.services.verification import run_verification


class Command(BaseCommand):
    help = (
        "Walk the audit ledger in sequence order, recomputing every hash and link, and compare "
        "its end with the ledger head; then check every signed checkpoint's signature and that "
        "every checkpoint and every issued report's pinned ledger head is still in the chain "
        "with the same hash. Prints 'OK: N events, head <hash>' and exits 0, or "
        "'BROKEN at #<sequence>: <reason>' (naming the anchor that broke) and exits 1. Reads in "
        "fixed-size chunks: memory does not grow with the ledger. The result is recorded "
        "unless --no-record."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--since-checkpoint",
            action="store_true",
            help="Start at the latest signed checkpoint (its hash must still match) instead of "
            "the beginning of the ledger.",
        )
        parser.add_argument(
            "--no-record",
            action="store_true",
            help="Do not record the result (e.g. on a read-only replica).",
        )
        parser.add_argument(
            "--anchor",
            metavar="FILE",
            help="Also check the ledger against an anchor file written by --export-anchor: its "
            "signature, and that its event is still in the chain with its hash.",
        )
        parser.add_argument(
            "--export-anchor",
            metavar="FILE",
            help="After a successful check, write the latest signed checkpoint (with its "
            "public key) to FILE, for safekeeping outside the product.",
        )

    def handle(
        self,
        *args,
        since_checkpoint=False,
        no_record=False,
        anchor=None,
        export_anchor=None,
        **options,
    ):
        external = None
        if anchor:
            try:
                external = read_anchor_file(Path(anchor))
            except AnchorFileError as error:
                raise CommandError(f"BROKEN anchor file: {error}", returncode=1) from None
        if no_record:
            check = verify_ledger(since_checkpoint=since_checkpoint, anchor=external)
        else:
            check, _ = run_verification(
                triggered_by=VerificationTrigger.COMMAND,
                since_checkpoint=since_checkpoint,
                anchor=external,
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
        anchors = check.anchors
        if anchors is not None and (anchors.checkpoints or anchors.reports or external):
            line = (
                f"Anchors intact: {anchors.checkpoints - anchors.unsigned_checkpoints} signed "
                f"checkpoints, {anchors.reports} issued reports"
            )
            if external is not None:
                line += ", and the anchor file"
            self.stdout.write(line + ".")
            if anchors.unsigned_checkpoints:
                self.stdout.write(
                    f"{anchors.unsigned_checkpoints} checkpoints from before signing carry no "
                    "signature: checked against the chain, but they vouch for nothing."
                )
        elif anchors is not None:
            # An insider who empties or shortens the ledger also removes its checkpoints and
            # reports: then the chain alone is consistent, so say that nothing vouches for it.
            self.stdout.write(
                self.style.WARNING(
                    "No anchors: no signed checkpoint and no issued report vouches for this "
                    "ledger, so only its chain was checked (a deleted tail or an emptied ledger "
                    "passes that). Check it against an anchor kept outside the product: "
                    "verify_audit --anchor FILE."
                )
            )
        if export_anchor:
            self._export(Path(export_anchor))

    def _export(self, path: Path) -> None:
        checkpoint = latest_signed_checkpoint()
        if checkpoint is None:
            raise CommandError(
                "No signed checkpoint to export yet: run `manage.py checkpoint_ledger` first."
            )
        try:
            write_anchor_file(path, anchor_document(checkpoint))
        except AnchorFileError as error:
            raise CommandError(str(error)) from None
        except OSError as error:
            raise CommandError(f"Cannot write {path}: {error.strerror}.") from None
        self.stdout.write(
            f"Anchor written to {path}: checkpoint #{checkpoint.sequence} "
            f"({checkpoint.head_hash}), key {checkpoint.key_id}. Keep it outside the product."
        )
