"""The outbox sweep: a lost task (dead worker, lost message, crash after commit) delays work only.

Deliveries and report requests are rows first; these tests leave a row as a lost task would
(never enqueued, or claimed by a worker that then vanished), move the clock, and check that the
sweep enqueues it again, that a row held under a live lease is not run twice, and that the
receiver sees one successful delivery, with the same delivery id on every attempt.
"""

import datetime
import io

import pypdf
import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from django_q.models import Schedule

from audit.models import AuditEvent
from audit.services.ledger import Actor
from oversight.models import (
    DeliveryStatus,
    IssuedReport,
    ReportRequest,
    ReportStatus,
    WebhookAttempt,
    WebhookDelivery,
)
from oversight.reports import rendering
from oversight.reports.rendering import RenderedReport
from oversight.services import reports, webhooks
from oversight.services.credentials import rotate_webhook_secret
from oversight.services.outbox import SWEEP_SCHEDULE, SWEEP_TASK, sweep_outbox
from oversight.services.reports import GENERATE_TASK, generate_report, report_lease, request_report
from oversight.services.webhooks import DELIVER_TASK, NO_RESULT_YET, enqueue_decision_webhook
from oversight.tasks import deliver_webhook
from oversight.tasks import generate_report as generate_report_task
from tests.factories import CaseFactory, DecisionFactory

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
AUTHORITY = {"as_of": "2026-03-01"}


def seconds(n: float) -> datetime.timedelta:
    return datetime.timedelta(seconds=n)


def grace() -> datetime.timedelta:
    return seconds(settings.OUTBOX_GRACE_SECONDS)


def webhook_lease() -> datetime.timedelta:
    return seconds(settings.WEBHOOK_TIMEOUT_SECONDS + settings.TASK_LEASE_MARGIN_SECONDS)


def new_delivery(url: str) -> WebhookDelivery:
    """A delivery as the deciding service leaves it; its on-commit enqueue never runs here."""
    case = CaseFactory(status="decided", decided_at=START, callback_url=url)
    DecisionFactory(case=case, decided_at=START)
    rotate_webhook_secret(ai_system=case.journey.ai_system, actor=Actor.system("test"))
    return enqueue_decision_webhook(case=case)


def queued(task_queue, func: str) -> list[tuple]:
    """The args of the queued tasks of `func`, taken off the queue.

    The ORM broker hands out only tasks enqueued strictly before now: a frozen clock must move.
    """
    with time_machine.travel(timezone.now() + seconds(1), tick=False):
        tasks = task_queue.take_all()
    return [task["args"] for task in tasks if task["func"] == func]


def stand_in_pdf(report_id: str) -> bytes:
    """A real one-page PDF (issued reports are signed, and signing needs a PDF), named by id."""
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.add_metadata({"/Title": f"stand-in {report_id}"})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


class FakeRenderer:
    """Stands in for render_report; `during` runs while "rendering" (another worker's move)."""

    def __init__(self, during=None):
        self.calls = 0
        self.during = during

    def __call__(self, kind, params, *, report_id, generated_at, progress=None):
        self.calls += 1
        if self.during:
            self.during()
        return RenderedReport(
            pdf=stand_in_pdf(report_id),
            title="Authority register",
            subtitle="as of 2026-03-01",
            page_count=1,
            data_sha256="a" * 64,
            ledger_sequence=1,
            ledger_hash="b" * 64,
        )


@pytest.fixture
def renderer(monkeypatch):
    fake = FakeRenderer()
    monkeypatch.setattr(rendering, "render_report", fake)
    return fake


def new_report_request() -> ReportRequest:
    """A request as `request_report` leaves it; its on-commit enqueue never runs here."""
    return request_report(user=None, kind="authority", params=AUTHORITY, via="command")


def the_worker_took_it_and_died(request: ReportRequest, at: datetime.datetime) -> None:
    """What a claim leaves behind when its worker is killed before finishing."""
    ReportRequest.objects.filter(pk=request.pk).update(
        status=ReportStatus.RUNNING,
        started_at=at,
        attempts=request.attempts + 1,
        lease_expires_at=at + report_lease(),
        progress=10,
    )


# The standing schedule -------------------------------------------------------------------------


def test_the_outbox_sweep_runs_every_minute_after_migrate():
    schedule = Schedule.objects.get(name=SWEEP_SCHEDULE)
    assert (schedule.func, schedule.schedule_type, schedule.minutes, schedule.repeats) == (
        SWEEP_TASK,
        Schedule.MINUTES,
        1,
        -1,
    )


