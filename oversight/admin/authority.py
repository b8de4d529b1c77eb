"""Admin for authority levels (configuration) and authority grants (view-only for now).

Grants are evidence of who could decide what: they are made and revoked by the authority
service, which checks the manager's scope, level and the holder's training.
"""

from django.contrib import admin

from oversight.admin.common import HistoryAdmin, ViewOnlyHistoryAdmin
from oversight.models import AuthorityGrant, AuthorityLevel


@admin.register(AuthorityLevel)
class AuthorityLevelAdmin(HistoryAdmin):
    list_display = [
        "name",
        "rank",
        "may_decide",
        "may_override",
        "may_approve_irreversible",
        "monetary_limit",
    ]
    list_filter = ["may_decide", "may_override", "may_approve_irreversible"]
    search_fields = ["name"]


@admin.register(AuthorityGrant)
class AuthorityGrantAdmin(ViewOnlyHistoryAdmin):
    list_display = [
        "user",
        "level",
        "scope",
        "valid_from",
        "valid_until",
        "revoked_at",
        "granted_by",
    ]
    list_filter = ["level", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user", "level", "ai_system", "journey__ai_system", "granted_by"]
    search_fields = ["user__username", "user__email", "justification"]
    date_hierarchy = "valid_from"
    fieldsets = [
        (None, {"fields": ["user", "level", "ai_system", "journey"]}),
        ("Validity", {"fields": ["valid_from", "valid_until", "justification", "granted_by"]}),
        ("Revocation", {"fields": ["revoked_at", "revoked_by", "revocation_reason"]}),
        (None, {"fields": ["created_at"]}),
    ]

    @admin.display(description="scope")
    def scope(self, grant):
        return grant.journey or grant.ai_system
