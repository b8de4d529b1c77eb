"""django-q2 tasks of the operations app."""

import os
import socket

from django.db.models import F
from django.utils import timezone
from django_q.conf import Conf

from operations.models import ClusterHeartbeat


def heartbeat() -> str:
    """Every minute: record that a worker of this cluster ran a scheduled task just now.

    An upsert: safe to run twice, and two clusters sharing one name share one row.
    """
    now = timezone.now()
    fields = {"beat_at": now, "host": socket.gethostname()[:255], "pid": os.getpid()}
    updated = ClusterHeartbeat.objects.filter(cluster=Conf.CLUSTER_NAME).update(
        beats=F("beats") + 1, **fields
    )
    if not updated:
        ClusterHeartbeat.objects.get_or_create(
            cluster=Conf.CLUSTER_NAME, defaults={**fields, "beats": 1}
        )
    return f"Heartbeat of cluster {Conf.CLUSTER_NAME} at {now.isoformat(timespec='seconds')}"
