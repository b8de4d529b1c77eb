"""Sign-ins are consequential: every login through a view, and every lock-out, goes in the ledger.

Only logins made by a view (the admin login form, a future SSO callback) are recorded: the test
client's `force_login` and a shell's `login()` carry no real request, so they are not sign-ins
by a person. A failed login is counted by django-axes (audit/services/sign_in.py); the ledger
gets one event when repeated failures lock a user name or an address out.
"""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from audit.services import sign_in
from audit.services.ledger import Actor, append_event
from audit.services.sign_in import lockout_started

MAX_FORWARDED_CHARS = 200


def _through_a_view(request) -> bool:
    return getattr(request, "resolver_match", None) is not None


def _client(request) -> dict:
    """Where the attempt came from. X-Forwarded-For is kept as sent: informative, not proof."""
    client = {
        "ip": request.META.get("REMOTE_ADDR", ""),
        "via": request.resolver_match.view_name,
    }
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        client["forwarded_for"] = forwarded[:MAX_FORWARDED_CHARS]
    return client


@receiver(user_logged_in, dispatch_uid="audit.record_login")
def record_login(sender, request, user, **kwargs) -> None:
    if not _through_a_view(request):
        return
    append_event(
        actor=Actor.for_user(user),
        action="auth.login",
        obj=user,
        payload={"username": user.get_username(), **_client(request)},
    )


@receiver(user_locked_out, dispatch_uid="audit.record_lockout")
def record_lockout(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    # Failed attempts are counted by django-axes, not written here one by one: anyone without an
    # account could otherwise grow the ledger without bound. One event per lock-out.
    if lockout_started(request):
        sign_in.record_lockout(request=request, username=username, ip_address=ip_address)
