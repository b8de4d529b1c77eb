"""Verification streams the ledger: its memory does not grow with the number of events."""

import datetime
import tracemalloc

import pytest

from audit.services.ledger import verify_ledger
from tests.audit.conftest import write_ledger

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
CHUNK = 1000
# Loading 20,000 of these events at once takes about 20 MiB of Python objects (measured with
# list(values_list(...))); reading them chunk by chunk, a few hundred KiB.
BOUND = 4 * 1024 * 1024


def peak_bytes(call) -> int:
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_verifying_ten_times_the_events_takes_no_more_memory():
    write_ledger(2_000, start=START)
    small = peak_bytes(lambda: verify_ledger(chunk_size=CHUNK))

    head = write_ledger(18_000, start=START)
    result = verify_ledger(chunk_size=CHUNK)
    assert (result.ok, result.count, result.head_hash) == (True, 20_000, head[1])
    large = peak_bytes(lambda: verify_ledger(chunk_size=CHUNK))

    assert large < small * 1.5, (small, large)
    assert large < BOUND, large
