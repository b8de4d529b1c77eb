"""django-q2 task functions.

Tasks are thin: they take plain ids (a task may run long after it was queued, on another
machine), load what they need and call a service, which holds the rules and the transaction.
Brokers may hand a task out twice, so each service called here is safe to run again.
"""

from oversight.services import cases, webhooks


def deliver_webhook(delivery_id: str) -> str:
    """Make the next attempt of one webhook delivery; returns its status for the task log."""
    return webhooks.attempt_delivery(delivery_id=delivery_id).status


def sweep_cases() -> dict:
    """Every minute: escalate cases past their SLA, release lapsed claims."""
    return cases.sweep_cases()
