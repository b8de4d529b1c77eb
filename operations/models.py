"""The task cluster's heartbeat: proof, for /health/ready/, that some cluster runs schedules.

Not evidence: one row per cluster name, overwritten every minute by `operations.tasks.heartbeat`
(a django-q2 schedule made by this app's first migration). A row that stops moving means no
cluster's scheduler or workers are running, so SLA sweeps, webhooks and reports would stall.
"""

from django.db import models


class ClusterHeartbeat(models.Model):
    """The last time a worker of the task cluster ran the heartbeat schedule."""

    cluster = models.CharField(max_length=100, unique=True, help_text="django-q2 cluster name.")
    beat_at = models.DateTimeField(help_text="When a worker last ran the heartbeat task.")
    host = models.CharField(max_length=255, blank=True, help_text="Host name of that worker.")
    pid = models.PositiveIntegerField(null=True, blank=True, help_text="Its process id.")
    beats = models.PositiveBigIntegerField(default=0, help_text="Heartbeats since the first.")

    class Meta:
        verbose_name = "cluster heartbeat"

    def __str__(self) -> str:
        return f"{self.cluster}: {self.beat_at:%Y-%m-%d %H:%M:%S %Z}"
