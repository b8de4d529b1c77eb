"""Decision webhooks: signed, sent to a real HTTP server on loopback, retried, audited."""

import ast
import datetime
import json
import socket
import threading

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django_q import scheduler
from django_q.models import Schedule

import oversight.admin.webhooks  # noqa: F401  (registers the admin until oversight.admin does)
from audit.models import AuditEvent
from audit.services.ledger import Actor, verify_ledger
from oversight.exceptions import NotAllowed, StaleState
from oversight.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from oversight.selectors import case_state, cases_for_api
from oversight.services.credentials import rotate_webhook_secret
from oversight.services.webhooks import (
    DELIVER_TASK,
    NO_RESULT_YET,
    attempt_delivery,
    enqueue_decision_webhook,
    retry_delay,
    retry_delivery,
    sign,
    verify_signature,
)
from oversight.tasks import deliver_webhook
from tests.factories import CaseFactory, DecisionFactory, SuperUserFactory, UserFactory

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


def retry_schedules():
    """Webhook retry schedules only: migrations add standing schedules of their own."""
    return Schedule.objects.filter(func=DELIVER_TASK)


@pytest.fixture
def closed_port_url(settings) -> str:
    """A loopback URL nothing listens on: connecting is refused at once."""
    settings.WEBHOOK_ALLOWED_TARGETS = ["127.0.0.1"]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


def decided_case(callback_url: str):
    case = CaseFactory(status="decided", decided_at=START, callback_url=callback_url)
    DecisionFactory(case=case, decided_at=START)
    return case


def with_secret(case) -> str:
    return rotate_webhook_secret(ai_system=case.journey.ai_system, actor=Actor.system("test"))


def new_delivery(callback_url: str, *, secret: bool = True) -> tuple[WebhookDelivery, str]:
    case = decided_case(callback_url)
    plain = with_secret(case) if secret else ""
    return enqueue_decision_webhook(case=case), plain


def audit_actions() -> list[str]:
    return list(AuditEvent.objects.order_by("sequence").values_list("action", flat=True))


# Signing ---------------------------------------------------------------------------------------


def test_signature_verifies_with_the_ai_systems_secret(receiver):
    with time_machine.travel(START, tick=False):
        delivery, secret = new_delivery(receiver.url)
        attempt_delivery(delivery_id=delivery.id)
    now = START.timestamp()
    [request] = receiver.requests
    headers = request.headers
    assert request.body == delivery.body.encode()
    assert headers["Content-Type"] == "application/json"
    assert headers["X-HITL-Timestamp"] == str(int(now))
    assert headers["X-HITL-Signature"] == "v1=" + sign(request.body, secret, int(now))
    assert headers["X-HITL-Delivery"] == str(delivery.id)
    assert headers["X-HITL-Event"] == "case.decided"
    assert verify_signature(
        request.body, secret, headers["X-HITL-Timestamp"], headers["X-HITL-Signature"], now=now
    )


def test_signature_fails_with_a_wrong_secret_an_altered_body_or_a_stale_timestamp():
    body, secret, timestamp = b'{"event":"case.decided"}', "whsec_right", 1_770_000_000
    header = "v1=" + sign(body, secret, timestamp)
    ts = str(timestamp)
    assert verify_signature(body, secret, ts, header, now=timestamp + 299)
    assert not verify_signature(body, "whsec_wrong", ts, header, now=timestamp)
    assert not verify_signature(body + b" ", secret, ts, header, now=timestamp)
    assert not verify_signature(body, secret, ts, header, now=timestamp + 301)
    assert not verify_signature(body, secret, ts, header, now=timestamp - 301)
    assert not verify_signature(body, secret, str(timestamp + 1), header, now=timestamp)
    assert not verify_signature(body, secret, "yesterday", header, now=timestamp)
    assert not verify_signature(body, secret, ts, header.removeprefix("v1="), now=timestamp)


def test_a_signature_header_may_list_several_signatures():
    body, timestamp = b"{}", 1_770_000_000
    header = f"v1={sign(body, 'whsec_old', timestamp)}, v1={sign(body, 'whsec_new', timestamp)}"
    assert verify_signature(body, "whsec_new", str(timestamp), header, now=timestamp)


# Enqueueing ------------------------------------------------------------------------------------


