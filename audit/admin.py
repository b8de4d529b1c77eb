"""Admin for the audit ledger: read-only, newest first, every field of an event shown.

Compliance officers (audit.view_auditevent) also verify the chain here: the "Verify the audit
trail" page runs the same check as `manage.py verify_audit` and the daily schedule, records the
result, and lists past verifications and checkpoints.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html

from audit.models import AuditEvent, LedgerCheckpoint, LedgerVerification, VerificationTrigger
from audit.services.ledger import ledger_head
from audit.services.verification import run_verification
from oversight.admin.common import ViewOnlyAdmin, json_display

RECENT_ROWS = 20


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

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        verify = path(
            "verify/",
            self.admin_site.admin_view(self.verify_view),
            name="{}_{}_verify".format(*info),
        )
        return [verify, *super().get_urls()]

    def verify_view(self, request):
        """GET: the head, past verifications and checkpoints. POST: verify now and record it."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            since_checkpoint = request.POST.get("scope") == "since_checkpoint"
            check, _ = run_verification(
                triggered_by=VerificationTrigger.ADMIN,
                user=request.user,
                since_checkpoint=since_checkpoint,
            )
            level = messages.SUCCESS if check.ok else messages.ERROR
            self.message_user(request, check.summary(), level)
            return HttpResponseRedirect(request.path)

        head_sequence, head_hash = ledger_head()
        checkpoints = list(LedgerCheckpoint.objects.order_by("-sequence", "-created_at")[:10])
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Verify the audit trail",
            "head_sequence": head_sequence,
            "head_hash": head_hash,
            "latest_checkpoint": checkpoints[0] if checkpoints else None,
            "checkpoints": checkpoints,
            "verifications": LedgerVerification.objects.select_related("user")[:RECENT_ROWS],
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/audit/auditevent/verify.html", context)


# Login lock-outs (django-axes): listed with an Unlock action.
from audit import sign_in_admin  # noqa: E402, F401
