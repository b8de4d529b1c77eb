"""A real worker killed with SIGKILL mid-delivery and mid-report: a new one finishes both, once.

PostgreSQL and the Redis broker (Redis has no delivery receipts: a message a dead worker took is
gone, so only the outbox sweep can bring the work back). The test starts `manage.py qcluster`
as a subprocess against the test database, waits until the webhook POST is stalled at a local
receiver and the report request reads `running` (held there by a table lock the renderer waits
for), kills the whole cluster with SIGKILL, starts a new one and waits, bounded, for the sweep
to re-enqueue both. Nothing in the product's code knows it is being tested.
"""

import contextlib
import datetime
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Schedule

from audit.services.ledger import Actor
from oversight.models import (
    DeliveryStatus,
    IssuedReport,
    ReportRequest,
    ReportStatus,
    WebhookDelivery,
)
from oversight.services.credentials import rotate_webhook_secret
from oversight.services.outbox import SWEEP_SCHEDULE, SWEEP_TASK
from oversight.services.reports import request_report
from oversight.services.webhooks import NO_RESULT_YET, enqueue_decision_webhook
from tests.factories import CaseFactory, DecisionFactory
from tests.processes import PROJECT_DIR, database_url

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("REDIS_URL"), reason="REDIS_URL is not set: needs the Redis broker"
    ),
]

RECEIVER_PORT = 8147
# The whole test, both clusters included, must finish within this many seconds.
DEADLINE_SECONDS = 150
# Short leases so the second cluster's first scheduler pass (about 30 s after it starts) finds
# both rows lapsed: webhook lease = 10 + 2 s, report lease = 20 + 2 s.
CLUSTER_ENV = {
    "Q_WORKERS": "2",
    "Q_TIMEOUT": "20",
    "WEBHOOK_TIMEOUT_SECONDS": "10",
    "TASK_LEASE_MARGIN_SECONDS": "2",
    "OUTBOX_GRACE_SECONDS": "1",
    # The receiver is on loopback, which the callback policy refuses unless allowed.
    "WEBHOOK_ALLOWED_TARGETS": "127.0.0.1",
}


class StallingReceiver:
    """A webhook endpoint that holds the first request until released; later ones get 200."""

    def __init__(self, port: int):
        self.delivery_ids: list[str] = []  # every request, in order
        self.successes: list[str] = []  # delivery ids answered 200
        self.first_arrived = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                delivery_id = self.headers.get("X-HITL-Delivery", "")
                receiver.delivery_ids.append(delivery_id)
                first = not receiver.first_arrived.is_set()
                receiver.first_arrived.set()
                status = 200
                if first:
                    receiver.release.wait(timeout=DEADLINE_SECONDS)
                    status = 503  # its sender is dead by now; nobody reads this
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    return
                if status == 200:
                    receiver.successes.append(delivery_id)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def cluster_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(CLUSTER_ENV)
    env["DATABASE_URL"] = database_url()
    env["REDIS_URL"] = os.environ["REDIS_URL"]
    # Webhook secrets are encrypted with a key derived from these: the worker must share them.
    env["SECRET_KEY"] = settings.SECRET_KEY
    if settings.FIELD_ENCRYPTION_KEY:
        env["FIELD_ENCRYPTION_KEY"] = settings.FIELD_ENCRYPTION_KEY
    # Checkpoints the worker signs are signed with the test's key, not a generated one.
    env["LEDGER_SIGNING_KEY"] = settings.LEDGER_SIGNING_KEY
    env["DJANGO_SETTINGS_MODULE"] = "hitl_project.settings"
    return env


