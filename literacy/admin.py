"""Admin for AI-literacy records: training modules and versions, requirements, completions.

Completions are recorded and corrected only through `literacy.services.completions`, which
derives the pass and the expiry, hashes the evidence and appends the audit event; files of them
are imported only through `literacy.services.imports` (django-import-export's preview, then the
service's all-or-nothing import).
"""

import csv
import hashlib
import uuid

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Max
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from import_export.admin import ImportMixin
from import_export.formats.base_formats import CSV, XLSX

from literacy.imports import TrainingCompletionResource
from literacy.models import (
    BriefingAcknowledgement,
    BriefingRequirement,
    SystemBriefing,
    Topic,
    TrainingCompletion,
    TrainingModule,
    TrainingModuleVersion,
    TrainingReminder,
    TrainingRequirement,
)
from literacy.selectors import literacy_register
from literacy.services import briefings, completions, imports
from oversight.admin.common import HistoryAdmin, ScopedAdminMixin, ViewOnlyMixin
from oversight.exceptions import DomainError
from oversight.models import AISystem


class TrainingModuleForm(forms.ModelForm):
    topics = forms.MultipleChoiceField(
        choices=Topic.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=TrainingModule._meta.get_field("topics").help_text,
    )

    class Meta:
        model = TrainingModule
        fields = ["slug", "title", "topics", "audience", "is_active"]
        widgets = {"audience": forms.CheckboxSelectMultiple}


class TrainingModuleVersionInline(admin.StackedInline):
    model = TrainingModuleVersion
    fields = [
        "version",
        "published_on",
        "summary",
        "validity_months",
        "pass_mark",
        "requires_requalification",
    ]
    extra = 0
    can_delete = False


