"""Direct guardian permission tables for journeys and AI systems, and the daily reconciliation.

The schedule is found by name, so running this again (or after someone created it by hand)
makes no second one. It first runs at 02:30 UTC the day after migrating.
"""

import datetime

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

SCHEDULE_NAME = "Reconcile authority"


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    tomorrow = timezone.now().astimezone(datetime.UTC).date() + datetime.timedelta(days=1)
    Schedule.objects.get_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "func": "oversight.tasks.reconcile_authority",
            "schedule_type": "D",  # Schedule.DAILY
            "repeats": -1,
            "next_run": datetime.datetime.combine(tomorrow, datetime.time(2, 30), datetime.UTC),
        },
    )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("oversight", "0005_history_without_webhook_secret"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AISystemUserObjectPermission",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "content_object",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, to="oversight.aisystem"
                    ),
                ),
                (
                    "permission",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, to="auth.permission"
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "verbose_name": "AI system permission of a user",
                "abstract": False,
                "unique_together": {("user", "permission", "content_object")},
            },
        ),
        migrations.CreateModel(
            name="JourneyUserObjectPermission",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "content_object",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, to="oversight.journey"
                    ),
                ),
                (
                    "permission",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, to="auth.permission"
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "verbose_name": "journey permission of a user",
                "abstract": False,
                "unique_together": {("user", "permission", "content_object")},
            },
        ),
        migrations.RunPython(create_schedule, delete_schedule),
    ]
