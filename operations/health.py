"""Health checks for load balancers and orchestrators (django-health-check's check classes).

Liveness (`/health/live/`) says only that the process answers: an orchestrator restarts a
process that fails it, so it must not depend on the database (a database outage restarting
every web process would make it worse). Readiness (`/health/ready/`) says whether this process
can do its work now: a load balancer stops sending it traffic while it fails.

Readiness runs these checks, each a django-health-check `HealthCheck` whose failure message is
fit to show anyone (no host names, user names, keys or error texts from drivers):

- the database answers (`health_check.checks.Database`: SELECT 1);
- every migration is applied (a process of a newer release started before `migrate`, or an
  older one after it, answers 503 instead of failing on missing columns);
- Redis answers a PING, when REDIS_URL is set (the task broker);
- the task cluster's heartbeat is recent: a one-minute schedule writes it (operations.tasks),
  so it proves that a cluster's scheduler and a worker both ran within
  HEALTH_HEARTBEAT_MAX_AGE_SECONDS;
- the media folder is writable with at least HEALTH_MEDIA_MIN_FREE_MB free.
"""

import dataclasses
import datetime
import logging
import os
import shutil
from pathlib import Path

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from django_q.conf import Conf
from health_check.base import HealthCheck
from health_check.checks import Database
from health_check.exceptions import HealthCheckException, ServiceUnavailable

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class Migrations(HealthCheck):
    """Every migration of the code running here is applied to the database."""

    alias: str = DEFAULT_DB_ALIAS

    def run(self) -> None:
        connection = connections[self.alias]
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if plan:
            raise ServiceUnavailable(
                f"{len(plan)} migration(s) not applied: run `manage.py migrate`."
            )


@dataclasses.dataclass
class Redis(HealthCheck):
    """The Redis broker answers PING (only when REDIS_URL is set)."""

    def run(self) -> None:
        import redis

        url = settings.Q_CLUSTER.get("redis")
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        try:
            client.ping()
        except redis.RedisError as error:
            # The driver's message names the host; the type says enough.
            raise ServiceUnavailable(f"Redis did not answer ({type(error).__name__}).") from None
        finally:
            client.close()


@dataclasses.dataclass
class TaskClusterHeartbeat(HealthCheck):
    """A worker of the task cluster ran the heartbeat schedule recently."""

    def run(self) -> None:
        from operations.models import ClusterHeartbeat

        max_age = datetime.timedelta(seconds=settings.HEALTH_HEARTBEAT_MAX_AGE_SECONDS)
        beat = ClusterHeartbeat.objects.filter(cluster=Conf.CLUSTER_NAME).first()
        if beat is None:
            raise ServiceUnavailable(
                "No task cluster heartbeat yet: is `manage.py qcluster` running?"
            )
        age = timezone.now() - beat.beat_at
        if age > max_age:
            raise ServiceUnavailable(
                f"The task cluster's last heartbeat is {int(age.total_seconds())} s old "
                f"(more than {int(max_age.total_seconds())} s): is `manage.py qcluster` running?"
            )


def _existing(path: Path) -> Path:
    """The path, or its nearest existing parent (a fresh media folder is made on first use)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


@dataclasses.dataclass
class MediaDiskSpace(HealthCheck):
    """The media folder (training evidence uploads) is writable and has room."""

    def run(self) -> None:
        folder = _existing(Path(settings.MEDIA_ROOT))
        if not os.access(folder, os.W_OK):
            raise ServiceUnavailable("The media folder is not writable.")
        free_mb = shutil.disk_usage(folder).free // (1024 * 1024)
        if free_mb < settings.HEALTH_MEDIA_MIN_FREE_MB:
            raise ServiceUnavailable(
                f"{free_mb} MB free for media, below the {settings.HEALTH_MEDIA_MIN_FREE_MB} MB "
                "minimum (HEALTH_MEDIA_MIN_FREE_MB)."
            )


def readiness_checks() -> dict[str, HealthCheck]:
    """The checks of /health/ready/, by the name the answer shows."""
    checks: dict[str, HealthCheck] = {"database": Database(), "migrations": Migrations()}
    if settings.Q_CLUSTER.get("redis"):
        checks["redis"] = Redis()
    checks["task_cluster"] = TaskClusterHeartbeat()
    checks["media_disk"] = MediaDiskSpace()
    return checks


@dataclasses.dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    message: str
    seconds: float


def run_checks(checks: dict[str, HealthCheck]) -> list[CheckResult]:
    """Run each check in this thread, in order; a check that raised is a failure, not a 500.

    In the request's own thread (not django-health-check's async executor), so each check uses
    the request's database connection and nothing is left open in a pool of threads.
    """
    results = []
    for name, check in checks.items():
        started = timezone.now()
        try:
            check.run()
        except HealthCheckException as error:
            ok, message = False, error.message
        except Exception:
            # A driver's text may carry host names or credentials: log it, answer generically.
            logger.exception("Health check %s raised", name)
            ok, message = False, "The check failed unexpectedly; see the server log."
        else:
            ok, message = True, "OK"
        seconds = (timezone.now() - started).total_seconds()
        results.append(CheckResult(name=name, ok=ok, message=message, seconds=seconds))
    return results
