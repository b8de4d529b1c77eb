import pytest
from django.db import connection

from tests.receiver import receiver  # noqa: F401  (the loopback webhook endpoint, as a fixture)


@pytest.fixture
def postgres_only():
    """Skip, with the reason, where the behaviour under test exists only on PostgreSQL."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (row locks / triggers); runs in CI's PostgreSQL pass")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Demo and factory users get passwords; a real hasher would dominate the suite's time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class QueuedTasks:
    """The task queue as the configured broker holds it: ORM by default, Redis with REDIS_URL."""

    def __init__(self, broker):
        self.broker = broker

    def size(self) -> int:
        return self.broker.queue_size()

    def take_all(self) -> list[dict]:
        """Remove and decode every queued task (as a worker would, without running them)."""
        from django_q.signing import SignedPackage

        tasks = []
        remaining = self.broker.queue_size()
        while remaining > 0:
            batch = self.broker.dequeue() or []
            if not batch:
                break
            for ack_id, payload in batch:
                tasks.append(SignedPackage.loads(payload))
                if ack_id is not None:
                    self.broker.acknowledge(ack_id)
            remaining -= len(batch)
        return tasks


@pytest.fixture
def task_queue():
    """An empty task queue on the configured broker, emptied again afterwards."""
    from django_q.brokers import get_broker

    broker = get_broker()
    broker.purge_queue()
    yield QueuedTasks(broker)
    broker.purge_queue()


# --- Ledger signing (issue #14, G2): a fixed test key, never the generated development key. ---
TEST_LEDGER_SIGNING_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # bytes 0..31, base64


@pytest.fixture(autouse=True)
def ledger_signing_key(settings, tmp_path):
    settings.LEDGER_SIGNING_KEY = TEST_LEDGER_SIGNING_KEY
    settings.LEDGER_SIGNING_KEY_FILE = ""
    settings.LEDGER_DEV_KEY_FILE = tmp_path / "no-dev-key.pem"
    settings.LEDGER_PUBLIC_KEYS = []


# --- Evidence tables refuse TRUNCATE on PostgreSQL (issue #14, G2). Django empties the test
# database with TRUNCATE after each transaction=True test; the test run's superuser does it with
# the triggers off for that one transaction, as only a superuser can.
@pytest.fixture(autouse=True, scope="session")
def flush_past_the_truncate_guard():
    from django.db import transaction
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        with transaction.atomic(using=self.connection.alias):
            with self.connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
            original(self, sql_list)

    DatabaseOperations.execute_sql_flush = execute_sql_flush
    yield
    DatabaseOperations.execute_sql_flush = original


# --- Signed reports (issue #15) --------------------------------------------------------------
@pytest.fixture(scope="session")
def report_signing_dir(tmp_path_factory):
    """One demo signing key and certificate for the whole run (an RSA key takes a moment)."""
    from oversight.reports.signing import generate_self_signed

    directory = tmp_path_factory.mktemp("report-signing")
    generate_self_signed(directory)
    return directory


@pytest.fixture(autouse=True)
def report_signing(settings, report_signing_dir):
    """Reports are signed with the session's demo certificate, never one in the checkout."""
    settings.REPORT_SIGNING_KEY_FILE = ""
    settings.REPORT_SIGNING_CERT_FILE = ""
    settings.REPORT_SIGNING_GENERATE_DEV_CERT = True
    settings.REPORT_SIGNING_DEV_DIR = report_signing_dir
    return report_signing_dir


@pytest.fixture
def label_lookups(monkeypatch) -> list[str]:
    """The names of the prometheus metrics asked for a labelled series (`labels()`) during the
    test, one entry per lookup, in order (a counter's name without "_total")."""
    from prometheus_client.metrics import MetricWrapperBase

    names: list[str] = []
    labels = MetricWrapperBase.labels

    def recording(metric, *args, **kwargs):
        names.append(metric._name)
        return labels(metric, *args, **kwargs)

    monkeypatch.setattr(MetricWrapperBase, "labels", recording)
    return names
