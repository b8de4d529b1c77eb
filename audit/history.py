"""django-simple-history wiring shared by every evidence model, and reading it back."""

import dataclasses
import datetime
import inspect

from django.contrib.auth.models import AbstractBaseUser
from django.db import router
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

    def contribute_to_class(self, cls, name):
        super().contribute_to_class(cls, name)
        _RECORDS[cls] = self

    def finalize(self, sender, **kwargs):
        super().finalize(sender, **kwargs)
        if sender is self.cls:
            self.history_model = inspect.getattr_static(sender, self.manager_name).model


_RECORDS: dict[type, EvidenceHistory] = {}


def insert_with_history(instance) -> None:
    """`instance.save()` of a new evidence object, its INSERTs written once (audit/row_insert).

    The history row is the one simple-history's post_save writes for a creation ("+"), built by
    its own methods (user, change reason, tracked fields) and sent with its pre/post signals;
    what is spared is the manager class simple-history makes on every access to
    `instance.history` and the ORM's compiling of both INSERTs (issue #17: a case opening).
    tests/oversight/test_case_opening_rows.py holds the rows to a plain `save()`.
    """
    from django.conf import settings
    from simple_history.signals import post_create_historical_record, pre_create_historical_record

    from audit.row_insert import insert_row, when_inserted

    records = _RECORDS[type(instance)]
    using_row = router.db_for_write(type(instance), instance=instance)
    instance.skip_history_when_saving = True  # the row is written below, not by post_save
    try:
        insert_row(instance)
    except BaseException:
        del instance.skip_history_when_saving
        raise
    # After post_save, which may be sent only when an `inserts_together` block ends.
    when_inserted(using_row, lambda: delattr(instance, "skip_history_when_saving"))
    if not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        return
    using = instance._state.db if records.use_base_model_db else None
    history_date = getattr(instance, "_history_date", timezone.now())
    history_user = records.get_history_user(instance)
    history_change_reason = records.get_change_reason_for_object(instance, "+", using)
    model = records.history_model
    attrs = {
        field.attname: getattr(instance, field.attname)
        for field in records.fields_included(instance)
    }
    if getattr(model, "history_relation", None) is not None:
        attrs["history_relation"] = instance
    history_instance = model(
        history_date=history_date,
        history_type="+",
        history_user=history_user,
        history_change_reason=history_change_reason,
        **attrs,
    )
    signal_arguments = {
        "sender": model,
        "instance": instance,
        "history_date": history_date,
        "history_user": history_user,
        "history_change_reason": history_change_reason,
        "history_instance": history_instance,
        "using": using,
    }
    pre_create_historical_record.send(**signal_arguments)
    if using is None:
        insert_row(history_instance)
    else:
        history_instance.save(using=using)

    def created() -> None:
        records.create_historical_record_m2ms(history_instance, instance)
        post_create_historical_record.send(**signal_arguments)

    when_inserted(router.db_for_write(model, instance=history_instance), created)


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


def history_token(instance) -> str:
    """A token that changes whenever a history row is written for `instance`.

    Count and highest id together: on PostgreSQL ids come from a sequence, so a transaction that
    took a lower id can commit after a higher one; the count still moves when it does. Forms
    carry the token they were loaded with to spot an edit made in the meantime.
    """
    from django.db.models import Count, Max

    history = getattr(instance, instance._meta.simple_history_manager_attribute)
    figures = history.aggregate(rows=Count("pk"), last=Max("pk"))
    return f"{figures['rows']}-{figures['last'] or 0}"


# Moved by every save, so they tell nothing about what changed.
UNTOLD_FIELDS = {"created_at", "updated_at"}


@dataclasses.dataclass(frozen=True)
class Change:
    """One saved version of an object: who saved it, when, and which fields it changed."""

    by: str
    at: datetime.datetime
    fields: list[tuple[str, object, object]]  # (verbose field name, old value, new value)


def changes_since(instance, token: str) -> list[Change]:
    """The versions of `instance` saved after the one `token` (from `history_token`) named.

    Rows are those not yet counted when the token was taken: the newest `rows now - rows then`,
    oldest first, each compared with the version before it.
    """
    try:
        rows_then = int(token.split("-", 1)[0])
    except ValueError:
        rows_then = 0
    history = getattr(instance, instance._meta.simple_history_manager_attribute)
    records = list(history.select_related("history_user").order_by("history_date", "pk"))
    changes = []
    for index in range(max(rows_then, 1), len(records)):
        record, before = records[index], records[index - 1]
        fields = [
            (
                str(field.verbose_name),
                getattr(before, field.attname),
                getattr(record, field.attname),
            )
            for field in instance._meta.concrete_fields
            if field.name not in UNTOLD_FIELDS
            and hasattr(record, field.attname)
            and getattr(before, field.attname) != getattr(record, field.attname)
        ]
        user = record.history_user
        by = (user.get_full_name() or user.get_username()) if user else "the system"
        changes.append(Change(by=by, at=record.history_date, fields=fields))
    return changes
