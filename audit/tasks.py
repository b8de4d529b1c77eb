"""django-q2 task functions for the audit trail (thin: call a service, return a line for the log).

Both are safe to run twice: a second verification is one more record, a second checkpoint of
the same head is not written.
"""

from audit.models import VerificationTrigger
from audit.services.verification import create_daily_checkpoint, run_verification


def verify_audit_trail() -> str:
    """Daily: verify the whole ledger and record the result."""
    check, _ = run_verification(triggered_by=VerificationTrigger.SCHEDULE)
    return check.summary()


def checkpoint_ledger() -> str:
    """Daily: verify since the latest checkpoint and anchor the head in a new one."""
    checkpoint = create_daily_checkpoint()
    return str(checkpoint) if checkpoint else "No new checkpoint."