# Webhook deliveries ----------------------------------------------------------------------------


def test_a_delivery_never_enqueued_is_enqueued_by_the_sweep_after_the_grace(receiver, task_queue):
    """The web worker died between the commit and the on-commit enqueue: the row is all there is."""
    with time_machine.travel(START, tick=False):
        delivery = new_delivery(receiver.url)
    assert task_queue.size() == 0

    with time_machine.travel(START + grace() - seconds(1), tick=False):
        assert sweep_outbox().deliveries == 0
    assert task_queue.size() == 0

    with time_machine.travel(START + grace() + seconds(1), tick=False):
        result = sweep_outbox()
        assert (result.deliveries, result.reports) == (1, 0)
        assert queued(task_queue, DELIVER_TASK) == [(str(delivery.pk),)]
        assert deliver_webhook(str(delivery.pk)) == DeliveryStatus.DELIVERED
    assert len(receiver.requests) == 1


def test_a_delivery_whose_worker_died_mid_attempt_is_retried_after_its_lease(receiver, task_queue):
    with time_machine.travel(START, tick=False):
        delivery = new_delivery(receiver.url)
        claim = webhooks._claim_attempt(delivery.pk)  # the worker took it, then was killed
    assert claim is not None

    lapsed = START + webhook_lease() + grace()
    with time_machine.travel(lapsed - seconds(1), tick=False):
        assert sweep_outbox().deliveries == 0  # the attempt may still be running

    with time_machine.travel(lapsed + seconds(1), tick=False):
        assert sweep_outbox().deliveries == 1
        [(delivery_id,)] = queued(task_queue, DELIVER_TASK)
        deliver_webhook(delivery_id)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count) == (DeliveryStatus.DELIVERED, 2)
    first, second = WebhookAttempt.objects.filter(delivery=delivery).order_by("number")
    assert first.error == NO_RESULT_YET  # the dead attempt stays on record as such
    assert second.status_code == 200
    assert receiver.requests[0].headers["X-HITL-Delivery"] == str(delivery.pk)


def test_a_delivery_waiting_for_its_backoff_retry_is_left_to_its_schedule(receiver, task_queue):
    receiver.status = 503
    with time_machine.travel(START, tick=False):
        delivery = new_delivery(receiver.url)
        deliver_webhook(str(delivery.pk))
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    retry_at = delivery.next_attempt_at

    with time_machine.travel(retry_at + grace() - seconds(1), tick=False):
        assert sweep_outbox().deliveries == 0  # the retry schedule owns it until then
    with time_machine.travel(retry_at + grace() + seconds(1), tick=False):
        assert sweep_outbox().deliveries == 1  # its schedule's message was lost


def test_a_claimed_delivery_is_not_sent_again_while_its_lease_holds(receiver):
    with time_machine.travel(START, tick=False):
        delivery = new_delivery(receiver.url)
        assert webhooks._claim_attempt(delivery.pk) is not None
    with time_machine.travel(START + webhook_lease() - seconds(10), tick=False):
        assert webhooks._claim_attempt(delivery.pk) is None
        assert deliver_webhook(str(delivery.pk)) == DeliveryStatus.PENDING
    assert receiver.requests == []
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 1


def test_a_delivery_is_received_once_however_often_it_is_enqueued_and_swept(receiver, task_queue):
    with time_machine.travel(START, tick=False):
        delivery = new_delivery(receiver.url)
    with time_machine.travel(START + grace() + seconds(1), tick=False):
        sweep_outbox()
        sweep_outbox()
        for (delivery_id,) in queued(task_queue, DELIVER_TASK):
            deliver_webhook(delivery_id)
        deliver_webhook(str(delivery.pk))  # the original message, arriving late
        assert sweep_outbox().deliveries == 0
    assert [r.headers["X-HITL-Delivery"] for r in receiver.requests] == [str(delivery.pk)]
    assert AuditEvent.objects.filter(action="webhook.delivered").count() == 1


# Report requests -------------------------------------------------------------------------------


