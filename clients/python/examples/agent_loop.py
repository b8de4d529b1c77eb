"""A support agent's loop with HITL Oversight in front of its refund tool.

A fake "model" reads each customer message and proposes a refund with a confidence; the refund
tool is guarded: it runs only when the gate lets automation proceed. When a person must decide,
the agent tells the customer so and moves on; a later pass (or the webhook) picks the decision
up. Run it against the demo (`make run`, then an API key from `create_api_key`):

    HITL_URL=http://127.0.0.1:8000 HITL_API_KEY=... python clients/python/examples/agent_loop.py
"""

import os

from hitl_oversight_client import (
    CUSTOMER_REQUESTED_HUMAN,
    ActionRejected,
    ChangesRequired,
    OversightClient,
    PendingHumanDecision,
)

MESSAGES = [
    {"order_id": "A-10023", "text": "My kettle arrived broken, please refund the 24.90 EUR."},
    {"order_id": "A-10024", "text": "Refund my order I guess? Not sure it's the right one."},
    {"order_id": "A-10025", "text": "I want to talk to a human."},
]


def fake_model(message: dict) -> dict:
    """Stands in for an LLM: an intent, an amount and how sure it is."""
    text = message["text"].lower()
    if "human" in text:
        return {"intent": "handover"}
    confidence = 0.93 if "broken" in text else 0.41
    return {"intent": "refund", "amount": "24.90", "confidence": confidence}


def run(client: OversightClient, messages=MESSAGES) -> list[str]:
    @client.guard(
        "refunds",
        action=lambda order_id, amount, confidence: {
            "type": "refund",
            "amount": amount,
            "currency": "EUR",
        },
        signals=lambda order_id, amount, confidence: {"confidence": confidence},
        context=lambda order_id, amount, confidence: {
            "order_id": order_id,
            "customer_tier": "standard",
        },
        proposal=lambda order_id, amount, confidence: {"reply": f"Refunded {amount} EUR."},
    )
    def refund(order_id: str, amount: str, confidence: float) -> str:
        return f"refunded {amount} EUR on {order_id}"  # the real payment call goes here

    log = []
    for message in messages:
        thought = fake_model(message)
        if thought["intent"] == "handover":
            case = client.open_case(
                "refunds",
                reason=CUSTOMER_REQUESTED_HUMAN,
                context={"order_id": message["order_id"], "customer_tier": "standard"},
            )
            log.append(f"{message['order_id']}: handed to a person (case {case.id[:8]})")
            continue
        try:
            log.append(
                f"{message['order_id']}: "
                + refund(message["order_id"], thought["amount"], thought["confidence"])
            )
        except PendingHumanDecision as pending:
            log.append(f"{message['order_id']}: a person decides (case {pending.case_id[:8]})")
        except (ActionRejected, ChangesRequired) as answer:
            log.append(f"{message['order_id']}: {answer}")
    return log


if __name__ == "__main__":
    with OversightClient(os.environ["HITL_URL"], os.environ["HITL_API_KEY"]) as oversight:
        for line in run(oversight):
            print(line)
