"""System checks: a production deployment without a report signing certificate stops at startup.

Every issued report is signed (oversight.reports.signing); finding out only when the first
report fails would leave the compliance team without evidence.
"""

from django.conf import settings
from django.core.checks import Error, register


@register()
def check_report_signing(app_configs=None, **kwargs) -> list[Error]:
    from oversight.reports.signing import SigningNotConfigured, signing_files

    if (
        settings.REPORT_SIGNING_GENERATE_DEV_CERT
        and not settings.REPORT_SIGNING_KEY_FILE
        and not settings.REPORT_SIGNING_CERT_FILE
    ):
        return []  # a demo certificate is made on first use; nothing to check yet
    try:
        signing_files()
    except SigningNotConfigured as error:
        return [
            Error(
                str(error),
                hint="See docs/compliance-guide.md, 'Signing certificate'.",
                obj="settings",
                id="oversight.E010",
            )
        ]
    return []
