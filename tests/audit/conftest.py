"""Helpers for ledger tests: tampering past the database's guard, and big generated ledgers."""

import datetime
import json
from contextlib import contextmanager

import pytest
from django.db import connection

from audit.models import ActorType, AuditEvent, LedgerHead
from audit.services.ledger import GENESIS_HASH, event_hash, ledger_head


@contextmanager
def triggers_bypassed():
    """Switch the database's guard off for the current transaction, as an attacker would.

    On PostgreSQL the evidence tables refuse UPDATE and DELETE (audit/protection.py). Someone
    with superuser rights can still turn triggers off (`session_replication_role = replica`);
    that is exactly why the ledger is hash-chained, and what the tampering tests simulate.
    Needs a transaction: the tests' own (django_db without transaction=True) is one.
    """
    postgres = connection.vendor == "postgresql"
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
    try:
        yield
    finally:
        if postgres:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = DEFAULT")


@pytest.fixture
def tamper():
    return triggers_bypassed


def chained_events(count: int, *, start: datetime.datetime, first: int = 1, prev=GENESIS_HASH):
    """Field values of correctly chained events, one per second from `start`, made one by one."""
    for sequence in range(first, first + count):
        fields = {
            "sequence": sequence,
            "occurred_at": start + datetime.timedelta(seconds=sequence),
            "actor_type": ActorType.SYSTEM.value,
            "actor_id": "",
            "actor_label": "generator",
            "action": "test.generated",
            "object_type": "oversight.case",
            "object_id": str(sequence % 97),
            "payload": {"n": sequence, "note": "généré", "amount": "12.50"},
            "prev_hash": prev,
        }
        prev = event_hash(**fields)
        yield {**fields, "hash": prev}


_COLUMNS = (
    "sequence",
    "occurred_at",
    "actor_type",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "payload",
    "prev_hash",
    "hash",
)


def write_ledger(count: int, *, start: datetime.datetime, batch: int = 1000) -> tuple[int, str]:
    """Append `count` chained events after the head, in batches, and move the head to the last.

    One multi-row INSERT per batch of generated rows, as bulk_create would write them, without
    building model instances (which would take most of the time).
    """
    table = AuditEvent._meta.db_table
    columns = ", ".join(AuditEvent._meta.get_field(name).column for name in _COLUMNS)
    row_placeholders = "(" + ", ".join("%s" for _ in _COLUMNS) + ")"
    adapt_time = connection.ops.adapt_datetimefield_value
    head = ledger_head()
    events = chained_events(count, start=start, first=head[0] + 1, prev=head[1])
    with connection.cursor() as cursor:
        while chunk := [event for _, event in zip(range(batch), events, strict=False)]:
            params = []
            for event in chunk:
                params += [
                    adapt_time(value)
                    if name == "occurred_at"
                    else json.dumps(value)
                    if name == "payload"
                    else value
                    for name, value in ((name, event[name]) for name in _COLUMNS)
                ]
            values = ", ".join([row_placeholders] * len(chunk))
            cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {values}", params)
            head = (chunk[-1]["sequence"], chunk[-1]["hash"])
    LedgerHead.objects.update_or_create(
        singleton=1, defaults={"sequence": head[0], "hash": head[1]}
    )
    return head
