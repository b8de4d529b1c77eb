"""An MCP server that puts HITL Oversight in an agent's tool belt (stdio transport).

    HITL_URL=http://127.0.0.1:8000 HITL_API_KEY=... python -m hitl_oversight_client.mcp

Tools:
- `check_gate`: may this action go ahead? ("automate", or "human" with the case and reasons)
- `ask_human`: open a case for a person (the customer asked, or the agent is unsure), and
  optionally wait for the decision;
- `get_case`: where a case stands and what the agent may do now (with the approval token);
- `find_precedents`: what people decided on similar cases, and why.

A refusal by the product (bad input, unknown journey, ...) comes back as a tool error naming
the field and the product's message; an unreachable product as a tool error saying nothing may
be assumed. Needs the `mcp` extra: `pip install "./clients/python[mcp]"`.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Literal

from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.exceptions import ToolError

from hitl_oversight_client.calls import CUSTOMER_REQUESTED_HUMAN
from hitl_oversight_client.client import OversightClient
from hitl_oversight_client.errors import (
    DecisionTimeout,
    OversightError,
    OversightUnavailable,
)

MAX_WAIT_SECONDS = 600


def _case(case) -> dict[str, Any]:
    return {
        "case_id": case.id,
        "status": case.status,
        "instruction": case.instruction,
        "may_proceed": case.may_proceed,
        "action": case.action,
        "decision": case.decision,
        "approval_token": (case.raw.get("next_step") or {}).get("approval_token"),
    }


def _explain(error: Exception) -> ToolError:
    if isinstance(error, OversightError):
        fields = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in error.fields.items())
        detail = f" ({fields})" if fields else ""
        return ToolError(f"HITL Oversight refused ({error.code}): {error.message}{detail}")
    return ToolError(
        f"HITL Oversight could not be reached ({error}); do not act: nothing may be assumed."
    )


def build_server(client: OversightClient) -> FastMCP:
    server = FastMCP("hitl-oversight")

    @server.tool()
    def check_gate(
        journey: str,
        action: dict[str, Any],
        signals: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
        proposal: Any = None,
        subject_ref: str | None = None,
    ) -> dict[str, Any]:
        """Ask HITL Oversight before a consequential action. `action` has `type`, and `amount`
        with `currency` when money is involved, and `irreversible`. Returns route "automate"
        (go ahead) or "human" (do NOT act: a person decides; poll get_case with case_id)."""
        try:
            answer = client.gate(
                journey,
                action=action,
                signals=signals or {},
                context=context,
                proposal=proposal,
                subject_ref=subject_ref,
            )
        except (OversightError, OversightUnavailable) as error:
            raise _explain(error) from None
        return {
            "route": answer.route,
            "evaluation": answer.evaluation,
            "case_id": answer.case_id,
            "reasons": answer.reasons,
        }

    @server.tool()
    def ask_human(
        journey: str,
        reason: Literal["customer_requested_human", "system_unsure"] = CUSTOMER_REQUESTED_HUMAN,
        context: dict[str, Any] | None = None,
        action: dict[str, Any] | None = None,
        proposal: Any = None,
        wait_seconds: float = 0,
    ) -> dict[str, Any]:
        """Hand over to a person. A customer who asked for a human needs only the journey and
        the context; when unsure, name the `action`. With `wait_seconds` (at most 600) wait for
        the decision; otherwise poll get_case."""
        try:
            case = client.open_case(
                journey, reason=reason, context=context, action=action, proposal=proposal
            )
            if wait_seconds > 0:
                case = client.wait_for_decision(
                    case.id, timeout=min(wait_seconds, MAX_WAIT_SECONDS), poll_interval=2
                )
        except DecisionTimeout as timeout:
            return {**(timeout.case or {}), "instruction": "wait", "waited": wait_seconds}
        except (OversightError, OversightUnavailable) as error:
            raise _explain(error) from None
        return _case(case)

    @server.tool()
    def get_case(case_id: str) -> dict[str, Any]:
        """Where a case stands: `instruction` is wait, proceed, proceed_with_changes (carry out
        `action` instead), do_not_proceed (see `decision` for the reason) or already_automated."""
        try:
            return _case(client.get_case(case_id))
        except (OversightError, OversightUnavailable) as error:
            raise _explain(error) from None

    @server.tool()
    def find_precedents(
        journey: str,
        signals: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
        proposal: Any = None,
        limit: int = 5,
    ) -> dict[str, Any]:
        """What people decided on similar cases (AI proposal, human decision, reason, masked
        rationale, outcome), best first, each with why it is similar."""
        try:
            return client.precedents(
                journey, signals=signals, context=context, proposal=proposal, limit=limit
            )
        except (OversightError, OversightUnavailable) as error:
            raise _explain(error) from None

    return server


def main() -> None:
    url, key = os.environ.get("HITL_URL", ""), os.environ.get("HITL_API_KEY", "")
    if not url or not key:
        sys.exit("Set HITL_URL (e.g. http://127.0.0.1:8000) and HITL_API_KEY.")
    with OversightClient(url, key) as client:
        build_server(client).run("stdio")


if __name__ == "__main__":
    main()
