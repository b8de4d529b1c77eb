"""Decision webhooks: signed POSTs to an AI system's callback URL, retried with backoff.

The flow:

1. `enqueue_decision_webhook` runs inside the deciding service's transaction. It stores the
   exact JSON body to send and enqueues `oversight.tasks.deliver_webhook` on commit, so a rolled
   back decision sends nothing and the worker never looks for a row that is not there yet.
2. `attempt_delivery` (the task) claims one attempt under a row lock and commits, POSTs outside
   any transaction (a slow receiver must not hold a database transaction open), then records
   the result in a second transaction: delivered, a django-q2 one-off schedule for the next
   attempt, or failed once WEBHOOK_MAX_ATTEMPTS attempts have failed.

Brokers may hand a task out twice (Redis has no delivery receipts), and schedules may fire
after a newer attempt was made. A claim therefore needs the delivery to be pending *and* due
(`next_attempt_at` reached); a claim moves `next_attempt_at` past the end of the HTTP call (a
lease), so a second worker finds it not due and does nothing. A task lost altogether (the web
process died before its on-commit enqueue, the broker dropped it, the worker was killed) is
enqueued again by the outbox sweep (`oversight.services.outbox`) once the delivery has been due
for OUTBOX_GRACE_SECONDS. Delivery is at least once: every attempt carries the same
`X-HITL-Delivery` id and body, and receivers act once per id (docs/api.md).

Signature scheme, for integrators (see `verify_signature`):

    X-HITL-Timestamp: <unix seconds when signed>
    X-HITL-Signature: v1=<hex HMAC-SHA256 over "<timestamp>." + raw body, keyed with the secret>

The signing secret is never logged, stored in clear or written to the ledger: logs and audit
events carry the delivery id, the URL's host and a short outcome.
"""

import datetime
import hashlib
import hmac
import json
import logging
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from audit.services.ledger import Actor, append_event
from oversight.exceptions import DomainError, NotAllowed, StaleState
from oversight.models import Case, DeliveryStatus, WebhookAttempt, WebhookDelivery
from oversight.selectors import case_state, cases_for_api
from oversight.services import credentials
from oversight.services.callback_policy import (
    CallbackRefused,
    CallbackTarget,
    post_pinned,
    resolve_callback,
)

logger = logging.getLogger(__name__)

CASE_DECIDED = "case.decided"
DELIVER_TASK = "oversight.tasks.deliver_webhook"
SIGNATURE_VERSION = "v1"
USER_AGENT = "HITL-Oversight-Webhooks/1"

FIRST_RETRY_DELAY = datetime.timedelta(seconds=30)
MAX_RETRY_DELAY = datetime.timedelta(hours=1)
# Web, scheduler and worker clocks differ a little; a retry that fires a moment "early" on the
# worker's clock must still run, or the delivery would wait forever.
CLOCK_SKEW = datetime.timedelta(seconds=5)
ERROR_TEXT_LIMIT = 1000

# Written when an attempt is claimed and replaced by its result; if it stays, the worker stopped.
NO_RESULT_YET = "No result recorded: the attempt is still running, or its worker stopped."
REFUSED_URL = "Refused: only http and https callback URLs are delivered."

WEBHOOK_ACTOR = Actor.system("webhooks")


# Signing ---------------------------------------------------------------------------------------


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """Hex HMAC-SHA256 over `b"<timestamp>." + body`.

    The timestamp is inside the signed bytes so a captured request cannot be replayed later
    with a fresh timestamp header.
    """
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(*, delivery: WebhookDelivery, secret: str, timestamp: int) -> dict[str, str]:
    """The headers of one attempt; the body they sign is `delivery.body` encoded as UTF-8."""
    signature = sign(delivery.body.encode("utf-8"), secret, timestamp)
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-HITL-Timestamp": str(timestamp),
        "X-HITL-Signature": f"{SIGNATURE_VERSION}={signature}",
        "X-HITL-Delivery": str(delivery.id),
        "X-HITL-Event": delivery.event,
    }