def test_enqueue_stores_one_delivery_with_the_case_state_and_sends_after_commit(
    django_capture_on_commit_callbacks, task_queue
):
    case = decided_case("https://bot.example.com/hook")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        delivery = enqueue_decision_webhook(case=case)
    assert WebhookDelivery.objects.get() == delivery
    assert delivery.ai_system == case.journey.ai_system
    assert (delivery.event, delivery.url, delivery.status) == (
        "case.decided",
        "https://bot.example.com/hook",
        DeliveryStatus.PENDING,
    )
    document = json.loads(delivery.body)
    assert document == {
        "event": "case.decided",
        "delivery": str(delivery.id),
        "sent_for": case_state(cases_for_api().get(pk=case.pk)),
    }
    assert document["sent_for"]["decision"]["outcome"] == "approve"
    assert delivery.body == json.dumps(document, separators=(",", ":"))
    assert len(callbacks) == 1
    assert task_queue.size() == 0


def test_the_commit_callback_queues_the_delivery_task(
    django_capture_on_commit_callbacks, task_queue
):
    case = decided_case("https://bot.example.com/hook")
    with django_capture_on_commit_callbacks(execute=True):
        delivery = enqueue_decision_webhook(case=case)
    [queued] = task_queue.take_all()
    assert queued["func"] == DELIVER_TASK
    assert queued["args"] == (str(delivery.id),)


def test_no_callback_url_means_no_delivery_and_nothing_queued(django_capture_on_commit_callbacks):
    case = decided_case("")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert enqueue_decision_webhook(case=case) is None
    assert WebhookDelivery.objects.count() == 0
    assert callbacks == []


# Delivering ------------------------------------------------------------------------------------


def test_a_2xx_answer_marks_it_delivered_with_one_attempt(receiver):
    receiver.status = 204
    with time_machine.travel(START, tick=False):
        delivery, _ = new_delivery(receiver.url)
        assert deliver_webhook(str(delivery.id)) == "delivered"
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.delivered_at == START
    assert delivery.next_attempt_at is None
    [attempt] = delivery.attempts.all()
    assert (attempt.number, attempt.status_code, attempt.error) == (1, 204, "")
    assert attempt.attempted_at == START
    assert audit_actions()[-1] == "webhook.delivered"
    assert retry_schedules().count() == 0


def test_a_500_is_recorded_and_retried_once_at_the_backoff_time(receiver):
    receiver.status = 500
    with time_machine.travel(START, tick=False):
        delivery, _ = new_delivery(receiver.url)
        delivery = attempt_delivery(delivery_id=delivery.id)
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.next_attempt_at == START + datetime.timedelta(seconds=30)
    [attempt] = delivery.attempts.all()
    assert (attempt.number, attempt.status_code) == (1, 500)
    [schedule] = retry_schedules()
    assert schedule.func == DELIVER_TASK
    assert ast.literal_eval(schedule.args) == str(delivery.id)
    assert schedule.schedule_type == Schedule.ONCE
    assert schedule.repeats == -1  # django-q2 deletes a ONCE schedule after its single run
    assert schedule.next_run == delivery.next_attempt_at


def test_the_retry_schedule_queues_the_task_exactly_once(receiver, monkeypatch, task_queue):
    """Runs django-q2's own scheduler pass, as the cluster would, twice over."""
    # The scheduler closes "old" connections first, which would end the test's transaction.
    monkeypatch.setattr(scheduler, "close_old_django_connections", lambda: None)
    receiver.status = 500
    with time_machine.travel(START, tick=False) as traveller:
        delivery, _ = new_delivery(receiver.url)
        attempt_delivery(delivery_id=delivery.id)
        traveller.shift(datetime.timedelta(seconds=31))
        scheduler.scheduler()
        scheduler.scheduler()
        traveller.shift(datetime.timedelta(seconds=1))  # the ORM broker hands out older tasks only
        [queued] = task_queue.take_all()
        assert retry_schedules().count() == 0
        receiver.status = 200
        assert deliver_webhook(*queued["args"]) == "delivered"
    assert len(receiver.requests) == 2


def test_backoff_doubles_and_is_capped_at_one_hour():
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry_delay(20) == datetime.timedelta(hours=1)


def test_a_delivery_that_is_not_due_yet_is_not_sent_again(receiver):
    """A duplicate hand-out of the task, or a stale schedule, finds nothing to do."""
    receiver.status = 500
    with time_machine.travel(START, tick=False) as traveller:
        delivery, _ = new_delivery(receiver.url)
        attempt_delivery(delivery_id=delivery.id)
        traveller.shift(datetime.timedelta(seconds=10))
        delivery = attempt_delivery(delivery_id=delivery.id)
    assert len(receiver.requests) == 1
    assert delivery.attempt_count == 1
    assert retry_schedules().count() == 1


