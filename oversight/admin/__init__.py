"""Django admin for oversight, one module per admin area; importing them registers them."""

from oversight.admin import (  # noqa: F401
    authority,
    calibration,
    cases,
    credentials,
    dashboard,
    gate,
    guardrails,
    incidents,
    judgement,
    reports,
    systems,
    webhooks,
)