def verify_signature(
    body: bytes,
    secret: str,
    timestamp_header: str,
    signature_header: str,
    *,
    tolerance_seconds: int = 300,
    now: float | None = None,
) -> bool:
    """Whether a received webhook is genuine and fresh: what an integrator's endpoint checks.

    `body` must be the raw bytes received (not re-serialised JSON). `now` is in Unix seconds
    (defaults to the current time). Timestamps further than `tolerance_seconds` from now are
    refused, which bounds replays. The signature header may list several comma-separated
    `v1=` values (e.g. during a secret rotation); one match suffices. Comparison is constant-time.
    """
    try:
        timestamp = int(timestamp_header)
    except (TypeError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        return False
    expected = sign(body, secret, timestamp).encode()
    prefix = f"{SIGNATURE_VERSION}="
    candidates = [
        part.strip()[len(prefix) :]
        for part in (signature_header or "").split(",")
        if part.strip().startswith(prefix)
    ]
    return any(hmac.compare_digest(expected, candidate.encode()) for candidate in candidates)


# Enqueueing ------------------------------------------------------------------------------------


def decision_body(*, delivery: WebhookDelivery, case: Case) -> str:
    """The compact JSON sent for a decided case: the same document GET /cases/{id}/ returns.

    ASCII-only, so the bytes signed and sent cannot differ by text encoding.
    """
    document = {"event": delivery.event, "delivery": str(delivery.id), "sent_for": case_state(case)}
    return json.dumps(document, separators=(",", ":"), cls=DjangoJSONEncoder)


def _enqueue_on_commit(delivery: WebhookDelivery) -> None:
    # Other brokers than the ORM's enqueue outside our transaction: only after commit does the
    # worker find the row (and a rollback sends nothing).
    delivery_id = str(delivery.id)
    transaction.on_commit(lambda: async_task(DELIVER_TASK, delivery_id))


def enqueue_decision_webhook(*, case: Case) -> WebhookDelivery | None:
    """Store the "case.decided" notification for a case's callback URL and send it on commit.

    Call it inside the deciding service's transaction, after the decision is saved: the body is
    built from the case as read now, and the task is enqueued only if that transaction commits.
    Returns None when the case has no callback URL (the AI system polls instead).
    """
    if not case.callback_url:
        return None
    with transaction.atomic():
        # Read afresh: the caller's instance may hold decisions prefetched before this one.
        case = cases_for_api().select_related("journey__ai_system").get(pk=case.pk)
        delivery = WebhookDelivery(
            ai_system=case.journey.ai_system,
            case=case,
            event=CASE_DECIDED,
            url=case.callback_url,
            next_attempt_at=timezone.now(),
        )
        delivery.body = decision_body(delivery=delivery, case=case)
        delivery.save(force_insert=True)
        _enqueue_on_commit(delivery)
    return delivery


# Delivering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttemptResult:
    """What one POST came to. `summary` is short and safe to log and to put in the ledger."""

    summary: str
    status_code: int | None = None
    error: str = ""
    duration_ms: int = 0
    permanent: bool = False  # retrying cannot help (a refused URL)

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def retry_delay(attempt_number: int) -> datetime.timedelta:
    """Wait after failed attempt n: 30 s, 1 min, 2 min, ... doubling, at most one hour."""
    return min(FIRST_RETRY_DELAY * 2 ** (attempt_number - 1), MAX_RETRY_DELAY)


def url_host(url: str) -> str:
    """The host of a URL, for logs: paths and queries may carry an integrator's tokens."""
    return urlsplit(url).hostname or "?"


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"http", "https"} and bool(parts.hostname)


def _lease() -> datetime.timedelta:
    """How long past its start a claimed attempt stays "in flight" (its lease).

    The HTTP timeout plus TASK_LEASE_MARGIN_SECONDS (60 s by default). It should stay below
    Q_CLUSTER["retry"]: when a worker dies mid-attempt the ORM broker hands the task out again
    after `retry` seconds, and by then the claim must have lapsed so the new run proceeds (with
    Redis, the outbox sweep re-enqueues it once the lease and OUTBOX_GRACE_SECONDS have passed).
    """
    return datetime.timedelta(
        seconds=settings.WEBHOOK_TIMEOUT_SECONDS + settings.TASK_LEASE_MARGIN_SECONDS
    )


