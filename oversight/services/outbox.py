"""The outbox sweep: work the product owes someone is a row first, and is never lost.

A webhook delivery and a report request are written in the transaction that makes them owed,
and a task is enqueued on commit. Three things can lose that task: the web process dies between
the commit and the enqueue, the broker loses the message (Redis has no delivery receipts), or
the worker dies while running it (SIGKILL, out of memory, a host going away). The row survives
all three, so this sweep, run every minute by a django-q2 schedule, enqueues the task again for:

- a pending webhook delivery whose next attempt was due more than OUTBOX_GRACE_SECONDS ago.
  A claimed attempt pushes `next_attempt_at` to the end of its lease (the HTTP timeout plus a
  margin), so an attempt in flight is not touched until its worker must be gone;
- a queued report request older than the grace;
- a running report request whose lease lapsed (its worker stopped). After REPORT_MAX_ATTEMPTS
  such starts it is failed, with a message and a ledger event, rather than retried for ever: a
  report that kills its worker every time needs a person.

Enqueueing again is safe because each task claims its row first (a row lock for deliveries,
a conditional UPDATE for reports) and does nothing when the row is not due: a duplicate message
costs one query. Work is late by at most the grace plus a sweep interval, never lost.
"""

import datetime
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from oversight.models import DeliveryStatus, ReportRequest, ReportStatus, WebhookDelivery
from oversight.services import reports, webhooks

logger = logging.getLogger(__name__)

# The name of the standing schedule (created by migration), found by name so it is made once.
SWEEP_SCHEDULE = "Sweep the outbox (re-enqueue lost webhooks and reports)"
SWEEP_TASK = "oversight.tasks.sweep_outbox"
# Enough for any backlog a single sweep should push; the next minute's sweep takes the rest.
BATCH = 500
GAVE_UP = (
    "The report's worker stopped {attempts} times before finishing (killed, out of memory or "
    "timed out); it is not retried again. Request it again, or ask an administrator to look at "
    "the worker's logs (request {request_id})."
)


@dataclass(frozen=True)
class SweepResult:
    deliveries: int
    reports: int
    reports_failed: int

    def __str__(self) -> str:
        return (
            f"{self.deliveries} webhook deliveries and {self.reports} report requests enqueued "
            f"again; {self.reports_failed} report requests failed after repeated worker stops"
        )


def stale_deliveries(now: datetime.datetime):
    """Pending deliveries whose next attempt was due more than the grace ago."""
    cutoff = now - datetime.timedelta(seconds=settings.OUTBOX_GRACE_SECONDS)
    return WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).filter(
        Q(next_attempt_at__lt=cutoff) | Q(next_attempt_at__isnull=True, created_at__lt=cutoff)
    )


def stale_report_requests(now: datetime.datetime):
    """Queued requests older than the grace, and running ones whose lease lapsed."""
    cutoff = now - datetime.timedelta(seconds=settings.OUTBOX_GRACE_SECONDS)
    queued = Q(status=ReportStatus.QUEUED, requested_at__lt=cutoff)
    lapsed = Q(status=ReportStatus.RUNNING) & (
        Q(lease_expires_at__lt=now)
        | Q(lease_expires_at__isnull=True, started_at__lt=now - reports.report_lease())
    )
    return ReportRequest.objects.filter(queued | lapsed)


def sweep_outbox(*, now: datetime.datetime | None = None) -> SweepResult:
    """Enqueue again every delivery and report request a lost task left behind.

    Rules: only rows past their grace or lease (see the module docstring); a running report
    request that used up REPORT_MAX_ATTEMPTS is failed instead, fenced on its attempt number
    so a worker that took it meanwhile keeps it. Safe to run at any time, and twice.
    """
    now = now or timezone.now()
    delivery_ids = list(
        stale_deliveries(now).order_by("next_attempt_at").values_list("pk", flat=True)[:BATCH]
    )
    for delivery_id in delivery_ids:
        async_task(webhooks.DELIVER_TASK, str(delivery_id))
    requeued = failed = 0
    for request in stale_report_requests(now).order_by("requested_at")[:BATCH]:
        if request.attempts >= settings.REPORT_MAX_ATTEMPTS:
            message = GAVE_UP.format(attempts=request.attempts, request_id=request.pk)
            failed += reports.fail_request(request, message, attempt=request.attempts)
            continue
        async_task(reports.GENERATE_TASK, str(request.pk))
        requeued += 1
    result = SweepResult(deliveries=len(delivery_ids), reports=requeued, reports_failed=failed)
    if delivery_ids or requeued or failed:
        logger.warning("Outbox sweep: %s.", result)
    return result
