"""The ledger sealer (audit/services/sealer.py, `manage.py seal_ledger`), on PostgreSQL.

While it runs, case openings spend nothing on the chain: they find the sealing lock held and
leave their events to it, and it chains them, in order, within moments. When it stops, or its
database session is killed, case openings seal their own batches again and nothing is lost.
"""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from audit.models import AuditEvent
from audit.services import sealing
from audit.services.ledger import Actor, append_event, record_event, verify_ledger
from audit.services.own_batch import StaleBatch
from audit.services.sealer import run_sealer
from tests.audit.raw_connection import raw_connection
from tests.processes import PROJECT_DIR, database_url

pytestmark = [pytest.mark.django_db(transaction=True)]


# The sealing lock held in the test database: an advisory lock's objid is its key's low half,
# and pg_locks shows every database's locks (a sealer of another database holds the same key).
THIS_DATABASES_SEALING_LOCK = (
    "locktype = 'advisory' AND granted AND objid = %s"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def recorded(n: int) -> AuditEvent:
    with transaction.atomic():
        return record_event(actor=Actor.system(), action="test.recorded", payload={"n": n})


def pending() -> int:
    return AuditEvent.objects.filter(sequence__isnull=True).count()


def wait_until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


class Sealer:
    """`run_sealer` in a thread of its own, as `manage.py seal_ledger` runs it."""

    def __init__(self):
        self.stop, self.locked, self.failures, self.sealed = (
            threading.Event(),
            threading.Event(),
            [],
            [],
        )
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        try:
            self.sealed.append(
                run_sealer(poll=0.005, should_stop=self.stop.is_set, on_lock=self.locked.set)
            )
        except Exception as error:  # noqa: BLE001 - reported by the test
            self.failures.append(error)
        finally:
            connection.close()

    def __enter__(self):
        self.thread.start()
        assert self.locked.wait(10), "the sealer never took the sealing lock"
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive()
        assert not self.failures


def test_case_openings_leave_their_events_to_the_sealer_which_chains_them_in_order(
    postgres_only, django_assert_num_queries
):
    append_event(actor=Actor.system(), action="test.appended", payload={"n": 0})
    with Sealer() as sealer:
        # The seal after the commit: one look at the sealing lock, held by the sealer, no more.
        with django_assert_num_queries(3 + 1) as captured:  # BEGIN, the event's INSERT, COMMIT
            first = recorded(1)
        assert captured.captured_queries[-1]["sql"].startswith("SELECT pg_try_advisory_xact_lock")
        events = [first] + [recorded(n) for n in range(2, 6)]
        assert all(event.sequence is None for event in events)  # left to the sealer
        assert wait_until(lambda: pending() == 0), "the sealer did not chain the events"
    stored = list(AuditEvent.objects.order_by("sequence").values_list("id", "sequence"))
    assert [sequence for _, sequence in stored] == [1, 2, 3, 4, 5, 6]
    assert [event_id for event_id, _ in stored[1:]] == [event.pk for event in events]
    assert sealer.sealed == [5]
    assert verify_ledger().ok


def test_once_the_sealer_stops_case_openings_seal_their_own_events_again(postgres_only):
    with Sealer():
        recorded(1)
    assert pending() == 0  # it sealed what was pending on its way out
    event = recorded(2)
    assert event.sequence == 2  # sealed in the request, as without a sealer
    assert verify_ledger().ok


def test_a_sealer_whose_session_is_killed_takes_the_lock_again_and_loses_nothing(
    postgres_only, monkeypatch
):
    monkeypatch.setattr("audit.services.sealer.RECONNECT_SECONDS", 0.05)
    watcher = raw_connection()
    try:
        with Sealer() as sealer:
            recorded(1)
            assert wait_until(lambda: pending() == 0)
            [backend] = watcher.execute(
                f"SELECT pid FROM pg_locks WHERE {THIS_DATABASES_SEALING_LOCK}",
                [sealing.SEALING_LOCK & 0xFFFFFFFF],
            ).fetchone()
            sealer.locked.clear()
            watcher.execute("SELECT pg_terminate_backend(%s)", [backend])
            # Meanwhile case openings seal their own events (the lock went with the session).
            recorded(2)
            assert sealer.locked.wait(10), "the sealer did not take the lock again"
            recorded(3)
            assert wait_until(lambda: pending() == 0)
    finally:
        watcher.close()
    assert list(AuditEvent.objects.order_by("sequence").values_list("sequence", flat=True)) == [
        1,
        2,
        3,
    ]
    assert verify_ledger().ok


def test_a_second_sealer_waits_as_a_standby_and_takes_over(postgres_only):
    with Sealer():
        standby = Sealer()
        standby.thread.start()
        assert not standby.locked.wait(0.3), "two sealers held the sealing lock at once"
        recorded(1)
    assert standby.locked.wait(10), "the standby did not take over"
    try:
        event = recorded(2)
        assert event.sequence is None  # left to the standby, now the sealer
        assert wait_until(lambda: pending() == 0)
    finally:
        standby.__exit__(None, None, None)
    assert verify_ledger().ok


def test_a_standby_stops_when_asked_and_never_held_the_lock(postgres_only):
    with Sealer():
        standby = Sealer()
        standby.thread.start()
        assert not standby.locked.wait(0.3)
        standby.stop.set()
        standby.thread.join(2)  # it used to wait in pg_advisory_lock until the lock was free
        assert not standby.thread.is_alive(), "the standby did not stop while it waited"
        assert standby.sealed == [0] and not standby.locked.is_set() and not standby.failures


def test_a_sealer_batch_is_one_look_and_one_transaction(postgres_only, django_assert_num_queries):
    """The sealer seals a batch as a case opening's own seal does: after a look for pending
    events, one transaction of the lock (its own, taken again), one read of the head and the
    pending rows, and one UPDATE of the batch and the head."""
    append_event(actor=Actor.system(), action="test.appended", payload={"n": 0})
    holder = raw_connection()  # another session holds the lock: the events are left pending
    try:
        holder.execute("SELECT pg_advisory_lock(%s)", [sealing.SEALING_LOCK])
        events = [recorded(n) for n in range(1, 4)]
        assert all(event.sequence is None for event in events)
        holder.execute("SELECT pg_advisory_unlock(%s)", [sealing.SEALING_LOCK])
    finally:
        holder.close()
    with connection.cursor() as cursor:  # this session now holds it, as the sealer does
        cursor.execute("SELECT pg_advisory_lock(%s)", [sealing.SEALING_LOCK])
    try:
        # The look; BEGIN, the lock, the read, the UPDATE, COMMIT (8 with the head and the
        # pending rows read apart and the batch and the head updated apart, as before).
        with django_assert_num_queries(6):
            assert sealing.seal_batch_held() == 3
        with django_assert_num_queries(1):  # nothing pending: one look
            assert sealing.seal_batch_held() == 0
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [sealing.SEALING_LOCK])
    stored = AuditEvent.objects.order_by("sequence").values_list("id", "sequence")
    assert list(stored)[1:] == [(event.pk, n) for n, event in enumerate(events, 2)]
    assert verify_ledger().ok


