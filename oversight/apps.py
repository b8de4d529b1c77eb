from django.apps import AppConfig


class OversightConfig(AppConfig):
    name = "oversight"
    verbose_name = "Oversight"

    def ready(self) -> None:
        # Registers the OpenAPI description of the API-key scheme with drf-spectacular.
        from oversight.api import schema  # noqa: F401
