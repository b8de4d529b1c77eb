"""/health/live/ and /health/ready/: JSON, no login, no secrets; failing checks answer 503."""

import datetime
import json
from collections import namedtuple

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from operations import health
from operations.models import ClusterHeartbeat
from operations.tasks import heartbeat

pytestmark = pytest.mark.django_db

Usage = namedtuple("Usage", "total used free")


@pytest.fixture(autouse=True)
def without_redis(settings):
    """The ORM broker, whatever REDIS_URL the run has (CI's PostgreSQL pass sets one); the Redis
    check is tested on its own below."""
    settings.Q_CLUSTER = {key: value for key, value in settings.Q_CLUSTER.items() if key != "redis"}


@pytest.fixture
def beating():
    """A heartbeat written just now by the real task, as a running cluster writes it."""
    heartbeat()


def test_liveness_answers_ok_without_login_or_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/health/live/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]
    assert response["X-Request-ID"]


def test_readiness_is_ok_with_database_migrations_heartbeat_and_disk(
    client, beating, django_assert_max_num_queries
):
    with django_assert_max_num_queries(4):
        response = client.get("/health/ready/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "migrations", "task_cluster", "media_disk"}
    assert all(check["ok"] and check["message"] == "OK" for check in body["checks"].values())


def test_readiness_without_any_heartbeat_answers_503_naming_the_cluster_check(client):
    response = client.get("/health/ready/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["task_cluster"] == {
        "ok": False,
        "message": "No task cluster heartbeat yet: is `manage.py qcluster` running?",
        "seconds": body["checks"]["task_cluster"]["seconds"],
    }
    assert body["checks"]["database"]["ok"] is True


def test_a_stale_heartbeat_answers_503_with_its_age(client, beating, settings, time_machine):
    settings.HEALTH_HEARTBEAT_MAX_AGE_SECONDS = 300
    time_machine.move_to(timezone.now() + datetime.timedelta(seconds=301), tick=False)
    response = client.get("/health/ready/")
    assert response.status_code == 503
    message = response.json()["checks"]["task_cluster"]["message"]
    assert message.startswith("The task cluster's last heartbeat is 301 s old (more than 300 s)")


def test_the_heartbeat_task_counts_beats_in_one_row_per_cluster():
    heartbeat()
    heartbeat()
    beat = ClusterHeartbeat.objects.get()
    assert beat.cluster == "hitl"
    assert beat.beats == 2


def test_an_unapplied_migration_answers_503(client, beating, monkeypatch):
    from django.db.migrations.executor import MigrationExecutor

    real_plan = MigrationExecutor.migration_plan

    def plan_with_one_missing(self, targets, clean_start=False):
        # What a release whose migration is not applied yet sees: one node left to apply.
        applied = real_plan(self, targets, clean_start)
        assert applied == []
        leaf = self.loader.graph.leaf_nodes()[0]
        return [(self.loader.graph.nodes[leaf], False)]

    monkeypatch.setattr(MigrationExecutor, "migration_plan", plan_with_one_missing)
    response = client.get("/health/ready/")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == {
        "ok": False,
        "message": "1 migration(s) not applied: run `manage.py migrate`.",
        "seconds": response.json()["checks"]["migrations"]["seconds"],
    }


def test_an_unapplied_migration_is_seen_on_the_real_migration_table(beating):
    """The check reads django_migrations itself: a recorded migration removed is missing."""
    from django.db.migrations.recorder import MigrationRecorder

    check = health.Migrations()
    check.run()  # all applied
    recorder = MigrationRecorder(connection)
    row = recorder.migration_qs.get(app="operations", name="0001_cluster_heartbeat")
    row.delete()
    with pytest.raises(health.ServiceUnavailable, match="1 migration"):
        check.run()


def test_too_little_disk_for_media_answers_503(client, beating, monkeypatch, settings):
    settings.HEALTH_MEDIA_MIN_FREE_MB = 500
    monkeypatch.setattr(
        health.shutil, "disk_usage", lambda path: Usage(10**12, 10**12, 100 * 1024 * 1024)
    )
    response = client.get("/health/ready/")
    assert response.status_code == 503
    assert response.json()["checks"]["media_disk"]["message"] == (
        "100 MB free for media, below the 500 MB minimum (HEALTH_MEDIA_MIN_FREE_MB)."
    )


def test_a_media_folder_that_does_not_exist_yet_is_judged_by_its_parent(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "not" / "made" / "yet"
    settings.HEALTH_MEDIA_MIN_FREE_MB = 0
    health.MediaDiskSpace().run()


def test_redis_is_checked_only_when_configured_and_its_failure_names_no_host(
    client, beating, settings
):
    assert "redis" not in client.get("/health/ready/").json()["checks"]
    # A Redis that cannot be there: a closed port on the loopback, with a password in the URL.
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "redis": "redis://:s3cret-pw@127.0.0.1:1/0"}
    response = client.get("/health/ready/")
    assert response.status_code == 503
    text = response.content.decode()
    assert response.json()["checks"]["redis"]["message"].startswith("Redis did not answer (")
    assert "s3cret-pw" not in text and "127.0.0.1" not in text


def test_a_database_that_fails_answers_503_and_says_no_more_than_that(client, beating, monkeypatch):
    from django.db import OperationalError

    def refuse(*args, **kwargs):
        raise OperationalError('connection to server at "db.internal" failed: password for x')

    monkeypatch.setattr(health.Database, "run", lambda self: refuse())
    response = client.get("/health/ready/")
    assert response.status_code == 503
    assert response.json()["checks"]["database"]["message"] == (
        "The check failed unexpectedly; see the server log."
    )
    assert "db.internal" not in response.content.decode()


def test_health_answers_refuse_writes(client):
    response = client.post("/health/ready/")
    assert response.status_code == 405


def test_health_answers_hold_no_settings_or_secrets(client, beating, settings):
    body = json.dumps(client.get("/health/ready/").json())
    for secret in (settings.SECRET_KEY, settings.DATABASES["default"]["NAME"]):
        assert str(secret) not in body


def test_readiness_queries_are_few(beating):
    with CaptureQueriesContext(connection) as queries:
        results = health.run_checks(health.readiness_checks())
    assert all(result.ok for result in results)
    assert len(queries) <= 4
