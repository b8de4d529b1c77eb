from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """Running the product: health checks, metrics, the request log, evidence after a restore."""

    name = "operations"
    verbose_name = "Operations"

    def ready(self) -> None:
        # Its receiver gives each new PostgreSQL connection psycopg's compiled timestamp loader.
        from hitl_project import timestamp_loader  # noqa: F401
