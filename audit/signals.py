"""Sign-ins are consequential: every login and failed login through a view goes in the ledger.

Only logins made by a view (the admin login form, a future SSO callback) are recorded: the test
client's `force_login` and a shell's `login()` carry no real request, so they are not sign-ins
by a person. The attempted password is never recorded (Django passes it masked anyway).
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from audit.services.ledger import Actor, append_event

# Usernames come from the login form, unchecked: a failed attempt may send anything.
MAX_USERNAME_CHARS = 150
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


@receiver(user_login_failed, dispatch_uid="audit.record_login_failure")
def record_login_failure(sender, credentials, request=None, **kwargs) -> None:
    if not _through_a_view(request):
        return
    user_model = get_user_model()
    username = credentials.get(user_model.USERNAME_FIELD, credentials.get("username", ""))
    username = str(username)[:MAX_USERNAME_CHARS]
    # Name the account that was tried, if there is one: repeated failures against one person
    # are what an investigation looks for.
    account = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()
    append_event(
        actor=Actor.system("login form"),
        action="auth.login_failed",
        obj=account,
        object_type="" if account else user_model._meta.label_lower,
        payload={"username": username, "known_account": account is not None, **_client(request)},
    )
