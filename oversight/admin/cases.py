"""Admin for cases, decisions, outcomes and the override reason list.

Cases, decisions and outcomes are written by the routing and deciding services and the API, so
they are view-only here; override reasons are configuration. Reviewers work cases through the
workspace the case admin carries (`oversight.admin.queue`): "My queue" and the decision screen.
"""

from django.contrib import admin

from oversight.admin.common import (
    CaseScopedMixin,
    HistoryAdmin,
    ViewOnlyHistoryAdmin,
    json_display,
)
from oversight.admin.dashboard import CaseFigureFilter
from oversight.admin.queue import ReviewerWorkspaceMixin
from oversight.admin.systems import JourneyListFilter
from oversight.models import Case, Decision, Outcome, OverrideReason


class DecisionInline(admin.TabularInline):
    model = Decision
    fields = [
        "review_round",
        "stage",
        "reviewer",
        "outcome",
        "is_override",
        "override_reason",
        "authority_level",
        "decided_at",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("reviewer", "override_reason", "authority_level")
        )


@admin.register(Case)
class CaseAdmin(ReviewerWorkspaceMixin, CaseScopedMixin, ViewOnlyHistoryAdmin):
    list_display = [
        "__str__",
        "status",
        "journey",
        "route_reason",
        "priority",
        "sla_deadline",
        "four_eyes",
        "claimed_by",
        "opened_at",
    ]
    list_filter = [
        "status",
        "route_reason",
        ("journey", JourneyListFilter),
        "priority",
        "four_eyes",
        CaseFigureFilter,
    ]
    list_select_related = ["journey__ai_system", "claimed_by"]
    search_fields = ["subject_ref__exact", "action_type", "journey__name"]
    date_hierarchy = "opened_at"
    inlines = [DecisionInline]
    fieldsets = [
        (
            "Routing",
            {
                "fields": [
                    "journey",
                    "evaluation",
                    "judgement_points",
                    "route_reason",
                    "status",
                    "priority",
                    "required_level",
                    "four_eyes",
                    "sla_deadline",
                    "sla_breached_at",
                ]
            },
        ),
        (
            "What the system saw and tried",
            {
                "fields": [
                    "subject_ref",
                    "context_json",
                    "action_type",
                    "irreversible",
                    "amount",
                    "currency",
                    "proposal_json",
                    "confidence",
                    "confidence_reasons_json",
                    "options_json",
                    "callback_url",
                ]
            },
        ),
        (
            "Review",
            {
                "fields": [
                    "claimed_by",
                    "claimed_at",
                    "claim_expires_at",
                    "review_round",
                    "escalation_note",
                    "opened_at",
                    "updated_at",
                    "decided_at",
                ]
            },
        ),
    ]
    readonly_fields = ["context_json", "proposal_json", "confidence_reasons_json", "options_json"]

    context_json = json_display("context")
    proposal_json = json_display("proposal")
    confidence_reasons_json = json_display("confidence_reasons")
    options_json = json_display("options")


@admin.register(Decision)
class DecisionAdmin(CaseScopedMixin, ViewOnlyHistoryAdmin):
    case_lookup = "case"
    list_display = [
        "case",
        "reviewer",
        "outcome",
        "is_override",
        "stage",
        "review_round",
        "authority_level",
        "decided_at",
    ]
    list_filter = ["outcome", "is_override", "stage", "override_reason"]
    # The case's name includes its journey's.
    list_select_related = ["case__journey", "reviewer", "authority_level"]
    search_fields = ["case__subject_ref__exact", "reviewer__username", "rationale"]
    date_hierarchy = "decided_at"
    fieldsets = [
        (None, {"fields": ["case", "review_round", "stage", "reviewer", "decided_at"]}),
        (
            "Judgement",
            {
                "fields": [
                    "outcome",
                    "final_action_json",
                    "is_override",
                    "override_reason",
                    "rationale",
                ]
            },
        ),
        ("Authority", {"fields": ["authority_level", "grant", "time_spent_seconds"]}),
    ]
    readonly_fields = ["final_action_json"]

    final_action_json = json_display("final_action")


@admin.register(Outcome)
class OutcomeAdmin(CaseScopedMixin, ViewOnlyHistoryAdmin):
    case_lookup = "case"
    list_display = [
        "__str__",
        "case",
        "evaluation",
        "customer_effort",
        "repeat_contact",
        "complaint",
        "reversed",
        "reported_at",
        "reported_by",
    ]
    list_filter = ["repeat_contact", "complaint", "reversed", "customer_effort"]
    list_select_related = ["case__journey", "evaluation__journey", "reported_by"]
    date_hierarchy = "reported_at"


@admin.register(OverrideReason)
class OverrideReasonAdmin(HistoryAdmin):
    list_display = ["label", "code", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["label", "code"]
    prepopulated_fields = {"code": ["label"]}
