"""The gate's body, read without DRF's serializer when it is plainly valid.

`GateRequestSerializer` is the definition of a valid gate body, and every error message comes
from it. Building and running it costs more than a millisecond per call (it deep-copies its
fields each time), more than the rest of an automating gate call together. So the gate first
tries `plain_gate_request`: it accepts only bodies that are valid beyond doubt, in the plainest
form of each field, and returns exactly the `GateRequest` the serializer would; anything else,
valid or not (a number as the amount, a callback URL, whitespace to trim, a non-ASCII text, an
unknown field...), gives None, and the serializer reads the body as before. It never refuses.

A table of bodies in tests/oversight/api/test_plain_gate_body.py holds the two to the same
result: for every body this path accepts, the serializer accepts it too and gives an equal
`GateRequest`.
"""

import re
from decimal import Decimal
from typing import Any

from oversight.api.serializers import MAX_SIGNALS, signal_problems
from oversight.services.gate import GateRequest, ProposedAction

_FIELDS = frozenset(
    ("journey", "action", "signals", "context", "proposal", "subject_ref", "callback_url")
)
_ACTION_FIELDS = frozenset(("type", "amount", "currency", "irreversible"))
_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,80}")  # SlugField(max_length=80), nothing to trim
_AMOUNT = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,2})?")  # DecimalField(14, 2, min_value=0)
_CURRENCY = re.compile(r"[A-Z]{3}")
_CENTS = Decimal("0.01")


def _plain_text(value: Any, max_length: int, *, blank: bool) -> bool:
    """A CharField value with nothing to convert, trim or refuse: ASCII, no NUL, in length."""
    return (
        isinstance(value, str)
        and (blank or value != "")
        and len(value) <= max_length
        and value.isascii()
        and value == value.strip()
        and "\x00" not in value
    )


def plain_gate_request(data: Any) -> GateRequest | None:
    """The GateRequest of a plainly valid gate body, or None to let the serializer decide."""
    if not isinstance(data, dict) or not _FIELDS.issuperset(data):
        return None
    journey, action = data.get("journey"), data.get("action")
    if not isinstance(journey, str) or not _SLUG.fullmatch(journey):
        return None
    if not isinstance(action, dict) or not _ACTION_FIELDS.issuperset(action):
        return None
    action_type = action.get("type")
    if not _plain_text(action_type, 100, blank=False):
        return None
    amount = action.get("amount")
    if amount is not None:
        if not isinstance(amount, str) or not _AMOUNT.fullmatch(amount):
            return None
        amount = Decimal(amount).quantize(_CENTS)
    currency = action.get("currency", "")
    if not isinstance(currency, str) or not (currency == "" or _CURRENCY.fullmatch(currency)):
        return None
    if amount is not None and not currency:
        return None  # the serializer's error: "Give the currency of the amount."
    irreversible = action.get("irreversible", False)
    if not isinstance(irreversible, bool):
        return None
    signals = data.get("signals", {})
    if not isinstance(signals, dict) or len(signals) > MAX_SIGNALS or signal_problems(signals):
        return None
    context = data.get("context", {})
    if not isinstance(context, dict):
        return None
    subject_ref = data.get("subject_ref", "")
    if not _plain_text(subject_ref, 128, blank=True):
        return None
    if data.get("callback_url", "") != "":
        return None  # URL syntax and the callback policy: the serializer's
    return GateRequest(
        journey=journey,
        action=ProposedAction(
            type=action_type, irreversible=irreversible, amount=amount, currency=currency
        ),
        signals=signals,
        context=context,
        proposal=data.get("proposal"),
        subject_ref=subject_ref,
        callback_url="",
    )
