"""The cluster heartbeat table and its one-minute schedule (read by /health/ready/)."""

import datetime

from django.db import migrations, models
from django.utils import timezone

HEARTBEAT = "Task cluster heartbeat"


def create_heartbeat_schedule(apps, schema_editor):
    """Every minute, found by name so a second run makes no second schedule.

    The first beat is due at once: a cluster started right after `migrate` is ready within
    its first scheduler round instead of a minute later.
    """
    apps.get_model("django_q", "Schedule").objects.get_or_create(
        name=HEARTBEAT,
        defaults={
            "func": "operations.tasks.heartbeat",
            "schedule_type": "I",  # Schedule.MINUTES
            "minutes": 1,
            "repeats": -1,
            "next_run": timezone.now() - datetime.timedelta(seconds=1),
        },
    )


def delete_heartbeat_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=HEARTBEAT).delete()


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.CreateModel(
            name="ClusterHeartbeat",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "cluster",
                    models.CharField(
                        help_text="django-q2 cluster name.", max_length=100, unique=True
                    ),
                ),
                (
                    "beat_at",
                    models.DateTimeField(help_text="When a worker last ran the heartbeat task."),
                ),
                (
                    "host",
                    models.CharField(
                        blank=True, help_text="Host name of that worker.", max_length=255
                    ),
                ),
                (
                    "pid",
                    models.PositiveIntegerField(blank=True, help_text="Its process id.", null=True),
                ),
                (
                    "beats",
                    models.PositiveBigIntegerField(
                        default=0, help_text="Heartbeats since the first."
                    ),
                ),
            ],
            options={"verbose_name": "cluster heartbeat"},
        ),
        migrations.RunPython(create_heartbeat_schedule, delete_heartbeat_schedule),
    ]
