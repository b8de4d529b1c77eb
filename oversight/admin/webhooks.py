"""Admin for decision webhooks: every delivery and attempt, view-only, and "Retry now".

Deliveries and attempts are written by the webhook service only; the one thing a person does
here is ask for another attempt, which goes through `retry_delivery` (permission, audit event).
"""

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.services.ledger import Actor
from oversight.admin.common import CaseScopedMixin, ViewOnlyAdmin, pretty_json
from oversight.exceptions import DomainError
from oversight.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from oversight.services.webhooks import retry_delivery


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ["number", "attempted_at", "status_code", "error", "duration_ms"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(CaseScopedMixin, ViewOnlyAdmin):
    # The body is the signed case document: only those who may see the case see it.
    case_lookup = "case"

    list_display = [
        "created_at",
        "event",
        "case",
        "url",
        "status",
        "attempt_count",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["status", "event"]
    # A case's name includes its journey's.
    list_select_related = ["case__journey"]
    date_hierarchy = "created_at"
    inlines = [WebhookAttemptInline]
    actions = ["retry_now"]
    fieldsets = [
        (None, {"fields": ["id", "event", "ai_system", "case", "url", "created_at"]}),
        ("Delivery", {"fields": ["status", "attempt_count", "next_attempt_at", "delivered_at"]}),
        ("Body (exactly as sent and signed)", {"fields": ["body_json"]}),
    ]
    readonly_fields = ["body_json"]

    @admin.display(description="body")
    def body_json(self, obj: WebhookDelivery) -> str:
        try:
            return pretty_json(json.loads(obj.body))
        except ValueError:
            return obj.body

    def has_retry_permission(self, request: HttpRequest) -> bool:
        # The model's "change" permission means "may retry": nothing here is edited directly.
        return request.user.has_perm("oversight.change_webhookdelivery")

    @admin.action(description="Retry now", permissions=["retry"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        actor = Actor.for_user(request.user)
        deliveries = list(queryset)
        skipped = sum(1 for d in deliveries if d.status == DeliveryStatus.DELIVERED)
        retried = 0
        for delivery in deliveries:
            if delivery.status == DeliveryStatus.DELIVERED:
                continue
            try:
                retry_delivery(delivery=delivery, actor=actor)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                retried += 1
        if retried:
            self.message_user(request, f"Queued another attempt for {_deliveries(retried)}.")
        if skipped:
            self.message_user(
                request, f"Skipped {_deliveries(skipped)} already delivered.", messages.WARNING
            )


def _deliveries(count: int) -> str:
    return f"{count} delivery" if count == 1 else f"{count} deliveries"
