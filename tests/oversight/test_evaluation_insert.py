"""The gate evaluation's INSERT written once (oversight/services/evaluation_insert.py) stores the
same row as GateEvaluation.objects.create: the same evaluation written both ways, the rows
compared column by column (this runs on SQLite and, with DATABASE_URL, on PostgreSQL)."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models.signals import post_save, pre_save

from oversight.models import GateEvaluation
from oversight.models.gate import ImmutableRecordError
from oversight.services.evaluation_insert import insert_evaluation
from tests.factories import JourneyFactory

pytestmark = pytest.mark.django_db

CREATED = datetime.datetime(2026, 3, 3, 9, 12, 0, 123456, tzinfo=datetime.UTC)


def evaluations(journey) -> list[dict]:
    base = {"ai_system": journey.ai_system, "journey": journey, "action_type": "refund"}
    return [
        base | {"route": "automate"},  # every default
        base
        | {
            "created_at": CREATED,
            "irreversible": True,
            "amount": Decimal("1234.50"),
            "currency": "EUR",
            "signals": {"confidence": 0.58, "note": "naïve ☃", "nested": {"a": [1, None, True]}},
            "server_signals": {"missing_context": False, "pii_kinds": []},
            "matched": [{"slug": "low", "version": 3, "fired": [{"value": 0.58}]}],
            "route": "human",
            "reasons": ["Low confidence: confidence is below 0.7 (was 0.58)"],
            "subject_ref": "cust-4821",
            "sampled": True,
        },
        base | {"amount": None, "signals": {}, "route": "automate", "reasons": []},
    ]


def stored_row(pk) -> dict:
    table = connection.ops.quote_name(GateEvaluation._meta.db_table)
    columns = [field.column for field in GateEvaluation._meta.local_concrete_fields]
    with connection.cursor() as cursor:
        quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
        pk_field = GateEvaluation._meta.pk
        where = f"{connection.ops.quote_name(pk_field.column)} = %s"
        cursor.execute(
            f"SELECT {quoted} FROM {table} WHERE {where}",
            [pk_field.get_db_prep_value(pk, connection)],
        )
        row = cursor.fetchone()
    return dict(zip(columns, row, strict=True))


@pytest.mark.parametrize("case", range(3))
def test_the_row_is_the_one_the_orm_writes(case):
    journey = JourneyFactory()
    values = evaluations(journey)[case]
    if "created_at" not in values:
        values = values | {"created_at": CREATED}
    by_orm = GateEvaluation.objects.create(**values)
    written = insert_evaluation(**values)
    orm_row, our_row = stored_row(by_orm.pk), stored_row(written.pk)
    assert orm_row.pop("id") != our_row.pop("id")
    assert our_row == orm_row
    assert GateEvaluation.objects.get(pk=written.pk).signals == values.get("signals", {})


def test_defaults_are_the_models_own():
    journey = JourneyFactory()
    before = datetime.datetime.now(datetime.UTC)
    written = insert_evaluation(ai_system=journey.ai_system, journey=journey, route="automate")
    stored = GateEvaluation.objects.get(pk=written.pk)
    assert stored.created_at == written.created_at >= before
    assert (stored.signals, stored.matched, stored.reasons, stored.amount) == ({}, [], [], None)


def test_the_evaluation_comes_back_saved_and_stays_insert_only():
    journey = JourneyFactory()
    written = insert_evaluation(ai_system=journey.ai_system, journey=journey, route="automate")
    assert not written._state.adding
    assert written._state.db == "default"
    written.route = "human"
    with pytest.raises(ImmutableRecordError):
        written.save()
    with pytest.raises(ImmutableRecordError):
        written.delete()
    assert GateEvaluation.objects.get(pk=written.pk).route == "automate"


def test_save_signals_are_sent_as_save_sends_them():
    journey = JourneyFactory()
    seen = []

    def record(**kwargs):
        seen.append((kwargs["signal"], kwargs.get("created"), kwargs["raw"], kwargs["using"]))

    for signal in (pre_save, post_save):
        signal.connect(record, sender=GateEvaluation, weak=False)
    try:
        GateEvaluation.objects.create(
            ai_system=journey.ai_system, journey=journey, route="automate"
        )
        by_orm, seen[:] = list(seen), []
        insert_evaluation(ai_system=journey.ai_system, journey=journey, route="automate")
    finally:
        for signal in (pre_save, post_save):
            signal.disconnect(record, sender=GateEvaluation)
    assert (
        seen == by_orm == [(pre_save, None, False, "default"), (post_save, True, False, "default")]
    )
