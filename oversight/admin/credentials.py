"""Admin for AI systems' API keys and webhook secrets: shown once, never stored in clear.

Keys are issued and revoked only for the AI systems the person manages (superusers: all); the
service refuses the rest.
"""

from django.contrib import admin, messages
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from audit.services.ledger import Actor
from oversight.admin.common import EvidenceMixin, ScopedAdminMixin
from oversight.exceptions import DomainError
from oversight.models import AISystemAPIKey
from oversight.services.authority import ai_systems_managed_by, manages_scope
from oversight.services.credentials import create_api_key, revoke_api_key

# The library's own key model has no AI system; our keys replace it, so it stays out of sight.
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)


@admin.register(AISystemAPIKey)
class AISystemAPIKeyAdmin(ScopedAdminMixin, EvidenceMixin, APIKeyModelAdmin):
    list_display = ["name", "ai_system", "prefix", "created", "expiry_date", "revoked"]
    list_filter = ["revoked", "ai_system"]
    list_select_related = ["ai_system"]
    search_fields = ["name", "prefix", "ai_system__name"]
    fields = ["ai_system", "name", "prefix", "created", "expiry_date", "revoked"]
    actions = ["revoke_selected"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "ai_system":
            kwargs["queryset"] = ai_systems_managed_by(request.user).order_by("name")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        if allowed and obj is not None:
            return manages_scope(request.user, ai_system=obj.ai_system)
        return allowed

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["prefix", "created", "revoked"]
        # A key is changed only by revoking it (the action), which is audited.
        return ["ai_system", "name", "prefix", "created", "expiry_date", "revoked"]

    def save_model(self, request, obj, form, change):
        if change:
            return
        try:
            api_key, plain = create_api_key(
                ai_system=obj.ai_system,
                name=obj.name,
                expiry_date=obj.expiry_date,
                actor=Actor.for_user(request.user),
            )
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
            return
        obj.pk = api_key.pk
        obj._state.adding = False
        self.message_user(
            request,
            f"The API key for {api_key.ai_system}: {plain} — copy it now, it is not shown again "
            "and only its hash is stored.",
            messages.WARNING,
        )

    @admin.action(description="Revoke selected keys (cannot be undone)")
    def revoke_selected(self, request, queryset):
        revoked = 0
        for api_key in queryset.filter(revoked=False).select_related("ai_system"):
            try:
                revoke_api_key(api_key=api_key, actor=Actor.for_user(request.user))
            except DomainError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                revoked += 1
        self.message_user(request, f"Revoked {revoked} key(s); every later use is refused.")