def test_a_sealer_batch_that_keeps_losing_to_appends_seals_by_reading_after_its_lock(
    postgres_only, monkeypatch
):
    """Its one-statement read can see rows an append sealed meanwhile (StaleBatch, retried);
    should that happen on every try, the batch that reads the pending rows only after it holds
    the head seals them instead, rather than the sealer stopping."""
    holder = raw_connection()
    try:
        holder.execute("SELECT pg_advisory_lock(%s)", [sealing.SEALING_LOCK])
        events = [recorded(n) for n in range(1, 3)]
        holder.execute("SELECT pg_advisory_unlock(%s)", [sealing.SEALING_LOCK])
    finally:
        holder.close()
    tries = []

    def stale(event_id):
        tries.append(event_id)
        raise StaleBatch("an append sealed rows this batch read as pending")

    monkeypatch.setattr(sealing, "seal_batch_with", stale)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [sealing.SEALING_LOCK])
    try:
        assert sealing.seal_batch_held() == 2
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [sealing.SEALING_LOCK])
    assert len(tries) == 3 and pending() == 0
    sealed = AuditEvent.objects.filter(pk__in=[event.pk for event in events])
    assert sorted(sealed.values_list("sequence", flat=True)) == [1, 2]
    assert verify_ledger().ok


def test_the_command_refuses_sqlite_with_the_reason():
    if connection.vendor == "postgresql":
        pytest.skip("the refusal is SQLite's; on PostgreSQL the command runs the sealer")
    with pytest.raises(CommandError, match="PostgreSQL only"):
        call_command("seal_ledger")


