"""Domain exceptions: raised by services with a message fit to show a person.

Callers translate them: the admin shows the message, the API returns the code and message, a
task logs them. `code` is stable and machine-readable.
"""


class DomainError(Exception):
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class NotAllowed(DomainError):
    """The acting person or system lacks the permission or authority for this action."""

    code = "not_allowed"


class InvalidInput(DomainError):
    """The request itself is malformed or out of range."""

    code = "invalid_input"


class StaleState(DomainError):
    """The object changed since the caller looked at it (decided, claimed by someone else...)."""

    code = "stale_state"