def _claim_attempt(delivery_id: str | uuid.UUID) -> tuple[WebhookDelivery, int] | None:
    """Take the next attempt number of a pending, due delivery, or None if there is nothing to do.

    The attempt row is written now, holding NO_RESULT_YET, so an attempt whose worker dies
    mid-call still shows in the admin; the unique (delivery, number) constraint backs the lock.
    """
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        now = timezone.now()
        if delivery.status != DeliveryStatus.PENDING:
            logger.info("Webhook %s is %s already; nothing sent.", delivery.id, delivery.status)
            return None
        if delivery.next_attempt_at and delivery.next_attempt_at > now + CLOCK_SKEW:
            logger.info("Webhook %s is not due until %s.", delivery.id, delivery.next_attempt_at)
            return None
        delivery.attempt_count += 1
        delivery.next_attempt_at = now + _lease()
        delivery.save(update_fields=["attempt_count", "next_attempt_at"])
        WebhookAttempt.objects.create(
            delivery=delivery, number=delivery.attempt_count, attempted_at=now, error=NO_RESULT_YET
        )
    return delivery, delivery.attempt_count


def _post(delivery: WebhookDelivery, secret: str, target: CallbackTarget) -> AttemptResult:
    headers = signed_headers(
        delivery=delivery, secret=secret, timestamp=int(timezone.now().timestamp())
    )
    started = time.perf_counter()
    try:
        # stream=True: only the status line and headers are read; a receiver answering with a
        # huge body cannot make the worker download it. Connects to the address checked by the
        # callback policy, never to a fresh DNS answer; redirects are not followed.
        with post_pinned(
            target,
            data=delivery.body.encode("utf-8"),
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            stream=True,
        ) as response:
            status_code = response.status_code
    except requests.RequestException as exc:
        return AttemptResult(
            summary=type(exc).__name__,
            error=f"{type(exc).__name__}: {exc}"[:ERROR_TEXT_LIMIT],
            duration_ms=_ms_since(started),
        )
    return AttemptResult(
        summary=f"HTTP {status_code}", status_code=status_code, duration_ms=_ms_since(started)
    )


def _ms_since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _send(delivery: WebhookDelivery) -> AttemptResult:
    """POST the stored body, signed; every way it can go wrong becomes an AttemptResult."""
    # Callback URLs are checked when a case is submitted; checked again, after resolving the
    # host, because this is the place that actually makes the request (callback_policy).
    if not _is_http_url(delivery.url):
        return AttemptResult(summary="refused_url", error=REFUSED_URL, permanent=True)
    try:
        target = resolve_callback(delivery.url)
    except CallbackRefused as exc:
        return AttemptResult(summary="refused_url", error=exc.message, permanent=True)
    except OSError as exc:  # the name did not resolve: maybe later
        return AttemptResult(summary="dns_error", error=f"DNS: {exc}"[:ERROR_TEXT_LIMIT])
    try:
        secret = credentials.webhook_secret(delivery.ai_system)
    except DomainError as exc:
        # Retried like a network failure: an admin may rotate a secret before the next attempt.
        return AttemptResult(summary=exc.code, error=exc.message)
    return _post(delivery, secret, target)


def _schedule_retry(delivery: WebhookDelivery, number: int) -> None:
    retry_at = timezone.now() + retry_delay(number)
    delivery.next_attempt_at = retry_at
    delivery.save(update_fields=["next_attempt_at"])
    # ONCE with a negative `repeats` (the default): django-q2's scheduler enqueues the task at
    # next_run and then deletes the schedule, so it fires exactly once and leaves no rows behind.
    Schedule.objects.create(
        name=f"Webhook {delivery.id} attempt {number + 1}",
        func=DELIVER_TASK,
        args=repr(str(delivery.id)),
        schedule_type=Schedule.ONCE,
        repeats=-1,
        next_run=retry_at,
    )


def _audit_payload(delivery: WebhookDelivery, result: AttemptResult) -> dict:
    return {
        "case": str(delivery.case_id),
        "event": delivery.event,
        "host": url_host(delivery.url),
        "attempts": delivery.attempt_count,
        "last_outcome": result.summary,
    }


def _mark_delivered(delivery: WebhookDelivery, result: AttemptResult) -> None:
    if delivery.status == DeliveryStatus.DELIVERED:
        return  # a concurrent attempt got there first; one audit event is enough
    delivery.status = DeliveryStatus.DELIVERED
    delivery.delivered_at = timezone.now()
    delivery.next_attempt_at = None
    delivery.save(update_fields=["status", "delivered_at", "next_attempt_at"])
    append_event(
        actor=WEBHOOK_ACTOR,
        action="webhook.delivered",
        obj=delivery,
        payload=_audit_payload(delivery, result),
    )


