"""What the reviewer-workspace admin tests share: logging in as a reviewer, URLs, snapshots."""

from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils.html import escape

from audit.models import AuditEvent
from oversight.models import Case, Decision
from oversight.roles import REVIEWER

QUEUE_URL = "/admin/oversight/case/queue/"


def log_in(client, user):
    """Log `user` in as a member of the Reviewer group (the admin permission to view cases);
    which cases they may open comes from their authority grants alone."""
    user.groups.add(Group.objects.get(name=REVIEWER))
    client.force_login(user)
    return client


def review_url(case, action: str = "") -> str:
    name = f"admin:oversight_case_review_{action}" if action else "admin:oversight_case_review"
    return reverse(name, args=[case.pk])


def html(response) -> str:
    return response.content.decode()


def shows(response, text: str) -> bool:
    """Whether the page shows `text` as a person reads it (HTML-escaped in the source)."""
    return escape(text) in html(response)


def snapshot(case) -> tuple:
    """Everything a refused action must leave as it was."""
    case.refresh_from_db()
    return (
        case.status,
        case.claimed_by_id,
        case.claim_expires_at,
        case.review_round,
        case.required_level_id,
        Decision.objects.count(),
        Case.history.filter(id=case.id).count(),
        AuditEvent.objects.count(),
    )


def section(response, element_id: str) -> str:
    """The HTML of one panel of the decision screen, up to the next panel."""
    after = html(response).split(f'id="{element_id}"', 1)[1]
    return after.split('<div class="module"', 1)[0]