def test_after_the_last_attempt_fails_it_is_failed_and_audited(receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    receiver.status = 503
    with time_machine.travel(START, tick=False) as traveller:
        delivery, _ = new_delivery(receiver.url)
        for _ in range(3):
            traveller.move_to(delivery.next_attempt_at)
            delivery = attempt_delivery(delivery_id=delivery.id)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.next_attempt_at is None
    assert list(delivery.attempts.values_list("number", "status_code")) == [
        (1, 503),
        (2, 503),
        (3, 503),
    ]
    assert retry_schedules().count() == 2  # after attempts 1 and 2, none after the last
    event = AuditEvent.objects.get(action="webhook.failed")
    assert event.object_id == str(delivery.id)
    assert event.payload["attempts"] == 3
    assert event.payload["last_outcome"] == "HTTP 503"
    assert verify_ledger().ok


def test_a_refused_connection_is_recorded_as_an_error_attempt(closed_port_url):
    delivery, _ = new_delivery(closed_port_url)
    delivery = attempt_delivery(delivery_id=delivery.id)
    [attempt] = delivery.attempts.all()
    assert attempt.status_code is None
    assert attempt.error.startswith("ConnectionError")
    assert delivery.status == DeliveryStatus.PENDING
    assert retry_schedules().count() == 1


def test_a_missing_secret_is_a_failed_attempt_retried_later(receiver):
    delivery, _ = new_delivery(receiver.url, secret=False)
    delivery = attempt_delivery(delivery_id=delivery.id)
    [attempt] = delivery.attempts.all()
    assert "has no webhook secret" in attempt.error
    assert delivery.status == DeliveryStatus.PENDING
    assert retry_schedules().count() == 1
    assert receiver.requests == []


def test_a_non_http_url_is_refused_and_fails_at_once():
    delivery, _ = new_delivery("ftp://files.example.com/hook")
    delivery = attempt_delivery(delivery_id=delivery.id)
    [attempt] = delivery.attempts.all()
    assert "only http and https" in attempt.error
    assert delivery.status == DeliveryStatus.FAILED
    assert retry_schedules().count() == 0
    assert audit_actions()[-1] == "webhook.failed"


def test_a_delivered_delivery_is_not_sent_or_recorded_again(receiver):
    delivery, _ = new_delivery(receiver.url)
    attempt_delivery(delivery_id=delivery.id)
    events = AuditEvent.objects.count()
    delivery = attempt_delivery(delivery_id=delivery.id)
    assert len(receiver.requests) == 1
    assert delivery.attempts.count() == 1
    assert delivery.attempt_count == 1
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db(transaction=True)
def test_a_second_worker_finds_an_attempt_in_flight_and_sends_nothing(receiver):
    """The claim commits before the POST: a duplicate task during the call sees it not due."""
    receiver.hold = threading.Event()
    delivery, _ = new_delivery(receiver.url)

    def first_worker():
        try:
            attempt_delivery(delivery_id=delivery.id)
        finally:
            connection.close()

    worker = threading.Thread(target=first_worker)
    worker.start()
    try:
        assert receiver.arrived.wait(timeout=5)
        during = attempt_delivery(delivery_id=delivery.id)
        assert during.attempt_count == 1
        assert during.attempts.get().error == NO_RESULT_YET
    finally:
        receiver.hold.set()
        worker.join(timeout=10)
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempts.get().status_code == 200


def test_the_secret_is_never_stored_logged_or_audited(receiver, closed_port_url, caplog):
    caplog.set_level("DEBUG")
    delivered, secret = new_delivery(receiver.url)
    attempt_delivery(delivery_id=delivered.id)
    failing, other_secret = new_delivery(closed_port_url)
    attempt_delivery(delivery_id=failing.id)
    stored = [
        *WebhookDelivery.objects.values_list("body", "url"),
        *WebhookAttempt.objects.values_list("error", flat=True),
        *(json.dumps(e.payload) for e in AuditEvent.objects.all()),
        caplog.text,
        json.dumps(receiver.requests[0].headers),
    ]
    for plain in (secret, other_secret):
        assert plain not in str(stored)
    assert "127.0.0.1" in caplog.text  # the host is logged, for operators


# Retrying by hand ------------------------------------------------------------------------------


def failed_delivery(url: str, settings) -> WebhookDelivery:
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    delivery, _ = new_delivery(url)
    delivery = attempt_delivery(delivery_id=delivery.id)
    assert delivery.status == DeliveryStatus.FAILED
    return delivery


def test_retry_of_a_failed_delivery_sets_it_pending_and_queues_one_more_attempt(
    receiver, settings, django_capture_on_commit_callbacks
):
    receiver.status = 500
    delivery = failed_delivery(receiver.url, settings)
    admin = SuperUserFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        delivery = retry_delivery(delivery=delivery, actor=Actor.for_user(admin))
    assert delivery.status == DeliveryStatus.PENDING
    assert len(callbacks) == 1
    event = AuditEvent.objects.get(action="webhook.retry_requested")
    assert event.actor_user == admin
    assert event.payload["previous_status"] == "failed"

    receiver.status = 200
    delivery = attempt_delivery(delivery_id=delivery.id)
    assert delivery.status == DeliveryStatus.DELIVERED
    assert list(delivery.attempts.values_list("status_code", flat=True)) == [500, 200]


def test_a_failed_retry_fails_again_without_starting_a_new_backoff(receiver, settings):
    receiver.status = 500
    delivery = failed_delivery(receiver.url, settings)
    retry_delivery(delivery=delivery, actor=Actor.for_user(SuperUserFactory()))
    delivery = attempt_delivery(delivery_id=delivery.id)
    assert delivery.status == DeliveryStatus.FAILED
    assert retry_schedules().count() == 0


def test_retry_of_a_delivered_delivery_is_refused_and_nothing_changes(receiver):
    delivery, _ = new_delivery(receiver.url)
    delivery = attempt_delivery(delivery_id=delivery.id)
    events = AuditEvent.objects.count()
    with pytest.raises(StaleState, match="already delivered"):
        retry_delivery(delivery=delivery, actor=Actor.for_user(SuperUserFactory()))
    assert WebhookDelivery.objects.get().status == DeliveryStatus.DELIVERED
    assert AuditEvent.objects.count() == events


def test_retry_while_an_attempt_is_running_is_refused(receiver):
    with time_machine.travel(START, tick=False):
        delivery, _ = new_delivery(receiver.url)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            attempt_count=1, next_attempt_at=START + datetime.timedelta(seconds=70)
        )
        WebhookAttempt.objects.create(
            delivery=delivery, number=1, attempted_at=START, error=NO_RESULT_YET
        )
        with pytest.raises(StaleState, match="running now"):
            retry_delivery(delivery=delivery, actor=Actor.for_user(SuperUserFactory()))
        assert attempt_delivery(delivery_id=delivery.id).attempt_count == 1
    assert receiver.requests == []


