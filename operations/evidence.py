"""After a restore: is the evidence what was issued? The ledger and every issued report, checked
against what does not live in the restored database alone.

- The ledger: its hash chain end to end, every signed checkpoint's signature, every issued
  report's pinned ledger head (audit.services.ledger.verify_ledger), and optionally an anchor
  file exported before the backup (`verify_audit --export-anchor`), kept outside the database.
- Every issued report: its stored bytes still hash to its stored SHA-256 (what `verify_report`
  compares copies with), and its PDF signature is intact and covers the whole file, as any
  PDF reader would judge it (oversight.services.report_verification, the same verdict as the
  admin's "Verify a PDF" page).

A restore that lost the tail of the ledger, rewrote a report's bytes or its stored hash, or
mixed tables from two different backups fails one of these.
"""

import dataclasses

from audit.services.anchors import Anchor
from audit.services.ledger import ChainCheck, verify_ledger
from oversight.models import IssuedReport
from oversight.services.report_verification import verify_report_bytes

REPORT_CHUNK = 20  # reports (PDF bytes) held in memory at once


@dataclasses.dataclass(frozen=True)
class ReportProblem:
    report_id: str
    title: str
    problem: str


@dataclasses.dataclass(frozen=True)
class EvidenceCheck:
    ledger: ChainCheck
    reports_checked: int
    report_problems: list[ReportProblem]

    @property
    def ok(self) -> bool:
        return self.ledger.ok and not self.report_problems


def check_report(report: IssuedReport) -> str:
    """ "" when the report's stored bytes are what it was issued as, else what is wrong."""
    verdict = verify_report_bytes(bytes(report.content))
    if not verdict.ok or verdict.report is None or verdict.report.pk != report.pk:
        return (
            f"its stored bytes hash to {verdict.sha256}, not to its recorded sha256 {report.sha256}"
        )
    if not verdict.signature.ok:
        return verdict.signature_line
    return ""


def verify_evidence(*, anchor: Anchor | None = None) -> EvidenceCheck:
    """Check the ledger (against its anchors, and `anchor` when given) and every issued report."""
    ledger = verify_ledger(anchor=anchor)
    problems = []
    checked = 0
    reports = IssuedReport.objects.only("id", "title", "sha256", "content").order_by("id")
    for report in reports.iterator(chunk_size=REPORT_CHUNK):
        checked += 1
        problem = check_report(report)
        if problem:
            problems.append(ReportProblem(str(report.pk), report.title, problem))
    return EvidenceCheck(ledger=ledger, reports_checked=checked, report_problems=problems)
