"""What the client raises: the API's own errors, transport failures, and "not approved"."""

from __future__ import annotations

from typing import Any


class OversightError(Exception):
    """The product answered with an error (its one error shape: code, message, fields)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        fields: dict[str, list[str]] | None = None,
        request_id: str | None = None,
    ):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.request_id = request_id


class OversightUnavailable(Exception):
    """The product could not be reached, or kept answering "retry later", within the retry
    budget. Nothing may be assumed about the action: treat it as not approved."""


class NotApproved(Exception):
    """The action may not be carried out (now). Subclasses say why; each carries the case."""

    def __init__(self, message: str, *, case: dict[str, Any] | None = None):
        super().__init__(message)
        self.case = case

    @property
    def case_id(self) -> str | None:
        return self.case["id"] if self.case else None


class PendingHumanDecision(NotApproved):
    """A person must decide first; the case is open. Poll it or wait for the webhook."""


class DecisionTimeout(PendingHumanDecision):
    """No decision arrived within the time the caller was willing to wait."""


class ActionRejected(NotApproved):
    """A person decided the action must not go ahead."""


class ChangesRequired(NotApproved):
    """A person approved a different action (`action`); the original must not run as it was."""

    def __init__(self, message: str, *, case: dict[str, Any], action: Any):
        super().__init__(message, case=case)
        self.action = action
