"""Checking an approval token offline: signed by the product, for this case, for exactly this
action, not expired. See the product's `oversight/approvals.py` for what a token binds."""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hitl_oversight_client.errors import NotApproved

TOKEN_FORMAT = "hitl-approval/1"


class ApprovalInvalid(NotApproved):
    """No valid approval for this action: missing, forged, for another case or action, or
    expired. The action must not run."""


@dataclass(frozen=True)
class Approval:
    case: str
    decision: str
    outcome: str
    decided_by: str
    decided_at: str
    expires_at: datetime.datetime
    action_sha256: str
    key_id: str


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _amount(amount: Any) -> str | None:
    if amount is None:
        return None
    try:
        return str(Decimal(str(amount)).quantize(Decimal("0.01")))
    except InvalidOperation:
        raise ValueError(f"amount {amount!r} is not a number") from None


def approved_as_sent(action: dict[str, Any], proposal: Any = None) -> dict[str, Any]:
    """What an approval of the AI's own proposal binds: the action and proposal as sent."""
    return {
        "action": {
            "type": action.get("type", ""),
            "amount": _amount(action.get("amount")),
            "currency": action.get("currency", "") or "",
            "irreversible": bool(action.get("irreversible", False)),
        },
        "proposal": {} if proposal is None else proposal,
    }


def approved_changes(final_action: Any) -> dict[str, Any]:
    """What an approval of a person's modified action binds."""
    return {"final_action": final_action}


def digest(approved: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(approved)).hexdigest()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_approval(
    token: str | None,
    public_key: str,
    *,
    case_id: str,
    approved: dict[str, Any],
    now: datetime.datetime | None = None,
) -> Approval:
    """The approval if `token` is the product's signature over this case and exactly
    `approved` (from `approved_as_sent` or `approved_changes`) and has not expired; otherwise
    `ApprovalInvalid` saying why. `public_key`: base64 of the 32 raw bytes (approval-key)."""
    if not token:
        raise ApprovalInvalid(f"No approval token for case {case_id}.")
    try:
        body, signature = token.split(".")
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key))
        key.verify(_unb64(signature), f"{TOKEN_FORMAT}.{body}".encode())
        payload = json.loads(_unb64(body))
        expires_at = datetime.datetime.strptime(payload["expires_at"], "%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, binascii.Error, InvalidSignature, KeyError, TypeError):
        raise ApprovalInvalid(f"The approval token of case {case_id} is not valid.") from None
    expires_at = expires_at.replace(tzinfo=datetime.UTC)
    if payload.get("format") != TOKEN_FORMAT or payload.get("case") != case_id:
        raise ApprovalInvalid(f"The approval token is not for case {case_id}.")
    if payload.get("action_sha256") != digest(approved):
        raise ApprovalInvalid(
            f"The approval of case {case_id} is for another action: the arguments changed."
        )
    if (now or datetime.datetime.now(datetime.UTC)) >= expires_at:
        raise ApprovalInvalid(f"The approval of case {case_id} expired at {payload['expires_at']}.")
    return Approval(
        case=payload["case"],
        decision=payload["decision"],
        outcome=payload["outcome"],
        decided_by=payload["decided_by"],
        decided_at=payload["decided_at"],
        expires_at=expires_at,
        action_sha256=payload["action_sha256"],
        key_id=payload["key_id"],
    )