def test_retry_without_permission_is_refused_and_nothing_changes(receiver, settings):
    receiver.status = 500
    delivery = failed_delivery(receiver.url, settings)
    events = AuditEvent.objects.count()
    with pytest.raises(NotAllowed):
        retry_delivery(delivery=delivery, actor=Actor.for_user(UserFactory()))
    assert WebhookDelivery.objects.get().status == DeliveryStatus.FAILED
    assert AuditEvent.objects.count() == events


# Admin -----------------------------------------------------------------------------------------


def test_admin_lists_deliveries_with_attempts_and_allows_no_edits(client, receiver):
    receiver.status = 502
    delivery, _ = new_delivery(receiver.url)
    attempt_delivery(delivery_id=delivery.id)
    client.force_login(SuperUserFactory())
    changelist = client.get(reverse("admin:oversight_webhookdelivery_changelist"))
    assert changelist.status_code == 200
    assert receiver.url in changelist.content.decode()
    page = client.get(reverse("admin:oversight_webhookdelivery_change", args=[delivery.pk]))
    assert page.status_code == 200
    assert "502" in page.content.decode()
    assert client.get(reverse("admin:oversight_webhookdelivery_add")).status_code == 403
    delete_url = reverse("admin:oversight_webhookdelivery_delete", args=[delivery.pk])
    assert client.get(delete_url).status_code == 403


def test_admin_retry_now_action_queues_failed_deliveries(client, receiver, settings):
    receiver.status = 500
    delivery = failed_delivery(receiver.url, settings)
    client.force_login(SuperUserFactory())
    response = client.post(
        reverse("admin:oversight_webhookdelivery_changelist"),
        {"action": "retry_now", "_selected_action": [str(delivery.pk)]},
        follow=True,
    )
    assert "Queued another attempt for 1 delivery." in response.content.decode()
    assert WebhookDelivery.objects.get().status == DeliveryStatus.PENDING
    assert AuditEvent.objects.filter(action="webhook.retry_requested").count() == 1
