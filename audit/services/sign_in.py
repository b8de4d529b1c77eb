"""Login protection (django-axes): the lock-out's ledger event, unlocking, the client address.

django-axes counts failed logins per user name and per client address and refuses further
attempts for a cool-off period once either reaches AXES_FAILURE_LIMIT. Its counters live in its
own table, so failed attempts no longer grow the evidence ledger: the ledger gets one
`auth.locked_out` event when a lock-out starts (not one per refused attempt afterwards) and one
`auth.unlocked` event when a person lifts it early.
"""

from collections.abc import Iterable

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest

from audit.services.ledger import Actor, append_event
from oversight.exceptions import NotAllowed, StaleState

UNLOCK_PERMISSION = "axes.change_accessattempt"
MAX_USERNAME_CHARS = 150
LOGIN_FORM = Actor.system("login form")


class LockoutBackend(AxesStandaloneBackend):
    """axes' lock-out check for every login that arrives with a request.

    `authenticate()` without a request (a shell, the test client's `login()`, a management
    command) is code running on the server, not a sign-in from outside: axes would refuse it
    outright; here it goes on to the password check, uncounted.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """The user name axes counts (AXES_USERNAME_CALLABLE): as typed, cut to 150 characters.

    The login form does not enforce the user model's length, and axes stores the name in a
    255-character column: a longer name made PostgreSQL refuse the counter (a 500, and no
    count). No account has a longer name, so cutting it changes no account's counter.
    """
    if credentials:
        username = credentials.get("username")
    else:
        username = getattr(request, "data", request.POST).get("username")
    return None if username is None else str(username)[:MAX_USERNAME_CHARS]


def client_address(request: HttpRequest) -> str:
    """The client's address for lock-out counting (AXES_CLIENT_IP_CALLABLE).

    REMOTE_ADDR, unless LOGIN_TRUSTED_PROXY_COUNT says how many proxies of ours stand in front:
    each appends the address it saw to X-Forwarded-For, so the client is that many entries from
    the right. Entries further left are whatever the client sent, and are never trusted.
    """
    proxies = getattr(settings, "LOGIN_TRUSTED_PROXY_COUNT", 0)
    remote = request.META.get("REMOTE_ADDR", "")
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    return forwarded[-proxies] if len(forwarded) >= proxies else remote


def lockout_started(request: HttpRequest | None) -> bool:
    """Whether this failed attempt is the one that reached the limit (not a later refused one).

    axes signals `user_locked_out` on every attempt made while locked out; only the attempt
    whose count equals the limit starts a lock-out. Counting restarts after the cool-off or an
    unlock, so a later lock-out is recorded again.
    """
    if request is None:
        return False
    failures = getattr(request, "axes_failures_since_start", None)
    credentials = getattr(request, "axes_credentials", None)
    return failures is not None and failures == get_failure_limit(request, credentials)


def record_lockout(*, request: HttpRequest, username: str | None, ip_address: str | None) -> None:
    """Append the one ledger event of a lock-out: who was tried, from where, after how many."""
    username = str(username or "")[:MAX_USERNAME_CHARS]
    user_model = get_user_model()
    account = (
        user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()
        if username
        else None
    )
    resolver_match = getattr(request, "resolver_match", None)
    append_event(
        actor=LOGIN_FORM,
        action="auth.locked_out",
        obj=account,
        object_type="" if account else user_model._meta.label_lower,
        payload={
            "username": username,
            "known_account": account is not None,
            "ip": ip_address or "",
            "failures": request.axes_failures_since_start,
            "via": resolver_match.view_name if resolver_match else "",
        },
    )


def unlock_sign_ins(*, attempt_ids: Iterable[int], user) -> int:
    """Lift lock-outs early by clearing the failed-attempt counters chosen in the admin.

    Needs the "change access attempt" permission (superusers, the Manager role). The counters
    are django-axes' working data, not evidence: they are removed, and the ledger records who
    lifted which lock-out. Returns how many counters were cleared.
    """
    if not user.has_perm(UNLOCK_PERMISSION):
        raise NotAllowed("You may not unlock sign-ins.")
    with transaction.atomic():
        attempts = list(
            AccessAttempt.objects.select_for_update()
            .filter(pk__in=list(attempt_ids))
            .order_by("pk")
        )
        if not attempts:
            raise StaleState(
                "Those sign-in counters are gone already (cool-off ended or unlocked)."
            )
        cleared = [
            {
                "username": (attempt.username or "")[:MAX_USERNAME_CHARS],
                "ip": attempt.ip_address or "",
                "failures": attempt.failures_since_start,
            }
            for attempt in attempts
        ]
        AccessAttempt.objects.filter(pk__in=[attempt.pk for attempt in attempts]).delete()
        append_event(
            actor=Actor.for_user(user),
            action="auth.unlocked",
            object_type="axes.accessattempt",
            payload={"cleared": cleared},
        )
    return len(cleared)