def test_a_queued_request_never_enqueued_is_enqueued_by_the_sweep(renderer, task_queue):
    with time_machine.travel(START, tick=False):
        request = new_report_request()
    with time_machine.travel(START + grace() - seconds(1), tick=False):
        assert sweep_outbox().reports == 0
    with time_machine.travel(START + grace() + seconds(1), tick=False):
        assert sweep_outbox().reports == 1
        [(request_id,)] = queued(task_queue, GENERATE_TASK)
        generate_report_task(request_id)
    request.refresh_from_db()
    assert (request.status, request.attempts) == (ReportStatus.DONE, 1)
    assert IssuedReport.objects.filter(request=request).count() == 1


def test_a_request_left_running_by_a_dead_worker_is_run_again_after_its_lease(renderer, task_queue):
    with time_machine.travel(START, tick=False):
        request = new_report_request()
        the_worker_took_it_and_died(request, START)

    expiry = START + report_lease()
    with time_machine.travel(expiry - seconds(1), tick=False):
        assert sweep_outbox().reports == 0
        assert generate_report(request.pk) is None  # a late duplicate message does nothing
    assert renderer.calls == 0

    with time_machine.travel(expiry + seconds(1), tick=False):
        assert sweep_outbox().reports == 1
        [(request_id,)] = queued(task_queue, GENERATE_TASK)
        generate_report_task(request_id)
        generate_report_task(request_id)  # handed out twice: still one report
    request.refresh_from_db()
    assert (request.status, request.attempts, request.lease_expires_at) == (
        ReportStatus.DONE,
        2,
        None,
    )
    assert renderer.calls == 1
    assert IssuedReport.objects.filter(request=request).count() == 1
    assert AuditEvent.objects.filter(action="report.generated").count() == 1


def test_a_request_under_a_live_lease_is_not_rendered_twice(renderer, task_queue):
    with time_machine.travel(START, tick=False):
        request = new_report_request()
        the_worker_took_it_and_died(request, START)  # or is still working: nobody can tell yet
    with time_machine.travel(START + report_lease() - seconds(1), tick=False):
        assert generate_report(request.pk) is None
        assert sweep_outbox().reports == 0
    assert renderer.calls == 0
    assert task_queue.size() == 0
    request.refresh_from_db()
    assert (request.status, request.attempts) == (ReportStatus.RUNNING, 1)
    assert IssuedReport.objects.count() == 0


def test_a_worker_whose_lease_was_taken_over_stores_nothing(monkeypatch):
    """A worker paused past its lease finishes after another took the request: it is dropped."""
    request = new_report_request()

    def another_worker_takes_over():
        ReportRequest.objects.filter(pk=request.pk).update(attempts=2)

    monkeypatch.setattr(rendering, "render_report", FakeRenderer(during=another_worker_takes_over))
    events_before = AuditEvent.objects.count()

    assert generate_report(request.pk) is None

    request.refresh_from_db()
    assert (request.status, request.attempts) == (ReportStatus.RUNNING, 2)
    assert IssuedReport.objects.count() == 0
    assert AuditEvent.objects.count() == events_before


def test_a_request_whose_worker_died_too_often_is_failed_with_a_message(renderer, task_queue):
    with time_machine.travel(START, tick=False):
        request = new_report_request()
        ReportRequest.objects.filter(pk=request.pk).update(
            attempts=settings.REPORT_MAX_ATTEMPTS - 1
        )
        request.refresh_from_db()
        the_worker_took_it_and_died(request, START)

    with time_machine.travel(START + report_lease() + seconds(1), tick=False):
        assert generate_report(request.pk) is None  # no attempts left to claim
        result = sweep_outbox()
        assert (result.reports, result.reports_failed) == (0, 1)
        assert sweep_outbox().reports_failed == 0
    assert queued(task_queue, GENERATE_TASK) == []
    request.refresh_from_db()
    assert request.status == ReportStatus.FAILED
    assert request.error.startswith(
        f"The report's worker stopped {settings.REPORT_MAX_ATTEMPTS} times before finishing"
    )
    assert renderer.calls == 0
    failed = AuditEvent.objects.get(action="report.failed")
    assert failed.payload["error"] == request.error


def test_a_parameter_failure_is_recorded_by_the_worker_that_holds_the_request(monkeypatch):
    request = new_report_request()

    def refuse(*args, **kwargs):
        raise rendering.ReportParameterError("No such thing.")

    monkeypatch.setattr(rendering, "render_report", refuse)
    assert reports.generate_report(request.pk) is None
    request.refresh_from_db()
    assert (request.status, request.error, request.attempts) == (
        ReportStatus.FAILED,
        "No such thing.",
        1,
    )
