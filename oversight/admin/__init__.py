"""Django admin for oversight, one module per admin area; importing them registers them."""

from oversight.admin import (  # noqa: F401
    authority,
    calibration,
    cases,
    corrections,
    credentials,
    dashboard,
    gate,
    guardrails,
    incidents,
    judgement,
    navigation,
    reports,
    systems,
    webhooks,
)
