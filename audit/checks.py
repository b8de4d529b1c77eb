"""System checks: a retention shorter than the legal minimum stops the project at startup."""

from django.core.checks import Error, register


@register()
def check_retention_settings(app_configs=None, **kwargs) -> list[Error]:
    from audit.services.retention import retention_problems

    return [
        Error(problem, hint=hint, obj="settings", id="audit.E001")
        for problem, hint in retention_problems()
    ]


@register()
def check_ledger_signing_key(app_configs=None, **kwargs) -> list[Error]:
    """With DEBUG off, checkpoints must be signable: a missing or unreadable key stops startup
    instead of failing the first checkpoint at 03:30."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    from audit.signing import signing_key, trusted_public_keys

    if settings.DEBUG:
        return []
    try:
        signing_key()
        trusted_public_keys()
    except ImproperlyConfigured as problem:
        return [
            Error(
                str(problem),
                hint="docs/reliability.md, 'Ledger tamper evidence', says how to make one.",
                obj="settings",
                id="audit.E002",
            )
        ]
    return []
