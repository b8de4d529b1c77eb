from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """Running the product: health checks, metrics, the request log, evidence after a restore."""

    name = "operations"
    verbose_name = "Operations"
