"""Admin for login lock-outs: see who is locked out, and unlock them through the service.

django-axes' own admin would delete counters with Django's delete action, which no role holds
and which leaves no trace. This one offers an "Unlock" action instead: it needs the "change
access attempt" permission (superusers and the Manager role) and writes `auth.unlocked` to the
ledger.
"""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin, messages

from audit.services.sign_in import unlock_sign_ins
from oversight.exceptions import DomainError


@admin.register(AccessAttempt)
class SignInLockoutAdmin(AccessAttemptAdmin):
    actions = ["unlock"]
    # Not the posted form data axes keeps: a person may have typed a password as a user name.
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "username",
                    "ip_address",
                    "user_agent",
                    "path_info",
                    "failures_since_start",
                    "attempt_time",
                ]
            },
        )
    ]
    readonly_fields = fieldsets[0][1]["fields"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # "Change" is the unlock permission; the counters themselves are never edited.
        return obj is None and super().has_change_permission(request)

    @admin.action(description="Unlock: clear these failed-login counters", permissions=["change"])
    def unlock(self, request, queryset):
        try:
            count = unlock_sign_ins(
                attempt_ids=queryset.values_list("pk", flat=True), user=request.user
            )
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self.message_user(
            request, f"Unlocked: {count} failed-login counter(s) cleared.", messages.SUCCESS
        )
