"""Validators for the JSON fields that hold configuration lists."""

import re

from django.core.exceptions import ValidationError

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def validate_key_list(value) -> None:
    """A list of distinct snake_case keys, e.g. context keys or signal names."""
    if not isinstance(value, list):
        raise ValidationError('Enter a list, e.g. ["order_id", "customer_tier"].')
    for item in value:
        if not isinstance(item, str) or not KEY_PATTERN.match(item):
            raise ValidationError(
                f"{item!r} is not a valid key: use lower-case letters, digits and underscores, "
                "starting with a letter."
            )
    if len(set(value)) != len(value):
        raise ValidationError("Each key may appear only once.")


def validate_option_list(value) -> None:
    """A non-empty list of distinct, non-blank option labels."""
    if not isinstance(value, list) or not value:
        raise ValidationError('Enter a non-empty list, e.g. ["refund in full", "decline"].')
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ValidationError("Each option must be a non-blank text.")
    if len(set(value)) != len(value):
        raise ValidationError("Each option may appear only once.")


def validate_callback_url(value: str) -> None:
    """The webhook SSRF policy, for forms and `full_clean` (see services/callback_policy.py)."""
    from oversight.services.callback_policy import CallbackRefused, check_callback_url

    try:
        check_callback_url(value)
    except CallbackRefused as exc:
        raise ValidationError(exc.message) from None
