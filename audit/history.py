"""django-simple-history wiring shared by every evidence model, and reading it back."""

import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from simple_history.models import HistoricalRecords


def acting_user(request=None, **kwargs):
    """The person behind the request, if it is a person.

    API requests act for an AI system, not a user: their history rows carry no user and name
    the system in the change reason instead (set by the service).
    """
    user = getattr(request, "user", None)
    return user if isinstance(user, AbstractBaseUser) else None


class EvidenceHistory(HistoricalRecords):
    """HistoricalRecords that never mistakes an API principal for a user."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("get_user", acting_user)
        super().__init__(*args, **kwargs)


def as_of(model_or_instance, moment: datetime.datetime):
    """An evidence object, or all objects of an evidence model, as they were at `moment`.

    For an instance: the object with the field values it had then, or None if it did not exist
    yet or had been deleted. For a model: an iterable of its objects as they were then (those
    existing at that moment). Built on simple-history's `as_of`, which reads the history table:
    the values come from history rows, never from the current row.
    """
    if timezone.is_naive(moment):
        raise ValueError("as_of needs an aware datetime: history is stored in UTC.")
    model = model_or_instance if isinstance(model_or_instance, type) else type(model_or_instance)
    attribute = getattr(model._meta, "simple_history_manager_attribute", None)
    if attribute is None:
        raise TypeError(f"{model._meta.label} keeps no history.")
    if isinstance(model_or_instance, type):
        return getattr(model, attribute).as_of(moment)
    history = getattr(model_or_instance, attribute)
    try:
        return history.as_of(moment)
    except model.DoesNotExist:
        return None
