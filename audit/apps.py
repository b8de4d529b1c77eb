from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self):
        from audit import checks, signals  # noqa: F401  (registers the checks and receivers)
        from audit.protection import install_protection_after_migrate

        # Once per migrate (sender=self), after every app's tables exist.
        post_migrate.connect(
            install_protection_after_migrate,
            sender=self,
            dispatch_uid="audit.install_protection",
        )
