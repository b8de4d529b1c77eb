"""Python client for HITL Oversight: ask before acting, open cases for people, wait for them."""

from hitl_oversight_client._protocol import RetryPolicy
from hitl_oversight_client.approvals import (
    Approval,
    ApprovalInvalid,
    approved_as_sent,
    approved_changes,
    verify_approval,
)
from hitl_oversight_client.async_client import AsyncOversightClient
from hitl_oversight_client.calls import CUSTOMER_REQUESTED_HUMAN, SYSTEM_UNSURE
from hitl_oversight_client.client import OversightClient
from hitl_oversight_client.errors import (
    ActionRejected,
    ChangesRequired,
    DecisionTimeout,
    NotApproved,
    OversightError,
    OversightUnavailable,
    PendingHumanDecision,
)
from hitl_oversight_client.guard import Guard
from hitl_oversight_client.models import Case, GateAnswer
from hitl_oversight_client.webhooks import verify_webhook

__all__ = [
    "Approval",
    "ApprovalInvalid",
    "approved_as_sent",
    "approved_changes",
    "verify_approval",
    "CUSTOMER_REQUESTED_HUMAN",
    "SYSTEM_UNSURE",
    "ActionRejected",
    "AsyncOversightClient",
    "Case",
    "ChangesRequired",
    "DecisionTimeout",
    "GateAnswer",
    "Guard",
    "NotApproved",
    "OversightClient",
    "OversightError",
    "OversightUnavailable",
    "PendingHumanDecision",
    "RetryPolicy",
    "verify_webhook",
]
