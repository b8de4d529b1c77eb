"""django-simple-history wiring shared by every evidence model."""

from django.contrib.auth.models import AbstractBaseUser
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
