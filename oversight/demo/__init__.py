"""Demo data: Lumen Home, an online electronics retailer whose support assistant is overseen.

`core` sets up the people, the configuration and the featured cases (one in every state, told
by hand); `story` adds the 90 days behind them, generated from tables. See `core.seed_demo`.
"""

from oversight.demo.core import (
    AUTOMATED,
    CASES,
    DEMO_LOGINS,
    SYSTEM_SLUG,
    ForeignDataError,
    SeedResult,
    seed_demo,
)
from oversight.demo.records import DEMO_NAMESPACE, demo_id

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
