"""Checking the ledger on the record: every verification is kept, and checkpoints anchor it."""

import logging
import time

from audit.models import (
    CheckpointKind,
    LedgerCheckpoint,
    LedgerVerification,
    VerificationTrigger,
)
from audit.services.anchors import Anchor
from audit.services.checkpoints import checkpoint_verified_head, latest_signed_checkpoint
from audit.services.ledger import ChainCheck, verify_ledger

logger = logging.getLogger(__name__)


def run_verification(
    *, triggered_by: str, user=None, since_checkpoint: bool = False, anchor: Anchor | None = None
) -> tuple[ChainCheck, LedgerVerification]:
    """Verify the ledger and keep the result as a LedgerVerification (insert-only).

    A broken chain is logged as an error as well: whoever watches the logs hears of it before
    the next compliance officer opens the admin.
    """
    started = time.perf_counter()
    check = verify_ledger(since_checkpoint=since_checkpoint, anchor=anchor)
    duration_ms = round((time.perf_counter() - started) * 1000)
    record = LedgerVerification.objects.create(
        ok=check.ok,
        from_sequence=check.from_sequence,
        count=check.count,
        head_sequence=check.head_sequence,
        head_hash=check.head_hash,
        broken_at=check.broken_at,
        reason=check.reason,
        since_checkpoint=since_checkpoint,
        duration_ms=duration_ms,
        triggered_by=triggered_by,
        user=user,
    )
    if check.ok:
        logger.info("Audit trail verified: %s (%d ms)", check.summary(), duration_ms)
    else:
        logger.error("Audit trail verification failed: %s", check.summary())
    return check, record


def create_daily_checkpoint() -> LedgerCheckpoint | None:
    """Anchor the verified head: check from the latest checkpoint on, then sign the head.

    Nothing is anchored when the check fails (the failure is recorded and logged) or when no
    event was added since the last signed checkpoint. Safe to run twice.
    """
    check, _ = run_verification(triggered_by=VerificationTrigger.SCHEDULE, since_checkpoint=True)
    return checkpoint_verified_head(kind=CheckpointKind.DAILY, check=check)


def create_checkpoint_now(*, triggered_by: str, user=None) -> tuple[ChainCheck, LedgerCheckpoint]:
    """On demand: verify the whole ledger and sign its head (or return the checkpoint that
    already covers it). Nothing is signed when the check fails."""
    check, _ = run_verification(triggered_by=triggered_by, user=user)
    checkpoint = checkpoint_verified_head(kind=CheckpointKind.ON_DEMAND, check=check)
    if checkpoint is None and check.ok:
        checkpoint = latest_signed_checkpoint()
    return check, checkpoint
