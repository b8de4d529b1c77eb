"""Admin for the audit ledger: read-only, newest first, every field of an event shown."""

from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from audit.models import AuditEvent
from oversight.admin.common import ViewOnlyAdmin, json_display


@admin.register(AuditEvent)
class AuditEventAdmin(ViewOnlyAdmin):
    list_display = ["sequence", "occurred_at", "actor", "action", "object_link", "short_hash"]
    list_filter = ["actor_type", "action", "occurred_at"]
    # Exact matches: the ledger grows without bound, and these columns are indexed.
    search_fields = ["action__exact", "object_id__exact", "hash__exact"]
    ordering = ["-sequence"]
    # The ledger only grows: no date_hierarchy (it reads every row for the distinct years; the
    # date filter is a range query) and no second count of all rows when a filter is on.
    show_full_result_count = False
    fieldsets = [
        (None, {"fields": ["sequence", "occurred_at", "action"]}),
        ("Actor", {"fields": ["actor_type", "actor_user", "actor_id", "actor_label"]}),
        ("Object", {"fields": ["object_type", "object_id", "object_link", "payload_json"]}),
        ("Chain", {"fields": ["prev_hash", "hash"]}),
    ]
    readonly_fields = ["object_link", "payload_json"]

    payload_json = json_display("payload")

    @admin.display(description="actor", ordering="actor_label")
    def actor(self, event):
        return f"{event.actor_label} ({event.get_actor_type_display()})"

    @admin.display(description="object")
    def object_link(self, event):
        """Links to the object's admin page when it has one; no query, the URL is computed."""
        label = f"{event.object_type}:{event.object_id}"
        app_label, _, model_name = event.object_type.partition(".")
        try:
            url = reverse(f"admin:{app_label}_{model_name}_change", args=[event.object_id])
        except NoReverseMatch:
            return label
        return format_html('<a href="{}">{}</a>', url, label)

    @admin.display(description="hash", ordering="hash")
    def short_hash(self, event):
        return format_html('<code title="{}">{}…</code>', event.hash, event.hash[:12])
