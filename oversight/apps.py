from django.apps import AppConfig


class OversightConfig(AppConfig):
    name = "oversight"
    verbose_name = "Oversight"

    def ready(self) -> None:
        # Registers the OpenAPI description of the API-key scheme with drf-spectacular.
        from oversight import (
            checks,  # noqa: F401  (registers the system checks)
            rollup_signals,  # noqa: F401  (keeps decision summaries true)
        )
        from oversight.api import key_lookup, schema  # noqa: F401  (key_lookup: its receiver)
