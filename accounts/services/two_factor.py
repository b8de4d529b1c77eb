"""Two-factor sign-in (django-otp): enrol an authenticator app, issue backup codes, verify.

A person's second factor is a TOTP device (an authenticator app) plus, once enrolled, a set of
single-use backup codes (a static device). Rules:

- Enrolling or replacing a factor needs a session that already passed the second factor, unless
  the person has no confirmed device at all: a stolen password alone must never be enough to
  add an attacker's authenticator.
- Enrolment and new backup codes are ledger events; the secret and the codes never are.
- Wrong codes are throttled by django-otp itself (each failure doubles the wait).
"""

import django_otp
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.services.ledger import Actor, append_event
from oversight.exceptions import InvalidInput, NotAllowed

AUTHENTICATOR_NAME = "Authenticator app"
BACKUP_NAME = "Backup codes"
# django-otp refuses any code for a moment after a wrong one (1 s, then 2 s, 4 s ...).
RETRY_HINT = (
    "Type the newest code from the app (check its clock); after a wrong code, wait a few "
    "seconds before the next: each wrong code doubles the wait."
)


def has_second_factor(user) -> bool:
    """Whether the person has a confirmed device (an enrolled authenticator or backup codes)."""
    return django_otp.user_has_device(user, confirmed=True)


def is_verified(user) -> bool:
    """Whether this request's session passed the second factor (needs django-otp's middleware)."""
    return bool(getattr(user, "is_verified", lambda: False)())


def second_factor_required(user) -> bool:
    """Whether OTP_REQUIRED applies to this person: staff, signed in, not yet verified."""
    return (
        settings.OTP_REQUIRED and user.is_authenticated and user.is_staff and not is_verified(user)
    )


def _may_enrol(user) -> bool:
    return is_verified(user) or not has_second_factor(user)


def pending_authenticator(*, user) -> TOTPDevice:
    """The unconfirmed authenticator being set up, created on first call (same secret after)."""
    if not _may_enrol(user):
        raise NotAllowed("Sign in with your current second factor before enrolling a new one.")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)
    return device


def confirm_authenticator(*, request: HttpRequest, token: str) -> TOTPDevice:
    """Confirm the pending authenticator with a code from the app, and sign the session in with it.

    Replaces any earlier authenticator of the person (one app at a time).
    """
    user = request.user
    device = pending_authenticator(user=user)
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        # A wrong code must commit its throttling, so it is not raised inside this block.
        accepted = device.verify_token((token or "").replace(" ", "").strip())
        if accepted:
            TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk).delete()
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            append_event(
                actor=Actor.for_user(user),
                action="auth.two_factor_enrolled",
                obj=user,
                payload={"device": AUTHENTICATOR_NAME},
            )
    if not accepted:
        raise InvalidInput(f"That code is not right. {RETRY_HINT}")
    django_otp.login(request, device)
    return device


def issue_backup_codes(*, user, count: int = 10) -> list[str]:
    """Replace the person's backup codes with `count` new single-use ones; shown once only.

    Needs a verified session: confirming the first device verifies the session, so the first
    enrolment gets its codes too, and a session that passed only the password gets none.
    """
    if not is_verified(user):
        raise NotAllowed("Sign in with your second factor before creating backup codes.")
    with transaction.atomic():
        device, _ = StaticDevice.objects.get_or_create(
            user=user, name=BACKUP_NAME, defaults={"confirmed": True}
        )
        device.token_set.all().delete()
        codes = [StaticToken.random_token() for _ in range(count)]
        StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
        append_event(
            actor=Actor.for_user(user),
            action="auth.backup_codes_issued",
            obj=user,
            payload={"count": count},
        )
    return codes


def verify_second_factor(*, request: HttpRequest, token: str):
    """Check a code from the authenticator app or a backup code, and mark the session verified.

    A backup code is used up by this. Raises InvalidInput for a wrong (or throttled) code.
    """
    device = django_otp.match_token(request.user, (token or "").replace(" ", "").strip())
    if device is None:
        raise InvalidInput(f"That code is not right. {RETRY_HINT}")
    django_otp.login(request, device)
    return device
