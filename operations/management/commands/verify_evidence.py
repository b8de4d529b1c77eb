"""After restoring a backup: verify the audit ledger and every issued report against anchors."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.services.checkpoints import AnchorFileError, read_anchor_file
from operations.evidence import verify_evidence


class Command(BaseCommand):
    help = (
        "Verify the evidence after a restore (docs/operations.md): the audit ledger's hash chain "
        "end to end against its signed checkpoints, the ledger heads pinned in issued reports "
        "and, with --anchor, an anchor file kept outside the database; then every issued "
        "report's stored bytes against its SHA-256 and its PDF signature. Prints what was "
        "checked and exits 0, or names each problem and exits 1. Records nothing (a restored "
        "database may be a copy under inspection)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--anchor",
            metavar="FILE",
            help="An anchor file written by `verify_audit --export-anchor` before the backup.",
        )

    def handle(self, *args, anchor=None, **options):
        external = None
        if anchor:
            try:
                external = read_anchor_file(Path(anchor))
            except AnchorFileError as error:
                raise CommandError(f"BROKEN anchor file: {error}", returncode=1) from None
        check = verify_evidence(anchor=external)
        ledger = check.ledger
        anchors = ledger.anchors
        lines = [f"Ledger: {ledger.summary()}"]
        if anchors is not None:
            lines.append(
                f"Ledger anchors: {anchors.checkpoints - anchors.unsigned_checkpoints} signed "
                f"checkpoints, {anchors.reports} issued reports' ledger heads"
                + (", the anchor file" if external is not None else "")
                + " checked."
            )
            if not (anchors.checkpoints or anchors.reports or external):
                lines.append(
                    "WARNING: nothing vouches for this ledger but its own chain (no signed "
                    "checkpoint, no issued report, no --anchor file)."
                )
        intact = check.reports_checked - len(check.report_problems)
        lines.append(
            f"Reports: {check.reports_checked} issued, {intact} intact (stored bytes match "
            "their SHA-256, PDF signature intact over the whole file)."
        )
        for problem in check.report_problems:
            lines.append(f"BROKEN report {problem.report_id} ({problem.title}): {problem.problem}")
        if not check.ok:
            raise CommandError("\n".join(lines), returncode=1)
        self.stdout.write("\n".join(lines))
        self.stdout.write(self.style.SUCCESS("Evidence verified."))
