"""Percentiles on PostgreSQL sort with more memory than the server's default, for their own
transaction only: the connection's setting is what it was once the transaction ends."""

import pytest
from django.db import connection, transaction

from oversight.metrics import time_to_decision
from oversight.metrics.analytic_queries import ANALYTIC_SETTINGS
from tests.oversight.test_metrics import MAY, Data


def work_mem() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW work_mem")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_the_sort_memory_lasts_as_long_as_the_transaction_of_the_percentile(postgres_only):
    Data()
    before = work_mem()
    assert before != ANALYTIC_SETTINGS["work_mem"]  # otherwise this test would prove nothing

    assert time_to_decision(period=MAY).count == 5
    assert work_mem() == before  # its own transaction ended with it

    with transaction.atomic():
        assert time_to_decision(period=MAY).count == 5
        assert work_mem() == ANALYTIC_SETTINGS["work_mem"]  # inside the caller's transaction
    assert work_mem() == before
