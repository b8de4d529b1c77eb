"""System checks: a retention shorter than the legal minimum stops the project at startup."""

from django.core.checks import Error, register


@register()
def check_retention_settings(app_configs=None, **kwargs) -> list[Error]:
    from audit.services.retention import retention_problems

    return [
        Error(problem, hint=hint, obj="settings", id="audit.E001")
        for problem, hint in retention_problems()
    ]
