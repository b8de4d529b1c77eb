"""INSERTs sent together (`inserts_together`): one statement on PostgreSQL, each row as
`insert_row` writes it alone, its post_save sent once it is written; nothing at all if the block
fails. On SQLite the block changes nothing: every INSERT is sent at once."""

import pytest
from django.db import connection, transaction
from django.db.models.signals import post_save

from audit.models import AuditEvent
from audit.row_insert import insert_row, inserts_together, when_inserted
from tests.factories import pending_event

pytestmark = pytest.mark.django_db


def test_a_blocks_inserts_are_one_statement_and_post_save_follows_the_write(
    django_assert_num_queries,
):
    seen = []

    def saved(sender, instance, created, **kwargs):
        # The row is in the database when post_save is sent, as with save().
        seen.append((instance.object_id, AuditEvent.objects.filter(pk=instance.pk).exists()))

    post_save.connect(saved, sender=AuditEvent, dispatch_uid="test_row_insert_saved")
    try:
        events = [pending_event(n) for n in range(3)]
        inserts = 1 if connection.vendor == "postgresql" else 3
        with (
            transaction.atomic(),
            django_assert_num_queries(inserts + 3),  # + the receiver's 3 look-ups
            inserts_together(),
        ):
            for event in events:
                insert_row(event)
            when_inserted("default", lambda: seen.append(("callback", None)))
            if connection.vendor == "postgresql":
                assert seen == [] and all(event.pk is None for event in events)
    finally:
        post_save.disconnect(sender=AuditEvent, dispatch_uid="test_row_insert_saved")

    assert seen == [("0", True), ("1", True), ("2", True), ("callback", None)]
    ids = [event.pk for event in events]
    assert ids == sorted(ids) and len(set(ids)) == 3
    stored = AuditEvent.objects.filter(pk__in=ids).order_by("pk")
    assert [(e.object_id, e.payload, e._state.adding) for e in stored] == [
        (str(n), {"n": n}, False) for n in range(3)
    ]
    assert all(not event._state.adding for event in events)


def test_a_failing_block_writes_nothing_and_inserts_after_it_go_at_once(
    django_assert_num_queries,
):
    with pytest.raises(ValueError), transaction.atomic(), inserts_together():
        insert_row(pending_event(1))
        raise ValueError("the block fails before its end")
    assert not AuditEvent.objects.filter(action="test.together").exists()

    with django_assert_num_queries(1):
        event = insert_row(pending_event(2))
    assert AuditEvent.objects.filter(pk=event.pk, object_id="2").exists()


def test_a_block_inside_a_block_goes_with_the_outer_one(django_assert_num_queries):
    inserts = 1 if connection.vendor == "postgresql" else 2
    with transaction.atomic(), django_assert_num_queries(inserts), inserts_together():
        first = insert_row(pending_event(1))
        with inserts_together():
            second = insert_row(pending_event(2))
    assert AuditEvent.objects.filter(pk__in=[first.pk, second.pk]).count() == 2
