"""A case opened by `open_case` (its INSERTs written once: audit/row_insert.py,
oversight/services/case_points.py) stores the rows the ORM's way stores: the case, its
simple-history row, its judgement points and its `case.opened` event, compared column by column
with a case written by `case.save()`, `case.judgement_points.add()` and `AuditEvent.save()`
(this runs on SQLite and, with DATABASE_URL, on PostgreSQL)."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models.signals import m2m_changed

from audit.models import AuditEvent
from audit.row_insert import insert_row
from audit.services.ledger import Actor, _new_event
from oversight.models import Case
from oversight.services.case_opening import open_case
from oversight.services.case_points import add_judgement_points
from oversight.services.gate import GateRequest, ProposedAction
from tests.factories import AuthorityLevelFactory, JourneyFactory, JudgementPointFactory

pytestmark = pytest.mark.django_db

OPENED = datetime.datetime(2026, 3, 3, 9, 12, 0, 123456, tzinfo=datetime.UTC)
REQUEST = GateRequest(
    journey="refunds",
    action=ProposedAction(type="refund", amount=Decimal("620.00"), currency="EUR"),
    signals={"confidence": 0.58},
    context={"order_id": "A-10023", "note": "naïve ☃", "nested": {"a": [1, None, True]}},
    proposal={"reply": "Your refund is on its way."},
    subject_ref="cust-4821",
)


def rows(model, where: str, value) -> list[dict]:
    """The stored rows as the database holds them, every concrete column, by the raw cursor."""
    quote = connection.ops.quote_name
    columns = [field.column for field in model._meta.local_concrete_fields]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(model._meta.db_table)}"
            f" WHERE {quote(where)} = %s ORDER BY 1",
            [value],
        )
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def case_rows(case: Case) -> dict:
    case_id = Case._meta.pk.get_db_prep_value(case.pk, connection)
    through = Case.judgement_points.through
    history = Case.history.model
    [case_row] = rows(Case, "id", case_id)
    [history_row] = rows(history, "id", case_id)
    points = rows(through, "case_id", case_id)
    [event] = rows(AuditEvent, "object_id", str(case.pk))
    for row in (case_row, history_row, event):
        row.pop("id")
    case_row.pop("updated_at")  # auto_now: the time of the write
    history_row.pop("history_id")
    history_row.pop("history_date")  # timezone.now() at the write
    event.pop("object_id")
    event.pop("occurred_at")
    return {
        "case": case_row,
        "history": history_row,
        "points": sorted(row["judgementpoint_id"] for row in points),
        "point_rows": len(points),
        "event": event,
    }


def by_the_orm(journey, level, points, payload) -> Case:
    """What open_case wrote before its INSERTs were written once."""
    case = Case(
        journey=journey,
        route_reason="trigger",
        priority=3,
        required_level=level,
        four_eyes=True,
        context=REQUEST.context,
        proposal=REQUEST.proposal,
        action_type="refund",
        amount=Decimal("620.00"),
        currency="EUR",
        confidence=0.58,
        confidence_reasons=["Low confidence"],
        options=["approve", "reject"],
        subject_ref="cust-4821",
        sla_deadline=OPENED + datetime.timedelta(minutes=30),
        opened_at=OPENED,
    )
    case._change_reason = f"Opened through the API by AI system {journey.ai_system.slug}"
    case.save()
    del case._change_reason
    case.judgement_points.add(*points)
    actor = Actor.for_ai_system(journey.ai_system)
    event = _new_event(
        actor=actor, action="case.opened", obj=case, object_type="", object_id="", payload=payload
    )
    event.save(force_insert=True)
    return case


def test_open_case_writes_the_rows_the_orm_writes():
    journey = JourneyFactory()
    level = AuthorityLevelFactory()
    points = [JudgementPointFactory(journey=journey) for _ in range(2)]
    ours = open_case(
        journey=journey,
        ai_system=journey.ai_system,
        route_reason="trigger",
        required_level=level,
        sla_deadline=OPENED + datetime.timedelta(minutes=30),
        request=REQUEST,
        priority=3,
        four_eyes=True,
        options=["approve", "reject"],
        confidence_reasons=["Low confidence"],
        opened_at=OPENED,
        judgement_points=points,
    )
    payload = {
        "journey": journey.slug,
        "route_reason": "trigger",
        "evaluation": None,
        "required_level": level.name,
        "reasons": ["Low confidence"],
        "sla_deadline": OPENED + datetime.timedelta(minutes=30),
    }
    theirs = by_the_orm(journey, level, points, payload)

    assert ours.pk != theirs.pk
    assert case_rows(ours) == case_rows(theirs)
    assert case_rows(ours)["point_rows"] == 2
    assert not ours._state.adding and not hasattr(ours, "_change_reason")
    stored = Case.objects.get(pk=ours.pk)
    assert stored.context == REQUEST.context
    assert stored.history.get().history_change_reason == (
        f"Opened through the API by AI system {journey.ai_system.slug}"
    )


def test_an_event_written_once_gets_its_id_from_the_database():
    actor = Actor.system("test")
    first = insert_row(
        _new_event(
            actor=actor, action="x.a", obj=None, object_type="t", object_id="1", payload={"a": 1}
        )
    )
    second = _new_event(
        actor=actor, action="x.b", obj=None, object_type="t", object_id="2", payload={}
    )
    second.save(force_insert=True)
    third = insert_row(
        _new_event(actor=actor, action="x.c", obj=None, object_type="t", object_id="3", payload={})
    )
    assert first.pk < second.pk < third.pk
    assert AuditEvent.objects.get(pk=third.pk).action == "x.c"
    assert not third._state.adding


def test_repeated_points_are_added_once_as_add_does():
    journey = JourneyFactory()
    level = AuthorityLevelFactory()
    point = JudgementPointFactory(journey=journey)
    case = Case.objects.create(
        journey=journey, route_reason="trigger", required_level=level, sla_deadline=OPENED
    )
    add_judgement_points(case, [point, point])
    assert list(case.judgement_points.all()) == [point]


def test_with_an_m2m_changed_receiver_the_points_go_through_add(monkeypatch):
    journey = JourneyFactory()
    level = AuthorityLevelFactory()
    points = [JudgementPointFactory(journey=journey) for _ in range(2)]
    case = Case.objects.create(
        journey=journey, route_reason="trigger", required_level=level, sla_deadline=OPENED
    )
    seen = []

    def record(action, pk_set, **kwargs):
        seen.append((action, pk_set))

    through = Case.judgement_points.through
    m2m_changed.connect(record, sender=through, weak=False)
    try:
        add_judgement_points(case, points)
    finally:
        m2m_changed.disconnect(record, sender=through)
    assert seen == [("pre_add", {p.pk for p in points}), ("post_add", {p.pk for p in points})]
    assert set(case.judgement_points.all()) == set(points)


def test_history_signals_and_user_are_simple_historys():
    """The history row of insert_with_history comes with simple-history's two signals, once
    each, and takes the user it would take (here `_history_user`), as `save()` does."""
    from simple_history.signals import post_create_historical_record, pre_create_historical_record

    from audit.history import insert_with_history
    from tests.factories import UserFactory

    journey = JourneyFactory()
    level = AuthorityLevelFactory()
    user = UserFactory()
    seen = []

    def record(signal, history_instance, history_user, history_change_reason, using, **kwargs):
        seen.append(
            (
                signal,
                history_instance.history_type,
                history_user,
                history_change_reason,
                using,
                history_instance.history_date,
            )
        )

    def new_case():
        case = Case(
            journey=journey, route_reason="trigger", required_level=level, sla_deadline=OPENED
        )
        case._history_user = user
        case._change_reason = "why"
        return case

    history = Case.history.model
    for signal in (pre_create_historical_record, post_create_historical_record):
        signal.connect(record, sender=history, weak=False)
    try:
        new_case().save()
        by_save, seen[:] = list(seen), []
        ours = new_case()
        insert_with_history(ours)
    finally:
        for signal in (pre_create_historical_record, post_create_historical_record):
            signal.disconnect(record, sender=history)
    assert (
        [entry[:5] for entry in seen]
        == [entry[:5] for entry in by_save]
        == [
            (pre_create_historical_record, "+", user, "why", None),
            (post_create_historical_record, "+", user, "why", None),
        ]
    )
    assert seen[0][5] == seen[1][5]
    stored = ours.history.get()
    assert (stored.history_user, stored.history_change_reason) == (user, "why")


def test_points_with_levels_reads_what_the_orms_query_reads(django_assert_num_queries):
    from oversight.models import JudgementPoint
    from oversight.services.case_points import points_with_levels

    journey = JourneyFactory()
    levels = [AuthorityLevelFactory() for _ in range(2)]
    points = [
        JudgementPointFactory(journey=journey, required_level=levels[n % 2], slug=f"p-{3 - n}")
        for n in range(3)
    ]
    ids = [points[0].pk, points[2].pk, points[0].pk]
    by_orm = list(
        JudgementPoint.objects.filter(pk__in=ids).select_related("required_level").order_by("slug")
    )
    with django_assert_num_queries(1):
        ours = points_with_levels(ids)
        levels_read = [point.required_level for point in ours]  # cached: no query
    assert ours == by_orm and [p.slug for p in ours] == ["p-1", "p-3"]

    def values(instance):
        return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}

    assert [values(p) for p in ours] == [values(p) for p in by_orm]
    assert [values(lvl) for lvl in levels_read] == [values(p.required_level) for p in by_orm]
    assert all(not p._state.adding and p._state.db == "default" for p in ours)
    assert points_with_levels([]) == []


def test_a_case_opened_with_an_m2m_changed_receiver_gets_its_points_through_add():
    """Inside open_case the case's row is written at the end of its block (one statement on
    PostgreSQL): `add()` runs only once it exists, and sends its signals as ever."""
    journey = JourneyFactory()
    level = AuthorityLevelFactory()
    points = [JudgementPointFactory(journey=journey, required_level=level) for _ in range(2)]
    seen = []

    def record(action, pk_set, instance, **kwargs):
        # The receivers see the case stored, as after case.save() and add().
        seen.append((action, pk_set, Case.objects.filter(pk=instance.pk).exists()))

    through = Case.judgement_points.through
    m2m_changed.connect(record, sender=through, weak=False)
    try:
        case = open_case(
            journey=journey,
            ai_system=journey.ai_system,
            route_reason="trigger",
            required_level=level,
            sla_deadline=OPENED,
            request=REQUEST,
            judgement_points=points,
        )
    finally:
        m2m_changed.disconnect(record, sender=through)
    ids = {p.pk for p in points}
    assert seen == [("pre_add", ids, True), ("post_add", ids, True)]
    assert set(Case.objects.get(pk=case.pk).judgement_points.all()) == set(points)
    assert AuditEvent.objects.filter(action="case.opened", object_id=str(case.pk)).exists()
