"""The ledger sealer: one process that chains the events case openings record (PostgreSQL).

Without it, each case opening seals after its commit (`sealing.seal_recorded`), and the one
that takes the sealing lock seals everyone's pending events. With it (`manage.py seal_ledger`,
started beside the web server by `make serve`), the sealer holds the sealing lock for as long
as its database session lives, so every case opening finds the lock taken and leaves its event
to the sealer, which looks for pending events every `poll` seconds and chains them in batches:
the request spends one statement on the chain (its look at the lock), and no transaction, wait
or WAL flush (issue #17).

The chain's rules do not change: a batch is sealed by the same transaction as a case opening's
own seal (`own_batch.seal_batch_with`), under the same head lock. What changes is when an event
is chained: within about `poll` seconds of its commit rather than before the request answers.
If the sealer stops or its session ends, its lock goes with it and case openings seal their own
batches again, the first of them everything left pending.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.db import Error, connection

from audit.services import sealing

logger = logging.getLogger(__name__)

# How long the sealer sleeps between looks for pending events. Events wait at most about this
# long (plus one batch) for their place in the chain; a look that finds nothing is one index
# look-up, so an idle sealer costs next to nothing.
POLL_SECONDS = 0.02

# After losing its database session, the sealer tries again this often.
RECONNECT_SECONDS = 1.0

# A standby (a second sealer) tries the sealing lock this often. A case opening that finds the
# lock free between the sealer's end and the standby's next try seals its own batch meanwhile.
STANDBY_SECONDS = 0.1


class SealerNotSupported(RuntimeError):
    """The database is not PostgreSQL: each write seals its own batch there (SQLite)."""


def run_sealer(
    *,
    poll: float = POLL_SECONDS,
    should_stop: Callable[[], bool] = lambda: False,
    on_lock: Callable[[], None] = lambda: None,
) -> int:
    """Hold the sealing lock and seal pending events until `should_stop()`; returns how many.

    A second sealer tries the lock until it gets it (a standby), and stops when asked.
    `on_lock` is called each time the lock is taken. On the way out the lock is released and
    what is still pending is sealed, under the rule every holder follows
    (`sealing._sealed_after_commit`).
    """
    if connection.vendor != "postgresql":
        raise SealerNotSupported(
            "The ledger sealer runs on PostgreSQL only; on SQLite each write seals its own "
            "batch, and nothing else is needed."
        )
    sealed = 0
    while not should_stop():
        try:
            if not _take_lock(should_stop):
                break
            on_lock()
            try:
                while not should_stop():
                    sealed += sealing.seal_batch_held()
                    # Also after a batch: under load the next one then seals everything the
                    # pause let accumulate, one transaction for many case openings.
                    time.sleep(poll)
            finally:
                _release_lock()
            # What was committed while it held the lock, unless a standby took it over.
            sealed += sealing.seal_pending(wait_seconds=0)
        except Error:
            logger.exception("The ledger sealer lost its database session; reconnecting.")
            connection.close()
            time.sleep(RECONNECT_SECONDS)
    return sealed


def _take_lock(should_stop: Callable[[], bool]) -> bool:
    """The session's hold of the sealing lock, tried every STANDBY_SECONDS while another sealer
    holds it (a standby): False if `should_stop()` first. A try, not a wait in the database,
    so that a standby stops at once on SIGTERM."""
    while not should_stop():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [sealing.SEALING_LOCK])
            if cursor.fetchone()[0]:
                return True
        time.sleep(STANDBY_SECONDS)
    return False


def _release_lock() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [sealing.SEALING_LOCK])
    except Error:  # the session is gone, and its lock with it
        connection.close()