def _mark_failed(delivery: WebhookDelivery, result: AttemptResult) -> None:
    delivery.status = DeliveryStatus.FAILED
    delivery.next_attempt_at = None
    delivery.save(update_fields=["status", "next_attempt_at"])
    append_event(
        actor=WEBHOOK_ACTOR,
        action="webhook.failed",
        obj=delivery,
        payload=_audit_payload(delivery, result),
    )


def _record_result(
    delivery_id: str | uuid.UUID, number: int, result: AttemptResult
) -> WebhookDelivery:
    """Store attempt `number`'s result and decide what happens next, under the row lock.

    A success always counts. A failure decides the delivery's fate only if it is the latest
    attempt of a still pending delivery: otherwise a newer attempt (or an earlier outcome) does.
    """
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        WebhookAttempt.objects.filter(delivery=delivery, number=number).update(
            status_code=result.status_code, error=result.error, duration_ms=result.duration_ms
        )
        if result.succeeded:
            _mark_delivered(delivery, result)
        elif delivery.status != DeliveryStatus.PENDING or number < delivery.attempt_count:
            pass
        elif result.permanent or delivery.attempt_count >= settings.WEBHOOK_MAX_ATTEMPTS:
            _mark_failed(delivery, result)
        else:
            _schedule_retry(delivery, number)
    return delivery


def attempt_delivery(*, delivery_id: str | uuid.UUID) -> WebhookDelivery:
    """Make the next attempt of a delivery, if it is pending and due; safe to run twice.

    2xx marks it delivered; anything else (other statuses, redirects, network errors, a missing
    secret) schedules the next attempt with exponential backoff until WEBHOOK_MAX_ATTEMPTS
    attempts have failed, then marks it failed. A non-http(s) URL fails at once.
    """
    claim = _claim_attempt(delivery_id)
    if claim is None:
        return WebhookDelivery.objects.get(pk=delivery_id)
    delivery, number = claim
    result = _send(delivery)
    delivery = _record_result(delivery_id, number, result)
    log = logger.info if result.succeeded else logger.warning
    log(
        "Webhook %s to %s: attempt %d, %s; now %s.",
        delivery.id,
        url_host(delivery.url),
        number,
        result.summary,
        delivery.status,
    )
    return delivery


# Retrying by hand ------------------------------------------------------------------------------


def _attempt_in_flight(delivery: WebhookDelivery) -> bool:
    if not delivery.next_attempt_at or delivery.next_attempt_at <= timezone.now():
        return False
    return delivery.attempts.filter(
        number=delivery.attempt_count, status_code__isnull=True, error=NO_RESULT_YET
    ).exists()


def retry_delivery(*, delivery: WebhookDelivery, actor: Actor) -> WebhookDelivery:
    """Make one more attempt now, for a failed delivery or a pending one waiting for its retry.

    Needs the "change webhook delivery" permission. A failed delivery gets one attempt per
    request (its attempt count is already at the maximum), so a person, not the backoff, decides
    how often an unreachable endpoint is tried. Refused for delivered ones and while an attempt
    is running. The retry schedule a pending delivery was waiting for finds it not due any more
    and does nothing.
    """
    if actor.user is not None and not actor.user.has_perm("oversight.change_webhookdelivery"):
        raise NotAllowed("You may not retry webhook deliveries.")
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        if delivery.status == DeliveryStatus.DELIVERED:
            raise StaleState(f"The webhook {delivery.id} was already delivered; nothing to retry.")
        if _attempt_in_flight(delivery):
            raise StaleState(
                f"An attempt of the webhook {delivery.id} is running now; look again in a minute."
            )
        previous_status = delivery.status
        delivery.status = DeliveryStatus.PENDING
        delivery.next_attempt_at = timezone.now()
        delivery.save(update_fields=["status", "next_attempt_at"])
        append_event(
            actor=actor,
            action="webhook.retry_requested",
            obj=delivery,
            payload={
                "case": str(delivery.case_id),
                "event": delivery.event,
                "previous_status": previous_status,
                "attempts": delivery.attempt_count,
            },
        )
        _enqueue_on_commit(delivery)
    return delivery
