"""How many refused API requests each key made since its last security event in the ledger."""

from django.db import models

from oversight.models.integration import AISystemAPIKey


class APIRefusalWindow(models.Model):
    """One row per API key: bounds `security.refused` ledger events to one per interval.

    A key that probes other AI systems' objects gets one ledger event per
    `API_REFUSAL_EVENT_SECONDS`; the refusals in between only increment `suppressed`, which the
    next event carries. So the evidence records every burst, and an attacker holding a key
    cannot grow the ledger faster than one event a minute. Not evidence itself: a counter.
    """

    api_key = models.OneToOneField(
        AISystemAPIKey, on_delete=models.PROTECT, primary_key=True, related_name="+"
    )
    last_event_at = models.DateTimeField(
        null=True, blank=True, help_text="When the last security.refused event was written."
    )
    suppressed = models.PositiveIntegerField(
        default=0, help_text="Refusals since then that wrote no event of their own."
    )

    class Meta:
        verbose_name = "API refusal window"

    def __str__(self) -> str:
        return f"{self.api_key.prefix}: {self.suppressed} refusals since {self.last_event_at}"
