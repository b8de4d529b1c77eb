"""Demo data: Lumen Home, an online electronics retailer whose support assistant is overseen.

By concern: `people` (logins, roles, managers, grants), `configuration` (the AI system, its
journeys, levels, judgement points, override reasons), `training`, `story` (the 90 days of gate
calls, cases, decisions and outcomes, generated from tables), `featured` (the hand-told cases
of the last two days, one in every state), and `core.seed_demo`, which runs them in order.
"""

from oversight.demo.core import ForeignDataError, seed_demo
from oversight.demo.featured import AUTOMATED, CASES
from oversight.demo.people import DEMO_LOGINS
from oversight.demo.records import DEMO_NAMESPACE, SYSTEM_SLUG, SeedResult, demo_id

__all__ = [
    "AUTOMATED",
    "CASES",
    "DEMO_LOGINS",
    "DEMO_NAMESPACE",
    "SYSTEM_SLUG",
    "ForeignDataError",
    "SeedResult",
    "demo_id",
    "seed_demo",
]