@admin.register(TrainingModule)
class TrainingModuleAdmin(HistoryAdmin):
    form = TrainingModuleForm
    list_display = ["title", "slug", "latest_version", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [TrainingModuleVersionInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(latest_version=Max("versions__version"))

    @admin.display(description="latest version", ordering="latest_version")
    def latest_version(self, module):
        return module.latest_version


@admin.register(TrainingModuleVersion)
class TrainingModuleVersionAdmin(HistoryAdmin):
    list_display = [
        "module",
        "version",
        "published_on",
        "validity_months",
        "pass_mark",
        "requires_requalification",
    ]
    list_filter = ["requires_requalification", "module"]
    list_select_related = ["module"]
    search_fields = ["module__title", "module__slug"]
    autocomplete_fields = ["module"]
    date_hierarchy = "published_on"


@admin.register(TrainingRequirement)
class TrainingRequirementAdmin(HistoryAdmin):
    list_display = ["module", "authority_level", "group"]
    list_filter = ["module", "authority_level", "group"]
    list_select_related = ["module", "authority_level", "group"]
    search_fields = ["module__title", "authority_level__name", "group__name"]


class TrainingCompletionForm(forms.ModelForm):
    """Checks a completion by the service's own rules, so a refusal shows on the form.

    The admin saves through the service afterwards; checking here first is what lets the admin
    answer with the form and its error instead of an error page.
    """

    result_without_score = forms.TypedChoiceField(
        choices=[("", "Follows from the score"), ("passed", "Passed"), ("failed", "Not passed")],
        coerce=lambda choice: choice == "passed",
        empty_value=None,
        required=False,
        help_text="Only for training without a score; with a score the pass mark decides.",
    )

    class Meta:
        model = TrainingCompletion
        fields = ["user", "module_version", "completed_on", "score", "evidence"]
        # A plain file input, without the "clear" box: evidence is added or replaced, never removed.
        widgets = {"evidence": forms.FileInput}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding and self.instance.score is None:
            self.initial["result_without_score"] = "passed" if self.instance.passed else "failed"

    def clean(self):
        cleaned = super().clean()
        if self.instance._state.adding:
            module_version = cleaned.get("module_version")
        else:
            module_version = self.instance.module_version
        completed_on = cleaned.get("completed_on")
        if module_version is None or completed_on is None or self.has_error("score"):
            return cleaned
        score = cleaned.get("score")
        try:
            # The service's validation steps (its only rules besides the permission, which the
            # admin checks as the same add/change permission before showing this form).
            completions.check_completion(completed_on=completed_on, score=score)
            completions.derive_passed(module_version, score, cleaned.get("result_without_score"))
        except DomainError as error:
            raise ValidationError(error.message, code=error.code) from None
        return cleaned


@admin.register(TrainingCompletion)
class TrainingCompletionAdmin(ImportMixin, HistoryAdmin):
    form = TrainingCompletionForm
    resource_classes = [TrainingCompletionResource]
    import_formats = [CSV, XLSX]
    # The "training.imported" audit event and each row's history record the import; a
    # LogEntry per row would only repeat them, thousands of times.
    skip_admin_log = True
    list_display = [
        "user",
        "module_version",
        "completed_on",
        "score",
        "passed",
        "expires_on",
        "recorded_by",
    ]
    list_filter = ["passed", "module_version__module", "expires_on"]
    list_select_related = ["user", "module_version__module", "recorded_by"]
    search_fields = ["user__username", "user__email", "module_version__module__title"]
    date_hierarchy = "completed_on"
    autocomplete_fields = ["user"]
    fields = [
        "user",
        "module_version",
        "completed_on",
        "score",
        "result_without_score",
        "passed",
        "expires_on",
        "evidence",
        "current_evidence",
        "evidence_sha256",
        "recorded_by",
        "recorded_at",
    ]
    readonly_fields = [
        "passed",
        "expires_on",
        "current_evidence",
        "evidence_sha256",
        "recorded_by",
        "recorded_at",
    ]

    def get_readonly_fields(self, request, obj=None):
        # A correction changes the date, score and evidence; whose training it was stays.
        if obj is not None:
            return ["user", "module_version", *self.readonly_fields]
        return self.readonly_fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "module_version":
            # Each version's name includes its module's title: one query, not one per option.
            kwargs["queryset"] = TrainingModuleVersion.objects.select_related("module")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="current evidence file")
    def current_evidence(self, completion):
        return completion.evidence.name or self.get_empty_value_display()

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        evidence = data["evidence"] if "evidence" in form.changed_data else None
        if change:
            completion = completions.correct_completion(
                completion=obj,
                corrected_by=request.user,
                completed_on=data["completed_on"],
                score=data["score"],
                passed=data["result_without_score"],
                evidence=evidence,
            )
        else:
            completion = completions.record_completion(
                user=data["user"],
                module_version=data["module_version"],
                completed_on=data["completed_on"],
                recorded_by=request.user,
                score=data["score"],
                passed=data["result_without_score"],
                evidence=evidence,
            )
        # The admin carries on with `obj` (log entry, message, redirect): make it the saved row.
        obj.pk = completion.pk
        obj.refresh_from_db()
        obj._state.adding = False

    # The literacy register ------------------------------------------------------------------

    def get_urls(self):
        register = path(
            "register/",
            self.admin_site.admin_view(self.register_view),
            name="literacy_trainingcompletion_register",
        )
        return [register, *super().get_urls()]

    def register_view(self, request):
        """Per person the required training and its status, per AI system the coverage;
        filterable by role and AI system; `?format=csv` downloads the same."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        group = Group.objects.filter(pk=_int(request.GET.get("group"))).first()
        ai_system = AISystem.objects.filter(pk=_uuid(request.GET.get("ai_system"))).first()
        register = literacy_register(ai_system=ai_system, group=group)
        if request.GET.get("format") == "csv":
            return _register_csv(register)
        query = request.GET.copy()
        query["format"] = "csv"
        context = {
            **self.admin_site.each_context(request),
            "title": "AI-literacy register",
            "opts": self.model._meta,
            "register": register,
            "group": group,
            "ai_system": ai_system,
            "groups": Group.objects.order_by("name"),
            "ai_systems": AISystem.objects.order_by("name"),
            "csv_query": query.urlencode(),
        }
        return TemplateResponse(request, "admin/literacy/register.html", context)

    # Importing a file ----------------------------------------------------------------------

    def has_import_permission(self, request):
        return request.user.has_perm("literacy.add_trainingcompletion")

    def _uploaded_bytes(self, form) -> bytes:
        """The confirmed file exactly as uploaded (import-export keeps it in temporary storage)."""
        storage = self.get_tmp_storage_class()(
            name=form.cleaned_data["import_file_name"],
            encoding=None,
            read_mode="rb",
            **self.get_tmp_storage_class_kwargs(),
        )
        data = storage.read()
        return data.encode("utf-8") if isinstance(data, str) else data

    def process_dataset(self, dataset, form, request, **kwargs):
        # The confirmed import goes through the service: one transaction, one audit event with
        # the file's SHA-256, permissions brought in step.
        file_name = kwargs.pop("file_name", None) or form.cleaned_data.get("original_file_name")
        return imports.import_completions(
            dataset=dataset,
            imported_by=request.user,
            file_sha256=hashlib.sha256(self._uploaded_bytes(form)).hexdigest(),
            file_name=file_name or "",
        )

    def process_result(self, result, request):
        if result.has_errors() or result.has_validation_errors():
            # Something changed between the preview and the confirmation (say, a row recorded
            # meanwhile): the service imported nothing.
            messages.error(
                request,
                f"Nothing was imported: {len(result.invalid_rows)} row(s) are no longer valid "
                f"({'; '.join(self._row_messages(result))}). Check the file and import it again.",
            )
            return HttpResponseRedirect(reverse("admin:literacy_trainingcompletion_import"))
        return super().process_result(result, request)

    @staticmethod
    def _row_messages(result) -> list[str]:
        lines = [f"row {row.number}: {' '.join(row.error.messages)}" for row in result.invalid_rows]
        lines += [str(error.error) for error in result.base_errors]
        return lines


# System briefings ------------------------------------------------------------------------------


@admin.register(SystemBriefing)
class SystemBriefingAdmin(HistoryAdmin):
    """Briefings are published through `publish_briefing` and never edited: a change is a new
    version. Anyone who may see them acknowledges them here, for themselves."""

    list_display = ["ai_system", "version", "published_on", "published_by", "acknowledgements"]
    list_filter = ["ai_system"]
    list_select_related = ["ai_system", "published_by"]
    search_fields = ["ai_system__name"]
    date_hierarchy = "published_on"
    actions = ["acknowledge"]
    texts = ["capabilities", "limitations", "instructions_for_use", "stop_procedure"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["ai_system", *self.texts]
        return ["ai_system", "version", "published_on", "published_by", *self.texts]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return (
            super().get_queryset(request).annotate(acknowledgement_count=Count("acknowledgements"))
        )

    @admin.display(description="acknowledged by", ordering="acknowledgement_count")
    def acknowledgements(self, briefing):
        return briefing.acknowledgement_count

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        briefing = briefings.publish_briefing(
            ai_system=data["ai_system"],
            published_by=request.user,
            **{name: data[name] for name in self.texts},
        )
        obj.pk = briefing.pk
        obj.refresh_from_db()
        obj._state.adding = False

    @admin.action(description="Acknowledge the selected briefings (I have read them)")
    def acknowledge(self, request, queryset):
        for briefing in queryset.select_related("ai_system"):
            try:
                briefings.acknowledge_briefing(user=request.user, briefing=briefing)
            except DomainError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                self.message_user(request, f"You acknowledged {briefing}.", messages.SUCCESS)


@admin.register(BriefingAcknowledgement)
class BriefingAcknowledgementAdmin(ViewOnlyMixin, HistoryAdmin):
    list_display = ["user", "briefing", "acknowledged_at"]
    list_filter = ["briefing__ai_system"]
    list_select_related = ["user", "briefing__ai_system"]
    search_fields = ["user__username", "briefing__ai_system__name"]
    date_hierarchy = "acknowledged_at"


@admin.register(BriefingRequirement)
class BriefingRequirementAdmin(HistoryAdmin):
    list_display = ["authority_level", "ai_system"]
    list_filter = ["authority_level", "ai_system"]
    list_select_related = ["authority_level", "ai_system"]


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _register_csv(register) -> HttpResponse:
    """The register as CSV: one line per person and required item, then the coverage."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="literacy-register-{register.at:%Y-%m-%d}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(
        ["person", "roles", "oversees", "required", "status", "expires_on", "all_current"]
    )
    for row in register.rows:
        common = [row.user.get_username(), "; ".join(row.roles), "; ".join(row.ai_systems)]
        for status in row.statuses or [None]:
            writer.writerow(
                [
                    *common,
                    status.title if status else "",
                    status.state if status else "",
                    status.expires_on.isoformat() if status and status.expires_on else "",
                    "yes" if row.all_current else "no",
                ]
            )
    writer.writerow([])
    writer.writerow(["ai_system", "overseers", "all_training_current", "share"])
    for item in register.coverage:
        share = "" if item.share is None else f"{item.share:.2f}"
        writer.writerow([item.ai_system.name, item.overseers, item.fully_trained, share])
    return response


@admin.register(TrainingReminder)
class TrainingReminderAdmin(ScopedAdminMixin, ViewOnlyMixin, admin.ModelAdmin):
    """What the daily reminder task sent, to whom and when (written only by the task)."""

    list_display = ["completion", "threshold_days", "sent_at"]
    list_filter = ["threshold_days"]
    list_select_related = ["completion__user", "completion__module_version__module"]
    search_fields = ["completion__user__username"]
    date_hierarchy = "sent_at"

    def has_delete_permission(self, request, obj=None):
        return False
