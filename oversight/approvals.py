"""Approval tokens: an approval bound to exactly what was approved, for a limited time.

When a person's final decision lets an action proceed (approve, or modify), the case document
carries a token signed with the product's Ed25519 key (the ledger's signing key, under its own
format name so a token can never pass for a checkpoint signature or the reverse). It names the
case and the decision, who decided and when, when it expires (`Journey.approval_valid_minutes`
after the decision) and the SHA-256 of the exact action approved:

- approve: `{"action": {"type", "amount", "currency", "irreversible"}, "proposal": ...}`, the
  action and proposal as the AI system sent them (amount as a text with two decimals, or null);
- modify: `{"final_action": ...}`, the action the person decided instead.

The digest is of that object as canonical JSON (keys sorted, no spaces, UTF-8). The client
(`hitl_oversight_client.approvals`) checks a token offline with the public key from
GET /api/v1/approval-key/ and runs an action only if its own canonical digest matches: a changed
argument, an expired token or no token means no action.

Tokens are not stored: Ed25519 signatures are deterministic, so the same decision always gives
the same token.
"""

import base64
import datetime
import hashlib
import json
from decimal import Decimal
from typing import Any

from audit.signing import encode_public_key, key_id_of, signing_key
from oversight.models import Case, Decision, DecisionOutcome

TOKEN_FORMAT = "hitl-approval/1"


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _amount(amount: Decimal | None) -> str | None:
    return None if amount is None else str(Decimal(amount).quantize(Decimal("0.01")))


def approved_object(case: Case, decision: Decision) -> dict | None:
    """What the token binds, or None when the decision lets nothing proceed."""
    if decision.outcome == DecisionOutcome.APPROVE:
        return {
            "action": {
                "type": case.action_type,
                "amount": _amount(case.amount),
                "currency": case.currency,
                "irreversible": case.irreversible,
            },
            "proposal": case.proposal,
        }
    if decision.outcome == DecisionOutcome.MODIFY:
        return {"final_action": decision.final_action}
    return None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def approval_token(case: Case, decision: Decision) -> str | None:
    """The signed token for a decision that lets an action proceed; None otherwise."""
    approved = approved_object(case, decision)
    if approved is None:
        return None
    key = signing_key()
    valid = datetime.timedelta(minutes=case.journey.approval_valid_minutes)
    payload = {
        "format": TOKEN_FORMAT,
        "key_id": key_id_of(key.public_key()),
        "case": str(case.pk),
        "decision": str(decision.pk),
        "outcome": decision.outcome,
        "decided_by": decision.reviewer.get_username(),
        "decided_at": _utc(decision.decided_at),
        "expires_at": _utc(decision.decided_at + valid),
        "action_sha256": hashlib.sha256(canonical_json(approved)).hexdigest(),
    }
    body = _b64(canonical_json(payload))
    signature = key.sign(f"{TOKEN_FORMAT}.{body}".encode())
    return f"{body}.{_b64(signature)}"


def _utc(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def public_key_document() -> dict:
    public_key = signing_key().public_key()
    return {
        "format": TOKEN_FORMAT,
        "algorithm": "Ed25519",
        "key_id": key_id_of(public_key),
        "public_key": encode_public_key(public_key),
    }
