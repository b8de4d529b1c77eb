"""django-q2 task functions.

Tasks are thin: they take plain ids (a task may run long after it was queued, on another
machine), load what they need and call a service, which holds the rules and the transaction.
Brokers may hand a task out twice, so each service called here is safe to run again.
"""

from django.contrib.auth import get_user_model

from oversight.services import authority, cases, webhooks


def deliver_webhook(delivery_id: str) -> str:
    """Make the next attempt of one webhook delivery; returns its status for the task log."""
    return webhooks.attempt_delivery(delivery_id=delivery_id).status


def sweep_cases() -> dict:
    """Every minute: escalate cases past their SLA, release lapsed claims."""
    return cases.sweep_cases()


def reconcile_authority() -> str:
    """Daily: put decide/override permissions back in step with the grants, record expiries."""
    return str(authority.reconcile_authority())


def sync_user_authority(user_id: int) -> str:
    """At a grant's start or end: reconcile one person's authority (a no-op if in step)."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        return f"No user {user_id}; nothing to do."
    return str(authority.reconcile_authority(users=[user]))


def evaluate_guardrails() -> str:
    """Hourly: judge every active guardrail; a breach pauses its journey and tells its managers."""
    from oversight.services.guardrails import evaluate_guardrails as evaluate

    return str(evaluate())


def roll_up_gate_days() -> str:
    """Every quarter hour: summarise the closed days of gate calls, decisions and outcomes not
    summarised yet (and the days of decisions and outcomes marked stale)."""
    from oversight.services.day_summaries import KINDS
    from oversight.services.day_summaries import roll_up as roll_up_kind
    from oversight.services.rollups import roll_up_gate_days as roll_up
    from oversight.services.rollups import summarised_until

    added = roll_up()
    others = sum(roll_up_kind(kind) for kind in KINDS)
    return (
        f"{added} day(s) of gate calls summarised; complete until {summarised_until()}; "
        f"{others} day(s) of decisions and outcomes summarised"
    )


def generate_report(request_id: str) -> str:
    """Render one requested report and store it as issued evidence (once, however often run)."""
    from oversight.models import ReportRequest
    from oversight.services.reports import generate_report as generate

    issued = generate(request_id)
    if issued is not None:
        return f"Report {issued.pk} issued, sha256 {issued.sha256}"
    request = ReportRequest.objects.filter(pk=request_id).first()
    if request is None:
        return f"No report request {request_id}; nothing to do."
    return f"Report request {request_id} is {request.status}: {request.error or 'not generated'}"


def request_monthly_reports() -> str:
    """Monthly: request last month's oversight report of every active AI system."""
    from oversight.services.reports import request_monthly_reports as request_monthly

    requested = request_monthly()
    systems = ", ".join(request.params["system"] for request in requested) or "-"
    return f"{len(requested)} monthly oversight reports requested: {systems}"


def sweep_outbox() -> str:
    """Every minute: enqueue again the webhooks and reports whose task was lost."""
    from oversight.services.outbox import sweep_outbox as sweep

    return str(sweep())


def suggest_incidents() -> str:
    """Hourly: suggest serious incidents from patterns (automated, reversed, complained about)."""
    from oversight.services.incidents.suggestions import suggest_incidents as suggest

    return f"{len(suggest())} incident(s) suggested"


def send_incident_reminders() -> str:
    """Hourly: e-mail reminders before (and at) each open incident's reporting deadline."""
    from oversight.services.incidents.reminders import send_incident_reminders as send

    return f"{send()} reminder(s) sent"
