"""The serious-incident register (issue #19), who may use it, and its two hourly schedules.

Compliance officers and managers view, raise and move incidents (the services check further:
managers only on the AI systems they manage). The reminders sent are in the audit ledger.
The schedules are found by name, so running this again makes no second one.
"""

import datetime

import django.db.models.deletion
import django.utils.timezone
import simple_history.models
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

import oversight.models.incidents

SCHEDULES = {
    "Suggest serious incidents": "oversight.tasks.suggest_incidents",
    "Remind incident deadlines": "oversight.tasks.send_incident_reminders",
}
INCIDENT_PERMISSIONS = {
    "Compliance officer": ["view_incident", "add_incident", "change_incident"],
    "Manager": ["view_incident", "add_incident", "change_incident"],
}


def create_schedules(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, func in SCHEDULES.items():
        Schedule.objects.get_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": "H",  # Schedule.HOURLY
                "repeats": -1,
                "next_run": django.utils.timezone.now() + datetime.timedelta(minutes=5),
            },
        )


def delete_schedules(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name__in=SCHEDULES).delete()


def grant_incident_permissions(apps, schema_editor):
    app_config = apps.get_app_config("oversight")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in INCIDENT_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="oversight", codename__in=codenames)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("oversight", "0014_case_callback_url_policy"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Incident",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("title", models.CharField(max_length=200)),
                ("what_happened", models.TextField()),
                (
                    "affected",
                    models.TextField(help_text="Who was affected: people, groups, how many."),
                ),
                (
                    "source",
                    models.CharField(
                        choices=[
                            ("case", "A case"),
                            ("decision", "A decision"),
                            ("outcome", "An outcome (complaint, reversal)"),
                            ("guardrail", "A guardrail breach"),
                            ("suggestion", "Suggested by the product from patterns"),
                        ],
                        max_length=16,
                    ),
                ),
                (
                    "incident_class",
                    models.CharField(
                        choices=[
                            ("death", "Death of a person (10 days)"),
                            (
                                "widespread",
                                "Widespread infringement or serious disruption of critical infrastructure (2 days)",
                            ),
                            ("other", "Other serious incident (15 days)"),
                        ],
                        default="other",
                        max_length=16,
                        verbose_name="class",
                    ),
                ),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("suggested", "Suggested by the product (not yet an incident)"),
                            ("dismissed", "Suggestion dismissed"),
                            ("suspected", "Suspected"),
                            ("confirmed", "Confirmed"),
                            ("reported_to_provider", "Reported to the provider"),
                            ("reported_to_authority", "Reported to the authority"),
                            ("closed", "Closed"),
                        ],
                        db_index=True,
                        max_length=24,
                    ),
                ),
                (
                    "became_aware_at",
                    models.DateTimeField(
                        blank=True,
                        help_text="When the organisation became aware; the reporting clock starts here.",
                        null=True,
                    ),
                ),
                (
                    "time_zone",
                    models.CharField(
                        default=oversight.models.incidents._default_time_zone,
                        help_text="The organisation's zone: the deadline falls at the same local time of day.",
                        max_length=64,
                        validators=[oversight.models.incidents.validate_time_zone],
                    ),
                ),
                (
                    "deadline",
                    models.DateTimeField(
                        blank=True,
                        db_index=True,
                        help_text="Report to the authority by then.",
                        null=True,
                    ),
                ),
                (
                    "deadline_reason",
                    models.TextField(
                        blank=True,
                        help_text="Why the deadline was last moved (empty: as computed).",
                    ),
                ),
                ("raised_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("reported_to_provider_at", models.DateTimeField(blank=True, null=True)),
                ("reported_to_authority_at", models.DateTimeField(blank=True, null=True)),
                ("authority_reference", models.CharField(blank=True, max_length=200)),
                ("closed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "note",
                    models.TextField(blank=True, help_text="The note of the last state change."),
                ),
                (
                    "ai_system",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="incidents",
                        to="oversight.aisystem",
                    ),
                ),
                (
                    "raised_by",
                    models.ForeignKey(
                        blank=True,
                        help_text="Empty for a suggestion by the product until a person confirms it.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "related_cases",
                    models.ManyToManyField(
                        blank=True, related_name="incidents", to="oversight.case"
                    ),
                ),
                (
                    "source_case",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="oversight.case",
                    ),
                ),
                (
                    "source_decision",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="oversight.decision",
                    ),
                ),
                (
                    "source_guardrail_evaluation",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="oversight.guardrailevaluation",
                    ),
                ),
                (
                    "source_outcome",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="oversight.outcome",
                    ),
                ),
            ],
            options={
                "ordering": [models.OrderBy(models.F("deadline"), nulls_last=True), "-raised_at"],
            },
        ),
        migrations.CreateModel(
            name="IncidentReminder",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "threshold_hours",
                    models.IntegerField(help_text="Hours before the deadline; 0: overdue."),
                ),
                ("deadline", models.DateTimeField()),
                ("sent_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("recipients", models.JSONField(blank=True, default=list)),
                (
                    "incident",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="reminders",
                        to="oversight.incident",
                    ),
                ),
            ],
            options={
                "ordering": ["-sent_at"],
            },
        ),
        migrations.CreateModel(
            name="HistoricalIncident",
            fields=[
                (
                    "id",
                    models.BigIntegerField(
                        auto_created=True, blank=True, db_index=True, verbose_name="ID"
                    ),
                ),
                ("title", models.CharField(max_length=200)),
                ("what_happened", models.TextField()),
                (
                    "affected",
                    models.TextField(help_text="Who was affected: people, groups, how many."),
                ),
                (
                    "source",
                    models.CharField(
                        choices=[
                            ("case", "A case"),
                            ("decision", "A decision"),
                            ("outcome", "An outcome (complaint, reversal)"),
                            ("guardrail", "A guardrail breach"),
                            ("suggestion", "Suggested by the product from patterns"),
                        ],
                        max_length=16,
                    ),
                ),
                (
                    "incident_class",
                    models.CharField(
                        choices=[
                            ("death", "Death of a person (10 days)"),
                            (
                                "widespread",
                                "Widespread infringement or serious disruption of critical infrastructure (2 days)",
                            ),
                            ("other", "Other serious incident (15 days)"),
                        ],
                        default="other",
                        max_length=16,
                        verbose_name="class",
                    ),
                ),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("suggested", "Suggested by the product (not yet an incident)"),
                            ("dismissed", "Suggestion dismissed"),
                            ("suspected", "Suspected"),
                            ("confirmed", "Confirmed"),
                            ("reported_to_provider", "Reported to the provider"),
                            ("reported_to_authority", "Reported to the authority"),
                            ("closed", "Closed"),
                        ],
                        db_index=True,
                        max_length=24,
                    ),
                ),
                (
                    "became_aware_at",
                    models.DateTimeField(
                        blank=True,
                        help_text="When the organisation became aware; the reporting clock starts here.",
                        null=True,
                    ),
                ),
                (
                    "time_zone",
                    models.CharField(
                        default=oversight.models.incidents._default_time_zone,
                        help_text="The organisation's zone: the deadline falls at the same local time of day.",
                        max_length=64,
                        validators=[oversight.models.incidents.validate_time_zone],
                    ),
                ),
                (
                    "deadline",
                    models.DateTimeField(
                        blank=True,
                        db_index=True,
                        help_text="Report to the authority by then.",
                        null=True,
                    ),
                ),
                (
                    "deadline_reason",
                    models.TextField(
                        blank=True,
                        help_text="Why the deadline was last moved (empty: as computed).",
                    ),
                ),
                ("raised_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("reported_to_provider_at", models.DateTimeField(blank=True, null=True)),
                ("reported_to_authority_at", models.DateTimeField(blank=True, null=True)),
                ("authority_reference", models.CharField(blank=True, max_length=200)),
                ("closed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "note",
                    models.TextField(blank=True, help_text="The note of the last state change."),
                ),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField()),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(
                        choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1
                    ),
                ),
                (
                    "ai_system",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="oversight.aisystem",
                    ),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "raised_by",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        help_text="Empty for a suggestion by the product until a person confirms it.",
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "source_case",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="oversight.case",
                    ),
                ),
                (
                    "source_decision",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="oversight.decision",
                    ),
                ),
                (
                    "source_guardrail_evaluation",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="oversight.guardrailevaluation",
                    ),
                ),
                (
                    "source_outcome",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="oversight.outcome",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical incident",
                "verbose_name_plural": "historical incidents",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
                "indexes": [
                    models.Index(
                        fields=["history_date", "id"], name="oversight_h_history_426fd5_idx"
                    )
                ],
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(fields=["state", "deadline"], name="oversight_i_state_4052df_idx"),
        ),
        migrations.AddConstraint(
            model_name="incident",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("state__in", ["suggested", "dismissed"]),
                    models.Q(("became_aware_at__isnull", False), ("deadline__isnull", False)),
                    _connector="OR",
                ),
                name="incident_has_clock",
                violation_error_message="An incident needs the moment of awareness and a deadline.",
            ),
        ),
        migrations.AddConstraint(
            model_name="incident",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("state", "reported_to_authority"), _negated=True),
                    models.Q(
                        ("reported_to_authority_at__isnull", False),
                        models.Q(("authority_reference", ""), _negated=True),
                    ),
                    _connector="OR",
                ),
                name="incident_authority_report_dated",
                violation_error_message="A report to the authority needs its date and reference.",
            ),
        ),
        migrations.AddConstraint(
            model_name="incident",
            constraint=models.UniqueConstraint(
                condition=models.Q(("source", "suggestion")),
                fields=("source_outcome",),
                name="incident_one_suggestion_per_outcome",
            ),
        ),
        migrations.AddConstraint(
            model_name="incidentreminder",
            constraint=models.UniqueConstraint(
                fields=("incident", "threshold_hours", "deadline"),
                name="incident_reminder_once_per_threshold",
            ),
        ),
        migrations.AlterField(
            model_name="issuedreport",
            name="kind",
            field=models.CharField(
                choices=[
                    ("oversight", "Oversight report (AI system, period)"),
                    ("authority", "Authority register"),
                    ("literacy", "AI-literacy register"),
                    ("dossier", "Case dossier"),
                    ("incident", "Serious incident report"),
                ],
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="reportrequest",
            name="kind",
            field=models.CharField(
                choices=[
                    ("oversight", "Oversight report (AI system, period)"),
                    ("authority", "Authority register"),
                    ("literacy", "AI-literacy register"),
                    ("dossier", "Case dossier"),
                    ("incident", "Serious incident report"),
                ],
                max_length=16,
            ),
        ),
        migrations.RunPython(grant_incident_permissions, migrations.RunPython.noop),
        migrations.RunPython(create_schedules, delete_schedules),
    ]