@pytest.mark.parametrize("poll", ["0", "-1", "61"])
def test_the_command_refuses_a_poll_out_of_range(poll):
    with pytest.raises(CommandError, match="--poll"):
        call_command("seal_ledger", "--poll", poll)


def sealer_process(log) -> subprocess.Popen:
    """`manage.py seal_ledger` against the test database, as `make serve` starts it."""
    env = {**os.environ, "DATABASE_URL": database_url(), "DEBUG": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "manage.py", "seal_ledger", "--poll", "0.01"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def test_the_seal_ledger_process_killed_mid_work_loses_nothing_and_stops_cleanly(
    postgres_only, tmp_path
):
    """A real process: SIGKILL while case openings go on (its lock dies with its session and
    case openings seal their own events), then a new one, stopped by SIGTERM, as is a standby
    beside it."""
    log_path, standby_path = tmp_path / "sealer.log", tmp_path / "standby.log"
    watcher = raw_connection()

    def holds_lock() -> bool:
        return bool(
            watcher.execute(
                f"SELECT count(*) FROM pg_locks WHERE {THIS_DATABASES_SEALING_LOCK}",
                [sealing.SEALING_LOCK & 0xFFFFFFFF],
            ).fetchone()[0]
        )

    def trying_the_lock() -> bool:  # a session whose last statement is a sealer's try
        return bool(
            watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND query LIKE 'SELECT pg_try_advisory_lock(%%'"
            ).fetchone()[0]
        )

    second = standby = None
    with open(log_path, "ab") as log, open(standby_path, "ab") as standby_log:
        first = sealer_process(log)
        try:
            assert wait_until(holds_lock, 30), log_path.read_text()
            left = [recorded(n) for n in range(3)]
            assert all(event.sequence is None for event in left)  # left to the process
            assert wait_until(lambda: pending() == 0), log_path.read_text()
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            assert wait_until(lambda: not holds_lock())
            alone = recorded(3)
            assert alone.sequence == 4  # no sealer: sealed in the request
            second = sealer_process(log)
            assert wait_until(holds_lock, 30), log_path.read_text()
            left.append(recorded(4))
            assert left[-1].sequence is None
            # A standby, trying the lock the second holds, stops at once on SIGTERM.
            standby = sealer_process(standby_log)
            assert wait_until(trying_the_lock, 30), standby_path.read_text()
            standby.send_signal(signal.SIGTERM)
            assert standby.wait(5) == 0, standby_path.read_text()
            second.send_signal(signal.SIGTERM)
            assert second.wait(20) == 0, log_path.read_text()
        finally:
            for process in (first, second, standby):
                if process is not None and process.poll() is None:
                    process.kill()
            watcher.close()
    assert pending() == 0  # the stopping process sealed what was pending
    assert "Ledger sealer stopped; 1 event(s) sealed." in log_path.read_text()
    standby_said = standby_path.read_text()
    assert "holding" not in standby_said and "stopped; 0 event(s) sealed." in standby_said
    assert verify_ledger().ok
