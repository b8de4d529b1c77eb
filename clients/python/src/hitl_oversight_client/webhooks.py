"""Checking that a decision webhook came from HITL Oversight, unchanged and recent."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

SIGNATURE_HEADER = "X-HITL-Signature"
TIMESTAMP_HEADER = "X-HITL-Timestamp"
DEFAULT_TOLERANCE_SECONDS = 300


def verify_webhook(
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True only if `body` (the raw bytes received, not re-serialised JSON) carries a valid
    `v1` signature made with `secret` at a timestamp within `tolerance` seconds of now.

    The signature is HMAC-SHA256 over "<timestamp>." + body; a header may list several
    comma-separated signatures (during a secret rotation): one valid `v1=` is enough.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    timestamp = lowered.get(TIMESTAMP_HEADER.lower(), "").strip()
    signature = lowered.get(SIGNATURE_HEADER.lower(), "")
    if not timestamp.isdigit() or not signature:
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance:
        return False
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return any(
        hmac.compare_digest(expected, part.strip()[3:])
        for part in signature.split(",")
        if part.strip().startswith("v1=")
    )
