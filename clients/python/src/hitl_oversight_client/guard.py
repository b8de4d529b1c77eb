"""A gate in front of any function an agent may call.

    @client.guard("refunds", action=lambda order_id, amount: {
        "type": "refund", "amount": amount, "currency": "EUR"},
        signals=lambda order_id, amount: {"confidence": model_confidence()},
        context=lambda order_id, amount: {"order_id": order_id})
    def refund(order_id, amount): ...

Calling `refund(...)` asks the gate with this call's arguments. The function runs only when the
gate answers "automate", or, if the guard may `wait`, when a person approves this very call: the
approval token must be the product's signature over exactly the action and proposal these
arguments give now, and not expired (`ApprovalInvalid` otherwise).
Otherwise it raises a `NotApproved` (never runs the function):

- `PendingHumanDecision` — a case is open (not waiting, or `DecisionTimeout` after `wait` s);
- `ActionRejected` — a person said no;
- `ChangesRequired` — a person approved a different action (`error.action`): the function is
  not run with the original arguments; the caller decides how to carry out the changed action.

Any failure to reach the product raises `OversightUnavailable`: it fails closed.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hitl_oversight_client.approvals import approved_as_sent
from hitl_oversight_client.errors import ActionRejected, ChangesRequired, PendingHumanDecision
from hitl_oversight_client.models import PROCEED, PROCEED_WITH_CHANGES

if TYPE_CHECKING:
    from hitl_oversight_client.client import OversightClient

Source = Callable[..., Any] | dict[str, Any] | None


class Guard:
    def __init__(
        self,
        client: OversightClient,
        journey: str,
        *,
        action: Source = None,
        signals: Source = None,
        context: Source = None,
        proposal: Source = None,
        subject_ref: Callable[..., str] | str | None = None,
        wait: float | None = None,
        poll_interval: float = 2.0,
    ):
        self.client = client
        self.journey = journey
        self.sources = {
            "action": action,
            "signals": signals,
            "context": context,
            "proposal": proposal,
            "subject_ref": subject_ref,
        }
        self.wait = wait
        self.poll_interval = poll_interval

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(func)

        @functools.wraps(func)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            fields = self._fields(func, dict(bound.arguments))
            answer = self.client.gate(self.journey, **fields)
            if answer.automate:
                return func(*args, **kwargs)
            case_link = answer.raw.get("case") or {"id": answer.case_id}
            if self.wait is None:
                reasons = "; ".join(answer.reasons) or "a judgement point fired"
                raise PendingHumanDecision(
                    f"A person must decide first (case {answer.case_id}): {reasons}.",
                    case=case_link,
                )
            case = self.client.wait_for_decision(
                answer.case_id, timeout=self.wait, poll_interval=self.poll_interval
            )
            if case.instruction == PROCEED:
                # The arguments as they are now, after the wait: the approval must bind them.
                now = self._fields(func, dict(bound.arguments))
                approved = approved_as_sent(now["action"], now.get("proposal"))
                self.client.verify_approval(case, approved)
                return func(*args, **kwargs)
            if case.instruction == PROCEED_WITH_CHANGES:
                raise ChangesRequired(
                    f"A person approved a changed action on case {case.id}.",
                    case=case.raw,
                    action=case.action,
                )
            raise ActionRejected(f"A person decided case {case.id}: do not proceed.", case=case.raw)

        guarded.guard = self  # type: ignore[attr-defined]
        return guarded

    def _fields(self, func: Callable[..., Any], arguments: dict[str, Any]) -> dict[str, Any]:
        fields = {
            name: source(**arguments) if callable(source) else source
            for name, source in self.sources.items()
        }
        if fields["action"] is None:
            fields["action"] = {"type": func.__name__}
        return {name: value for name, value in fields.items() if value is not None}
