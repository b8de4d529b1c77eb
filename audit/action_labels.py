"""Human words for the ledger's action codes, as the audit admin shows them.

The code stays the record (it is hashed into the chain and searched by exact match); the label
is only how a person reads it. A code missing here is shown as it is, so a new event type is
never hidden, only less readable until it gets its label.
"""

ACTION_LABELS: dict[str, str] = {
    # Sign-in
    "auth.login": "Signed in",
    "auth.login_failed": "Sign-in failed",
    # AI systems and their API
    "ai_system.webhook_secret_rotated": "Webhook secret rotated",
    "api_key.created": "API key created",
    "api_key.revoked": "API key revoked",
    "security.refused": "API request refused",
    "webhook.delivered": "Webhook delivered",
    "webhook.failed": "Webhook failed",
    "webhook.retry_requested": "Webhook retry requested",
    # Journeys, automation and configuration
    "journey.created": "Journey created",
    "journey.changed": "Journey changed",
    "automation.paused": "Automation paused",
    "automation.resumed": "Automation resumed",
    "guardrail.created": "Guardrail created",
    "guardrail.changed": "Guardrail changed",
    "judgement_point.threshold_applied": "Threshold changed",
    "manager.assigned": "Manager assigned",
    "manager.unassigned": "Manager unassigned",
    # Cases and decisions
    "case.opened": "Case opened",
    "case.claimed": "Case claimed",
    "case.released": "Case released",
    "case.claim_expired": "Claim expired",
    "case.decided": "Case decided",
    "case.overridden": "AI overridden",
    "case.escalated": "Case escalated",
    "case.second_review_requested": "Second review requested",
    "case.second_review_disagreed": "Second reviewer disagreed",
    "case.sla_breached": "SLA breached",
    "outcome.recorded": "Outcome recorded",
    # Authority
    "grant.created": "Authority granted",
    "grant.extended": "Authority extended",
    "grant.revoked": "Authority revoked",
    "grant.expired": "Authority expired",
    # AI literacy
    "training.recorded": "Training recorded",
    "training.corrected": "Training record corrected",
    "training.imported": "Training records imported",
    "training.reminders_sent": "Training reminders sent",
    "briefing.published": "Briefing published",
    "briefing.acknowledged": "Briefing acknowledged",
    # Serious incidents (Art. 26(5), Art. 73)
    "incident.raised": "Serious incident raised",
    "incident.suggested": "Serious incident suggested",
    "incident.state_changed": "Serious incident moved forward",
    "incident.deadline_moved": "Incident deadline moved",
    "incident.reminder_sent": "Incident deadline reminder sent",
    # Reports and the ledger itself
    "report.requested": "Report ordered",
    "report.generated": "Report issued",
    "report.failed": "Report failed",
    "report.downloaded": "Report downloaded",
    "report.verified": "Report copy checked",
    "retention.purged": "Old records purged (retention)",
    "demo.seeded": "Demo data loaded",
}


def action_label(code: str) -> str:
    """The label of `code`, or the code itself when it has none."""
    return ACTION_LABELS.get(code, code)
