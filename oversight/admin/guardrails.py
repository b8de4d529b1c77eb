"""Admin for guardrails (a journey's outcome goals) and the log of their hourly evaluations.

Guardrails are configuration with history, like journeys; a manager sets them only on the
journeys they manage (superusers on all). Evaluations are written by the hourly task alone.
"""

from django.contrib import admin

from oversight.admin.common import HistoryAdmin, ViewOnlyAdmin
from oversight.models import Guardrail, GuardrailEvaluation
from oversight.services.authority import journeys_managed_by, manages_scope
from oversight.services.guardrails import save_guardrail


@admin.register(Guardrail)
class GuardrailAdmin(HistoryAdmin):
    list_display = [
        "journey",
        "kind",
        "threshold",
        "window",
        "min_sample",
        "on_breach",
        "is_active",
    ]
    list_filter = ["kind", "is_active"]
    list_select_related = ["journey__ai_system"]
    readonly_fields = ["created_at"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "journey":
            kwargs["queryset"] = journeys_managed_by(request.user).select_related("ai_system")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        if allowed and obj is not None:
            return manages_scope(request.user, journey=obj.journey)
        return allowed

    def save_model(self, request, obj, form, change):
        # The service checks the manager, keeps history and writes the ledger event.
        save_guardrail(guardrail=obj, by=request.user)


@admin.register(GuardrailEvaluation)
class GuardrailEvaluationAdmin(ViewOnlyAdmin):
    list_display = [
        "guardrail",
        "evaluated_at",
        "value",
        "sample_size",
        "threshold",
        "breached",
        "paused_automation",
        "returned_to_shadow",
    ]
    list_filter = ["breached", "paused_automation", "returned_to_shadow"]
    list_select_related = ["guardrail__journey__ai_system"]
    date_hierarchy = "evaluated_at"
