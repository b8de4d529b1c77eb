"""Admin for gate evaluations: insert-only evidence, high volume, view-only."""

from django.contrib import admin

from oversight.admin.common import CaseScopedMixin, ViewOnlyAdmin, json_display
from oversight.admin.systems import JourneyListFilter
from oversight.models import GateEvaluation


@admin.register(GateEvaluation)
class GateEvaluationAdmin(CaseScopedMixin, ViewOnlyAdmin):
    case_lookup = "case"
    list_display = ["created_at", "journey", "action_type", "route", "sampled", "subject_ref"]
    list_filter = ["route", "sampled", ("journey", JourneyListFilter), "created_at"]
    list_select_related = ["journey__ai_system"]
    # Exact match on the indexed column: a substring search would scan the whole table.
    search_fields = ["subject_ref__exact"]
    # High volume: no date_hierarchy (it reads every row for the distinct years; the date filter
    # above is a range query) and no second count of all rows when a filter is on.
    show_full_result_count = False
    fieldsets = [
        (None, {"fields": ["created_at", "ai_system", "journey", "subject_ref"]}),
        ("Action", {"fields": ["action_type", "irreversible", "amount", "currency"]}),
        ("What was seen", {"fields": ["signals_json", "server_signals_json"]}),
        ("Answer", {"fields": ["route", "sampled", "matched_json", "reasons_json"]}),
    ]
    readonly_fields = ["signals_json", "server_signals_json", "matched_json", "reasons_json"]

    signals_json = json_display("signals")
    server_signals_json = json_display("server_signals")
    matched_json = json_display("matched")
    reasons_json = json_display("reasons")
