"""The daily schedules: verify the whole audit trail, then anchor its head in a checkpoint.

Schedules are found by name, so running this again (or after someone created one by hand)
makes no second one. They first run the day after migrating, at 03:00 and 03:30 UTC.
"""

import datetime

from django.db import migrations
from django.utils import timezone

SCHEDULES = {
    "Verify audit trail": ("audit.tasks.verify_audit_trail", datetime.time(3, 0)),
    "Ledger checkpoint": ("audit.tasks.checkpoint_ledger", datetime.time(3, 30)),
}


def create_schedules(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    tomorrow = timezone.now().astimezone(datetime.UTC).date() + datetime.timedelta(days=1)
    for name, (func, at) in SCHEDULES.items():
        Schedule.objects.get_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": "D",  # Schedule.DAILY
                "repeats": -1,
                "next_run": datetime.datetime.combine(tomorrow, at, datetime.UTC),
            },
        )


def delete_schedules(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name__in=SCHEDULES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_ledger_checkpoints_and_verifications"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedules, delete_schedules)]
