"""The monthly oversight reports, and the report permissions of compliance officers.

The schedule is found by name, so running this again (or after someone created it by hand)
makes no second one. It first runs at 03:00 UTC on the first day of the month after migrating
and requests the previous calendar month's oversight report of every active AI system.

The permissions are granted here rather than in oversight/roles.py: 0002_roles applies that list
before these models exist.
"""

import datetime

from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.utils import timezone

SCHEDULE_NAME = "Monthly oversight reports"

REPORT_PERMISSIONS = {
    "Compliance officer": ["add_reportrequest", "view_reportrequest", "view_issuedreport"],
}


def create_schedule(apps, schema_editor):
    today = timezone.now().astimezone(datetime.UTC).date()
    next_month = (today.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
    apps.get_model("django_q", "Schedule").objects.get_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "func": "oversight.tasks.request_monthly_reports",
            "schedule_type": "M",  # Schedule.MONTHLY
            "repeats": -1,
            "next_run": datetime.datetime.combine(next_month, datetime.time(3, 0), datetime.UTC),
        },
    )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


def grant_report_permissions(apps, schema_editor):
    """Compliance officers request reports, follow them and download what was issued."""
    app_config = apps.get_app_config("oversight")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in REPORT_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="oversight", codename__in=codenames)
        )


def revoke_report_permissions(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in REPORT_PERMISSIONS.items():
        group = Group.objects.filter(name=role).first()
        if group is not None:
            group.permissions.remove(
                *Permission.objects.filter(
                    content_type__app_label="oversight", codename__in=codenames
                )
            )


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
        ("oversight", "0009_reports"),
    ]

    operations = [
        migrations.RunPython(grant_report_permissions, revoke_report_permissions),
        migrations.RunPython(create_schedule, delete_schedule),
    ]
