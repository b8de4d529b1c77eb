"""One worked example per API operation, for the OpenAPI schema (`oversight.api.schema`).

Request examples go where an operation reads a body; every operation gets an example of its
success answer. Values are shaped like the demo's (`make run`), so they read as real answers.
"""

CASE_ID = "0b7e2f4c-5a0e-4f51-9a5e-2b1f7d3c9e11"
EVALUATION_ID = "6a1d9c3e-8f2b-4b7a-a0c4-1e5d2f8b7c90"

OPEN_CASE = {
    "id": CASE_ID,
    "journey": "billing-disputes",
    "status": "open",
    "route_reason": "customer_requested_human",
    "opened_at": "2026-03-03T09:12:00+00:00",
    "updated_at": "2026-03-03T09:12:00+00:00",
    "sla_deadline": "2026-03-03T13:12:00+00:00",
    "subject_ref": "cust-4821",
    "evaluation": None,
    "decision": None,
    "next_step": {
        "instruction": "wait",
        "may_proceed": False,
        "detail": "A person has not decided yet; poll again or wait for the webhook.",
    },
}
DECIDED_CASE = {
    **OPEN_CASE,
    "journey": "refunds",
    "status": "decided",
    "route_reason": "trigger",
    "evaluation": EVALUATION_ID,
    "updated_at": "2026-03-03T09:40:12+00:00",
    "decision": {
        "outcome": "modify",
        "final_action": {"option": "partial refund", "amount": "60.00"},
        "overridden": True,
        "override_reason": "policy-exception",
        "override_reason_label": "Policy exception",
        "rationale": "Opened item: half refund under the returns policy.",
        "decided_at": "2026-03-03T09:40:12+00:00",
    },
    "next_step": {
        "instruction": "proceed_with_changes",
        "may_proceed": True,
        "action": {"option": "partial refund", "amount": "60.00"},
        "approval_token": "eyJhY3Rpb25fc2hhMjU2IjoiLi4uIn0.c2lnbmF0dXJl",
    },
}

CORRECTION = {
    "decision": "5b1e0c7a-3f2d-4c9e-8a61-0d4f2b7e9c13",
    "case": "0b7e2f4c-5a0e-4f51-9a5e-2b1f7d3c9e11",
    "journey": "refunds",
    "route_reason": "trigger",
    "opened_at": "2026-03-03T09:12:00+00:00",
    "decided_at": "2026-03-03T09:40:12+00:00",
    "ai": {
        "action": {"type": "refund", "irreversible": False, "amount": "120.00", "currency": "EUR"},
        "proposal": {"reply": "We have refunded your order in full."},
        "confidence": 0.58,
        "signals": {"confidence": 0.58},
    },
    "human": {
        "outcome": "modify",
        "final_action": {"option": "partial refund", "amount": "60.00"},
        "overridden": True,
        "override_reason": "policy-exception",
        "rationale": "Opened item; customer reachable at [email]: half refund per policy.",
        "authority_level": "Senior reviewer",
        "review_round": 1,
    },
    "outcome": {
        "complaint": False,
        "reversed": False,
        "repeat_contact": None,
        "customer_effort": 2,
        "reports": 1,
    },
    "judgement_points_fired": [{"slug": "low-confidence", "version": 2}],
    "rule_versions": [
        {"slug": "irreversible-action", "version": 1},
        {"slug": "low-confidence", "version": 2},
    ],
}

PRECEDENTS_ANSWER = {
    "would_fire": ["low-confidence"],
    "results": [
        {
            "score": 0.8133,
            "why": {
                "shared_points": ["low-confidence"],
                "points_only_yours": [],
                "points_only_theirs": [],
                "signals": {"confidence": {"yours": 0.55, "theirs": 0.58}},
                "parts": {"points": 1.0, "signals": 0.97, "text": 0.33},
                "weights": {"points": 0.5, "signals": 0.3, "text": 0.2},
            },
            **CORRECTION,
        }
    ],
}

EXAMPLES: dict[tuple[str, str], dict] = {
    ("get", "/api/v1/corrections/"): {
        "response": {"200": {"next": None, "previous": None, "results": [CORRECTION]}}
    },
    ("post", "/api/v1/precedents/"): {"response": {"200": PRECEDENTS_ANSWER}},
    ("get", "/api/v1/ping/"): {"response": {"200": {"ai_system": "support-assistant"}}},
    ("get", "/api/v1/journeys/"): {
        "response": {
            "200": [
                {
                    "slug": "refunds",
                    "name": "Refunds",
                    "automation_state": "running",
                    "mode": "live",
                    "required_context_keys": ["order_id", "customer_tier"],
                    "allow_pii_in_proposal": False,
                    "judgement_points": [
                        {
                            "slug": "low-confidence",
                            "name": "Low confidence on a refund",
                            "combinator": "all",
                            "version": 2,
                            "signals": ["confidence"],
                            "conditions": [
                                {"signal": "confidence", "operator": "lt", "value": 0.75}
                            ],
                        }
                    ],
                }
            ]
        }
    },
    ("post", "/api/v1/gate/"): {
        "request": {
            "journey": "refunds",
            "action": {"type": "refund", "amount": "120.00", "currency": "EUR"},
            "signals": {"confidence": 0.58, "sentiment": -0.2},
            "context": {"order_id": "A-10023", "customer_tier": "gold"},
            "proposal": {"reply": "We have refunded your order in full."},
            "subject_ref": "cust-4821",
        }
    },
    ("post", "/api/v1/cases/"): {
        "request": {
            "journey": "billing-disputes",
            "reason": "customer_requested_human",
            "context": {
                "account_id": "AC-3310",
                "invoice_number": "INV-2026-0042",
                "customer_tier": "standard",
            },
            "subject_ref": "cust-4821",
        },
        "response": {"201": OPEN_CASE},
    },
    ("get", "/api/v1/cases/"): {
        "response": {"200": {"count": 1, "next": None, "previous": None, "results": [DECIDED_CASE]}}
    },
    ("post", "/api/v1/outcomes/"): {
        "request": {"evaluation": EVALUATION_ID, "customer_effort": 2, "repeat_contact": False},
        "response": {
            "201": {
                "id": "9c0f3b1e-2d4a-4e8b-a1c7-5f6e7d8c9b0a",
                "evaluation": EVALUATION_ID,
                "case": None,
            }
        },
    },
    ("get", "/api/v1/approval-key/"): {
        "response": {
            "200": {
                "format": "hitl-approval/1",
                "algorithm": "Ed25519",
                "key_id": "3f9a1c0d5e7b2a64",
                "public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
            }
        }
    },
}