class Cluster:
    """`manage.py qcluster` in its own process group, so one signal reaches all its workers."""

    def __init__(self, log_path: Path):
        self.log_path = log_path
        self.log = open(log_path, "ab")  # noqa: SIM115  (closed in stop)
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=PROJECT_DIR,
            env=cluster_env(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def send(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def stop(self, signum: int = signal.SIGKILL, wait: float = 15) -> None:
        if self.process.poll() is None:
            self.send(signum)
            try:
                self.process.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                self.send(signal.SIGKILL)
                self.process.wait(timeout=5)
        self.send(signal.SIGKILL)  # any worker left behind in the group
        self.log.close()


def wait_for(condition, deadline: float, what: str, logs: Path) -> None:
    while not condition():
        if time.monotonic() > deadline:
            tail = logs.read_text(errors="replace")[-4000:] if logs.exists() else ""
            pytest.fail(f"Timed out waiting for {what}.\nWorker log (tail):\n{tail}")
        time.sleep(0.1)


def lock_ledger_head() -> psycopg.Connection:
    """Hold an exclusive lock the renderer waits for (it reads the ledger head first thing).

    Its claim has committed by then, so the request reads `running` until the lock goes.
    """
    db = connection.settings_dict
    lock = psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db.get("PASSWORD") or None,
        dbname=db["NAME"],
    )
    lock.execute("LOCK TABLE audit_ledgerhead IN ACCESS EXCLUSIVE MODE")
    return lock


def test_a_killed_worker_loses_neither_a_webhook_nor_a_report(postgres_only, tmp_path):
    deadline = time.monotonic() + DEADLINE_SECONDS
    broker = get_broker()
    broker.purge_queue()
    # transaction=True tests start from flushed tables: put the standing sweep back, due now.
    Schedule.objects.update_or_create(
        name=SWEEP_SCHEDULE,
        defaults={
            "func": SWEEP_TASK,
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
            "next_run": timezone.now(),
        },
    )
    receiver = StallingReceiver(RECEIVER_PORT)
    receiver.start()
    logs = tmp_path / "qcluster.log"
    clusters: list[Cluster] = []
    lock = None
    try:
        case = CaseFactory(status="decided", decided_at=timezone.now(), callback_url=receiver.url)
        DecisionFactory(case=case, decided_at=timezone.now())
        rotate_webhook_secret(ai_system=case.journey.ai_system, actor=Actor.system("test"))
        delivery = enqueue_decision_webhook(case=case)  # enqueued to Redis on commit
        yesterday = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
        request = request_report(
            user=None, kind="authority", params={"as_of": yesterday}, via="command"
        )
        lock = lock_ledger_head()

        clusters.append(Cluster(logs))
        wait_for(
            lambda: (
                receiver.first_arrived.is_set()
                and ReportRequest.objects.get(pk=request.pk).status == ReportStatus.RUNNING
            ),
            deadline,
            "the first worker to be mid-delivery and mid-report",
            logs,
        )
        clusters[0].stop(signal.SIGKILL)
        lock.rollback()  # the dead worker's backend gets the lock, finds its client gone
        receiver.release.set()

        delivery.refresh_from_db()
        request.refresh_from_db()
        assert (delivery.status, delivery.attempt_count) == (DeliveryStatus.PENDING, 1)
        assert delivery.attempts.get().error == NO_RESULT_YET
        assert (request.status, request.attempts) == (ReportStatus.RUNNING, 1)
        assert not IssuedReport.objects.filter(request=request).exists()

        clusters.append(Cluster(logs))
        wait_for(
            lambda: (
                WebhookDelivery.objects.get(pk=delivery.pk).status == DeliveryStatus.DELIVERED
                and ReportRequest.objects.get(pk=request.pk).status == ReportStatus.DONE
            ),
            deadline,
            "a new worker to finish the delivery and the report",
            logs,
        )
        clusters[1].stop(signal.SIGTERM)  # let it finish anything still in hand

        delivery.refresh_from_db()
        request.refresh_from_db()
        assert receiver.successes == [str(delivery.pk)]
        assert receiver.delivery_ids == [str(delivery.pk), str(delivery.pk)]  # same id on retry
        assert (delivery.status, delivery.attempt_count) == (DeliveryStatus.DELIVERED, 2)
        assert (request.status, request.attempts) == (ReportStatus.DONE, 2)
        assert IssuedReport.objects.filter(request=request).count() == 1
    finally:
        for cluster in clusters:
            cluster.stop(signal.SIGKILL)
        if lock is not None:
            lock.close()
        receiver.stop()
        broker.purge_queue()
