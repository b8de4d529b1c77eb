"""The compliance officer's work at the top of the admin index.

Ordering the four reports, the latest report requests with their status, verifying a PDF and
verifying the ledger (with the last verification's result): each part shows only to someone
holding the permission its page checks, so the panel never links to a page that refuses.
"""

from django import template
from django.urls import reverse

from oversight.admin.report_display import parameter_items
from oversight.admin.report_forms import ORDER_FORMS

register = template.Library()

RECENT_REQUESTS = 5
SHORT_KIND = {
    "oversight": "Oversight report",
    "authority": "Authority register",
    "literacy": "AI-literacy register",
    "dossier": "Case dossier",
    "incident": "Serious incident report",
}


def _first_upper(text: str) -> str:
    # str.capitalize() would also lower the rest ("Ai-literacy").
    return text[:1].upper() + text[1:]


@register.inclusion_tag("admin/oversight/includes/compliance_home.html", takes_context=True)
def compliance_home(context):
    """Shown to people who may order reports or check evidence (compliance officers)."""
    from audit.models import LedgerVerification
    from oversight.admin.reports import with_system_names
    from oversight.models import ReportRequest

    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"show": False}
    may_order = user.has_perm("oversight.add_reportrequest")
    may_see_requests = user.has_perm("oversight.view_reportrequest")
    may_verify = user.has_perm("oversight.view_issuedreport")
    may_check_ledger = user.has_perm("audit.view_auditevent")
    if not (may_order or may_verify):
        return {"show": False}
    recent = []
    if may_see_requests:
        rows = with_system_names(
            ReportRequest.objects.select_related("requested_by").order_by("-requested_at")
        )[:RECENT_REQUESTS]
        recent = [
            {
                "request": row,
                "kind": SHORT_KIND.get(row.kind, row.get_kind_display()),
                "parameters": parameter_items(
                    row.kind, row.params, system_name=getattr(row, "system_name", None)
                ),
                "url": reverse("admin:oversight_reportrequest_change", args=[row.pk]),
                "download_url": reverse(
                    "admin:oversight_issuedreport_download", args=[row.report_id]
                )
                if row.status == "done" and may_verify
                else None,
            }
            for row in rows
        ]
    last_check = (
        LedgerVerification.objects.select_related("user").order_by("-verified_at").first()
        if may_check_ledger
        else None
    )
    incidents = None
    if user.has_perm("oversight.view_incident"):
        from oversight.incident_selectors import open_incidents_by_deadline

        incidents = open_incidents_by_deadline()
    return {
        "show": True,
        "incidents": incidents,
        "may_order": may_order,
        "may_see_requests": may_see_requests,
        "may_verify": may_verify,
        "may_check_ledger": may_check_ledger,
        "orders": [
            {
                "label": _first_upper(
                    form.title.removeprefix("Order an ").removeprefix("Order a ")
                ),
                "url": reverse(f"admin:oversight_reportrequest_order_{kind}"),
            }
            for kind, form in ORDER_FORMS.items()
        ],
        "recent": recent,
        "last_check": last_check,
    }
