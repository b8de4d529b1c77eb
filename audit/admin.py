"""Admin for the audit ledger: read-only, newest first, every field of an event shown.

Compliance officers (audit.view_auditevent) also verify the chain here: the "Verify the audit
trail" page runs the same check as `manage.py verify_audit` and the daily schedule, records the
result, and lists past verifications and checkpoints.
"""

from django.apps import apps
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html
from django.utils.text import capfirst

from audit.action_labels import ACTION_LABELS, action_label
from audit.local_time import local_time
from audit.models import AuditEvent, LedgerCheckpoint, LedgerVerification, VerificationTrigger
from audit.services.ledger import ledger_head
from audit.services.verification import run_verification
from oversight.admin.common import ViewOnlyAdmin, json_display

RECENT_ROWS = 20
NAME_MAX = 60


def object_names(events) -> dict[tuple[str, str], str]:
    """`(object_type, object_id)` -> the object's name, one query per object type on the page.

    An object that no longer exists, or an id its model cannot read, simply gets no name.
    Forward non-null relations are joined (`select_related()`), so names built from them
    (a case's journey) cost no query per row.
    """
    ids_by_type: dict[str, set[str]] = {}
    for event in events:
        if event.object_type and event.object_id:
            ids_by_type.setdefault(event.object_type, set()).add(event.object_id)
    names = {}
    for object_type, ids in ids_by_type.items():
        try:
            model = apps.get_model(object_type)
            rows = list(model._base_manager.select_related().filter(pk__in=sorted(ids)))
        except (LookupError, ValueError, ValidationError):
            continue
        for row in rows:
            name = str(row)
            if len(name) > NAME_MAX:
                name = name[: NAME_MAX - 1] + "…"
            names[(object_type, str(row.pk))] = name
    return names


class ActionFilter(admin.SimpleListFilter):
    """Filter by action, in words; the choices come from the label table, not a scan."""

    title = "action"
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return sorted(ACTION_LABELS.items(), key=lambda item: item[1])

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(action=self.value())
        return queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ViewOnlyAdmin):
    list_display = [
        "sequence",
        "occurred",
        "actor",
        "action_display",
        "object_link",
        "short_hash",
    ]
    list_filter = ["actor_type", ActionFilter, "occurred_at"]
    # Exact matches: the ledger grows without bound, and these columns are indexed.
    search_fields = ["action__exact", "object_id__exact", "hash__exact"]
    ordering = ["-sequence"]
    # The ledger only grows: no date_hierarchy (it reads every row for the distinct years; the
    # date filter is a range query) and no second count of all rows when a filter is on.
    show_full_result_count = False
    fieldsets = [
        (None, {"fields": ["sequence", "occurred", "action_display"]}),
        ("Actor", {"fields": ["actor_type", "actor_user", "actor_id", "actor_label"]}),
        ("Object", {"fields": ["object_type", "object_id", "object_link", "payload_json"]}),
        ("Chain", {"fields": ["prev_hash", "hash"]}),
    ]
    readonly_fields = ["occurred", "action_display", "object_link", "payload_json"]

    payload_json = json_display("payload")

    class Media:
        css = {"all": ["audit/admin/ledger.css"]}

    @admin.display(description="actor", ordering="actor_label")
    def actor(self, event):
        return f"{event.actor_label} ({event.get_actor_type_display()})"

    @admin.display(description="when", ordering="sequence")
    def occurred(self, event):
        return format_html(
            '<time datetime="{}">{}</time>',
            event.occurred_at.isoformat(),
            local_time(event.occurred_at),
        )

    @admin.display(description="action", ordering="action")
    def action_display(self, event):
        label = action_label(event.action)
        if label == event.action:
            return format_html("<code>{}</code>", event.action)
        return format_html('<span title="{}">{}</span>', event.action, label)

    @admin.display(description="object")
    def object_link(self, event):
        """The object's name, linked to its admin page when it has one (URL computed, no query).

        Names come from `object_names`, loaded once per page by `get_changelist_instance`.
        """
        if not event.object_type:
            return "-"
        app_label, _, model_name = event.object_type.partition(".")
        try:
            model = apps.get_model(event.object_type)
            kind = capfirst(model._meta.verbose_name)
        except LookupError:
            kind = event.object_type
        names = getattr(event, "_object_names", None)
        if names is None:
            names = object_names([event])
        name = names.get((event.object_type, event.object_id)) or (
            f"{event.object_id[:8]} (not found)" if event.object_id else ""
        )
        label = f"{kind}: {name}" if name else kind
        if not event.object_id:
            return label
        try:
            url = reverse(f"admin:{app_label}_{model_name}_change", args=[event.object_id])
        except NoReverseMatch:
            return format_html('<span title="{}">{}</span>', event.object_id, label)
        return format_html('<a href="{}" title="{}">{}</a>', url, event.object_id, label)

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        events = list(changelist.result_list)  # evaluated once; the template reuses the cache
        names = object_names(events)
        for event in events:
            event._object_names = names
        return changelist

    @admin.display(description="hash", ordering="hash")
    def short_hash(self, event):
        if event.hash is None:  # recorded, chained within moments (audit/services/sealing.py)
            return "pending"
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
