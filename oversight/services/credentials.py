"""API keys and webhook secrets of AI systems: created, shown once, rotated, revoked.

Keys are stored hashed (djangorestframework-api-key). Webhook secrets must be usable to sign, so
they are stored encrypted (Fernet) with a key derived from FIELD_ENCRYPTION_KEY, or SECRET_KEY
when that is unset. Neither ever appears in the audit ledger or the logs.

A person changes an AI system's credentials only while managing that system (superusers on
every system); operators' commands and the product itself act as system actors.
"""

import base64
import hashlib
import secrets

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import transaction

from audit.services.ledger import Actor, append_event
from oversight.exceptions import DomainError, InvalidInput, NotAllowed
from oversight.models import AISystem, AISystemAPIKey
from oversight.services.authority import manages_scope


def _fernet() -> Fernet:
    material = settings.FIELD_ENCRYPTION_KEY or settings.SECRET_KEY
    digest = hashlib.sha256(b"hitl-oversight/webhook-secret/" + material.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _check_manages(actor: Actor, ai_system: AISystem, what: str) -> None:
    """A person must manage the AI system; system actors (commands, the product) pass."""
    user = actor.user
    if user is not None and not manages_scope(user, ai_system=ai_system):
        raise NotAllowed(
            f"{user.get_full_name() or user.get_username()} does not manage {ai_system}: only "
            f"its managers may {what}."
        )


def create_api_key(
    *, ai_system: AISystem, name: str, actor: Actor, expiry_date=None
) -> tuple[AISystemAPIKey, str]:
    """Create a key for one AI system; returns the record and the plain key (shown only now)."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput("Give the key a name, e.g. the environment that will use it.")
    _check_manages(actor, ai_system, "issue its API keys")
    if not ai_system.is_active:
        raise InvalidInput(f"{ai_system} is inactive: activate it before issuing keys.")
    with transaction.atomic():
        api_key, plain = AISystemAPIKey.objects.create_key(
            ai_system=ai_system, name=name, expiry_date=expiry_date
        )
        append_event(
            actor=actor,
            action="api_key.created",
            obj=ai_system,
            payload={"key_prefix": api_key.prefix, "name": name, "expiry_date": expiry_date},
        )
    return api_key, plain


def revoke_api_key(*, api_key: AISystemAPIKey, actor: Actor) -> AISystemAPIKey:
    """Revoke a key at once; every later use of it is refused. Revocation cannot be undone."""
    _check_manages(actor, api_key.ai_system, "revoke its API keys")
    with transaction.atomic():
        api_key = AISystemAPIKey.objects.select_for_update().get(pk=api_key.pk)
        if api_key.revoked:
            raise InvalidInput(f"The key {api_key.prefix} is already revoked.")
        api_key.revoked = True
        api_key.save(update_fields=["revoked"])
        append_event(
            actor=actor,
            action="api_key.revoked",
            obj=api_key.ai_system,
            payload={"key_prefix": api_key.prefix, "name": api_key.name},
        )
    return api_key


def rotate_webhook_secret(*, ai_system: AISystem, actor: Actor) -> str:
    """Give the AI system a new webhook signing secret; returns it (shown only now)."""
    _check_manages(actor, ai_system, "rotate its webhook secret")
    secret = "whsec_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        ai_system = AISystem.objects.select_for_update().get(pk=ai_system.pk)
        ai_system.webhook_secret_encrypted = _fernet().encrypt(secret.encode()).decode()
        if actor.user is not None:
            ai_system._history_user = actor.user
        ai_system.save(update_fields=["webhook_secret_encrypted", "updated_at"])
        append_event(actor=actor, action="ai_system.webhook_secret_rotated", obj=ai_system)
    return secret


def webhook_secret(ai_system: AISystem) -> str:
    """The plain signing secret, for the webhook sender only."""
    if not ai_system.webhook_secret_encrypted:
        raise DomainError(
            f"{ai_system} has no webhook secret yet: rotate one in the admin.",
            code="no_webhook_secret",
        )
    try:
        return _fernet().decrypt(ai_system.webhook_secret_encrypted.encode()).decode()
    except InvalidToken:
        raise DomainError(
            f"The webhook secret of {ai_system} cannot be decrypted: was FIELD_ENCRYPTION_KEY "
            "or SECRET_KEY changed? Rotate the secret.",
            code="webhook_secret_unreadable",
        ) from None
