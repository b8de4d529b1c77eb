"""Admin for AI-literacy records: training modules and versions, requirements, completions.

Completions are recorded and corrected only through `literacy.services.completions`, which
derives the pass and the expiry, hashes the evidence and appends the audit event.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Max

from literacy.models import (
    Topic,
    TrainingCompletion,
    TrainingModule,
    TrainingModuleVersion,
    TrainingRequirement,
)
from literacy.services import completions
from oversight.admin.common import HistoryAdmin
from oversight.exceptions import DomainError


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
class TrainingCompletionAdmin(HistoryAdmin):
    form = TrainingCompletionForm
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
