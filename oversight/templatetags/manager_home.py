"""The manager's work at the top of the admin index: journeys with their stop button, grants
ending soon with their Extend button, and the way to the dashboard.

Each part shows only to someone the page behind its buttons would let in: journeys and grants
to a manager of them (`journeys_managed_by`, `ai_systems_managed_by`), the dashboard to whoever
may see every case. The buttons lead to the same pages as the journey's and the grant's own.
"""

import datetime

from django import template
from django.db.models import Case as Conditional
from django.db.models import IntegerField, Q, Value, When
from django.urls import reverse
from django.utils import timezone

from oversight.models import AuthorityGrant, AutomationState, Journey
from oversight.services.authority.wording import person_name

register = template.Library()

SHOWN_JOURNEYS = 12
GRANTS_ENDING_WITHIN = datetime.timedelta(days=30)


def journey_rows(journeys) -> list[dict]:
    rows = []
    for journey in journeys:
        view, label = (
            ("resume", "Resume automation") if journey.is_paused else ("pause", "Pause automation")
        )
        rows.append(
            {
                "journey": journey,
                "url": reverse("admin:oversight_journey_change", args=[journey.pk]),
                "paused_by": person_name(journey.paused_by) if journey.paused_by else None,
                "button_url": reverse(f"admin:oversight_journey_{view}", args=[journey.pk]),
                "button_label": label,
            }
        )
    return rows


def grant_rows(grants, *, may_change: bool) -> list[dict]:
    return [
        {
            "grant": grant,
            "person": person_name(grant.user),
            "scope": grant.journey or grant.ai_system,
            "url": reverse("admin:oversight_authoritygrant_change", args=[grant.pk]),
            "extend_url": reverse("admin:oversight_authoritygrant_extend", args=[grant.pk])
            if may_change
            else None,
        }
        for grant in grants
    ]


@register.inclusion_tag("admin/oversight/includes/manager_home.html", takes_context=True)
def manager_home(context):
    """Shown to managers (and superusers): what they came to the admin for."""
    from oversight.admin.dashboard import may_view_dashboard
    from oversight.services.authority.scope import ai_systems_managed_by, journeys_managed_by

    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"show": False}
    if not user.has_perm("oversight.add_authoritygrant"):
        return {"show": False}
    journeys = journeys_managed_by(user)
    ai_systems = ai_systems_managed_by(user)
    paused_first = Conditional(
        When(automation_state=AutomationState.RUNNING, then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )
    shown = list(
        Journey.objects.filter(pk__in=journeys.values("pk"))
        .select_related("ai_system", "paused_by")
        .order_by(paused_first, "ai_system__name", "name")[: SHOWN_JOURNEYS + 1]
    )
    now = timezone.now()
    ending = (
        AuthorityGrant.objects.filter(
            revoked_at__isnull=True,
            valid_until__gt=now,
            valid_until__lte=now + GRANTS_ENDING_WITHIN,
        )
        .filter(Q(journey__in=journeys.values("pk")) | Q(ai_system__in=ai_systems.values("pk")))
        .select_related("user", "level", "journey__ai_system", "ai_system")
        .order_by("valid_until")
    )
    return {
        "show": True,
        "journeys": journey_rows(shown[:SHOWN_JOURNEYS]),
        "more_journeys": len(shown) > SHOWN_JOURNEYS,
        "grants": grant_rows(ending, may_change=user.has_perm("oversight.change_authoritygrant")),
        "days": GRANTS_ENDING_WITHIN.days,
        "may_view_dashboard": may_view_dashboard(user),
    }
