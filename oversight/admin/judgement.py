"""Admin for judgement points and their trigger conditions.

Every save goes through `save_judgement_point`, which raises the point's version, so each gate
evaluation keeps naming the exact rules it was judged by. A manager adds and changes points
(and their conditions) only on the journeys they manage (superusers on all): the journey
choices are those, other points open view-only, and the service refuses the rest.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from oversight.admin.common import HistoryAdmin, StableSlugMixin, ViewOnlyHistoryAdmin
from oversight.admin.systems import JourneyListFilter
from oversight.models import JudgementPoint, TriggerCondition
from oversight.services.authority import journeys_managed_by, manages_scope
from oversight.services.configuration import save_judgement_point


class ConditionValueField(forms.JSONField):
    """JSON, except that input which is not JSON is taken as text: `refund` means "refund".

    People type words without quotes; answering "Enter a valid JSON" would hide the question that
    matters, whether the value suits the operator, which TriggerCondition.clean answers.
    """

    widget = forms.TextInput  # one line fits a table row; values are short

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError:
            return value.strip()

    def prepare_value(self, value):
        # An empty box, not "null", for new rows and the operators that take no value.
        return "" if value is None else super().prepare_value(value)


class TriggerConditionForm(forms.ModelForm):
    class Meta:
        model = TriggerCondition
        fields = ["position", "signal", "operator", "value"]
        field_classes = {"value": ConditionValueField}


class TriggerConditionInline(admin.TabularInline):
    model = TriggerCondition
    form = TriggerConditionForm
    extra = 1

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and _manages_point(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and _manages_point(request, obj)

    def has_delete_permission(self, request, obj=None):
        # Removing a condition is an ordinary edit of the trigger: the point's version goes up
        # and history keeps the removed row. No role holds a delete permission (evidence), so the
        # right to change conditions is what counts here.
        return self.has_change_permission(request, obj)


def _manages_point(request, point) -> bool:
    """Conditions of an existing point are edited only by a manager of its journey."""
    return point is None or manages_scope(request.user, journey=point.journey)


@admin.register(JudgementPoint)
class JudgementPointAdmin(StableSlugMixin, HistoryAdmin):
    list_display = [
        "name",
        "journey",
        "slug",
        "version",
        "combinator",
        "required_level",
        "priority",
        "four_eyes",
        "sampling_rate",
        "is_active",
    ]
    list_filter = [
        "is_active",
        "four_eyes",
        "priority",
        "combinator",
        ("journey", JourneyListFilter),
    ]
    list_select_related = ["journey__ai_system", "required_level"]
    search_fields = ["name", "slug", "journey__name"]
    # A plain select (not autocomplete): its choices are the managed journeys only.
    inlines = [TriggerConditionInline]
    fieldsets = [
        (None, {"fields": ["journey", "name", "slug", "description", "is_active", "version"]}),
        ("Trigger", {"fields": ["combinator"]}),
        (
            "When it fires",
            {
                "fields": [
                    "required_level",
                    "priority",
                    "sla_minutes",
                    "four_eyes",
                    "options",
                    "sampling_rate",
                ]
            },
        ),
        (None, {"fields": ["created_at", "updated_at"]}),
    ]
    readonly_fields = ["version", "created_at", "updated_at"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "journey":
            kwargs["queryset"] = (
                journeys_managed_by(request.user)
                .select_related("ai_system")
                .order_by("ai_system__name", "name")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        if allowed and obj is not None:
            return manages_scope(request.user, journey=obj.journey)
        return allowed

    def save_model(self, request, obj, form, change):
        # A new point is saved here, before its conditions; an edited one in save_related,
        # once it is known whether anything changed.
        if not change:
            save_judgement_point(point=obj, changed_by=request.user)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # An edit of the conditions alone is an edit of the point: the version goes up. A save
        # that changes nothing keeps it, so versions mark real rule changes. All in the admin's
        # one transaction.
        if change and (form.has_changed() or any(fs.has_changed() for fs in formsets)):
            save_judgement_point(point=form.instance, changed_by=request.user)


@admin.register(TriggerCondition)
class TriggerConditionAdmin(ViewOnlyHistoryAdmin):
    """Read-only list across points; conditions are edited inside their judgement point."""

    list_display = ["judgement_point", "position", "signal", "operator", "value"]
    list_filter = ["operator"]
    list_select_related = ["judgement_point"]
    search_fields = ["signal", "judgement_point__name", "judgement_point__slug"]
