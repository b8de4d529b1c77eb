"""API-key authentication: every request acts for exactly one AI system."""

from dataclasses import dataclass

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework_api_key.crypto import KeyGenerator
from rest_framework_api_key.permissions import KeyParser

from oversight.api.key_lookup import read_key_and_journey
from oversight.models import AISystem, AISystemAPIKey

KEYWORD = "Api-Key"
_generator = KeyGenerator()


@dataclass(frozen=True)
class AISystemPrincipal:
    """Stands in for request.user on API calls: the AI system behind the key."""

    ai_system: AISystem
    is_authenticated: bool = True
    is_anonymous: bool = False
    is_staff: bool = False

    def __str__(self) -> str:
        return f"AI system {self.ai_system.slug}"


class AISystemKeyAuthentication(BaseAuthentication):
    """`Authorization: Api-Key <key>`; revoked or expired keys and inactive systems are refused.

    Keys are looked up by their public prefix and checked against the stored hash; the key
    itself is never logged. The key is read on every request (a revocation takes effect on the
    next call). A view that names a journey in its body (the gate) sets `request.journey_hint`
    before authentication; the journey is then read in the same query as the key
    (`oversight.api.key_lookup`) and left on `request.stamped_journey` as (slug, journey or
    None). The key's checks are the same either way.
    """

    def authenticate(self, request):
        key = KeyParser().get_from_authorization(request)
        if not key:
            return None
        prefix, _, _ = key.partition(".")
        hint = getattr(request, "journey_hint", None)
        api_key, journey = read_key_and_journey(prefix=prefix, journey_slug=hint)
        if hint is not None:
            request.stamped_journey = (hint, journey)
        if api_key is None or not _generator.verify(key, api_key.hashed_key):
            raise exceptions.AuthenticationFailed("The API key is unknown or has been revoked.")
        if api_key.has_expired:
            raise exceptions.AuthenticationFailed("The API key has expired.")
        if not api_key.ai_system.is_active:
            raise exceptions.AuthenticationFailed("The AI system of this key is inactive.")
        return AISystemPrincipal(api_key.ai_system), api_key

    def authenticate_header(self, request) -> str:
        return KEYWORD


class IsAISystem(BasePermission):
    message = "Send an API key: Authorization: Api-Key <key>."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, AISystemAPIKey)
