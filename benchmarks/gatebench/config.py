"""What the gate benchmark sends and compares: paths, bodies, the five rows and the targets."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/hitl_bench"
RUN_LOCK = 0x6761746562656E63  # pg advisory lock key ("gatebenc")
OTHER_CPU_WARNING = 10  # % of the machine's CPU used outside the benchmark's processes
HOST = "127.0.0.1"
PING_PATH = "/api/v1/ping/"
GATE_PATH = "/api/v1/gate/"
BARE_OK_PATH = "/bare/ok/"  # benchmarks/bare: the floor, outside the product
BARE_INSERT_PATH = "/bare/insert/"
BARE_TABLE = "bench_bare_row"
START_HINT = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"

# A refund the journey lets through: confident, calm, small, reversible, context complete, and
# a proposal without personal data (the PII judge still reads it).
AUTOMATE_BODY = {
    "journey": "refunds",
    "action": {"type": "refund", "amount": "40.00", "currency": "EUR", "irreversible": False},
    "signals": {
        "confidence": 0.93,
        "sentiment": 0.1,
        "identity_mismatch": False,
        "recent_fraud_attempts": 0,
    },
    "context": {"order_id": "A-10023", "customer_tier": "gold"},
    "proposal": {"reply": "Your refund of 40.00 EUR for order A-10023 is on its way."},
    "subject_ref": "cust-4821",
}
# The same call with low confidence and a large amount: two points fire, a case is opened.
HUMAN_BODY = {
    **AUTOMATE_BODY,
    "action": {"type": "refund", "amount": "620.00", "currency": "EUR", "irreversible": False},
    "signals": {**AUTOMATE_BODY["signals"], "confidence": 0.58},
}
CASE_JOURNEYS = 8  # the case-opening row: one journey per concurrent caller


def case_body(caller: int) -> dict:
    """A call that opens a case on journey cases-<n>, n from the caller's number."""
    return {**HUMAN_BODY, "journey": f"cases-{caller % CASE_JOURNEYS + 1}"}


def automate_json() -> str:
    """The automating body as sent (also the bare insert's body)."""
    return json.dumps(AUTOMATE_BODY)


KINDS = ("bare_ok", "bare_insert", "ping", "gate_automate", "gate_case")
LABELS = {
    "bare_ok": "GET  bare DRF {ok: true}",
    "bare_insert": "POST bare DRF, one INSERT",
    "ping": "GET  /api/v1/ping/",
    "gate_automate": "POST /api/v1/gate/ automate",
    "gate_case": "POST /api/v1/gate/ opens case",
}


def server_of(kind: str) -> str:
    """Which gunicorn serves a row: "bare" (benchmarks/bare) or "product"."""
    return "bare" if kind.startswith("bare_") else "product"


# (numerator, denominator, target): the targets (#17), as throughput ratios.
TARGETS = (
    ("ping", "bare_ok", 0.5),
    ("gate_automate", "ping", 0.5),
    ("gate_automate", "bare_insert", 0.5),
    ("gate_case", "bare_insert", 0.25),
)
