"""django-q2 task functions for the audit trail (thin: call a service, return a line for the log).

All are safe to run twice: a second verification is one more record, a second checkpoint of
the same head is not written, a second sealing finds nothing left to seal.
"""

from audit.models import VerificationTrigger
from audit.services.sealing import seal_pending
from audit.services.verification import create_daily_checkpoint, run_verification


def seal_pending_events() -> str:
    """Every minute: chain the events a process recorded but died before sealing (rare; the
    request that records an event seals it right after its commit)."""
    return f"{seal_pending()} pending ledger event(s) sealed."


def verify_audit_trail() -> str:
    """Daily: seal what is pending, verify the whole ledger and record the result."""
    seal_pending()
    check, _ = run_verification(triggered_by=VerificationTrigger.SCHEDULE)
    return check.summary()


def checkpoint_ledger() -> str:
    """Daily: verify since the latest checkpoint and anchor the head in a new one."""
    checkpoint = create_daily_checkpoint()
    return str(checkpoint) if checkpoint else "No new checkpoint."
