"""Django's database backends with django-prometheus's statement metrics, counted cheaply.

django-prometheus's counting cursor (`django_prometheus.db.common.ExportingCursorWrapper`) asks
its metrics for their labelled series on every statement (`execute_total.labels(alias, vendor)`
and the query-time histogram's, the second by keyword), which converts and checks the label
values under the metric's lock: about a tenth of a gate call's CPU. Within one cursor class the
alias and vendor never change, so the series are looked up once, when the class is made, and
the class is made once per (cursor class, alias, vendor) instead of once per connection.

What is counted, and under which names and labels, is exactly django-prometheus's: the same
metric objects (`django_prometheus.db`), one `execute_total` per statement, `execute_many_total`
and `execute_total` by the number of parameter sets for `executemany`, the statement's time in
`query_duration_seconds` whether it succeeds or not, and a failed statement in `errors_total` by
its exception's type (tests/test_counting_backends.py runs the same statements through both and
compares the deltas). The connection counters stay django-prometheus's own.

Settings name the backend as `hitl_project.counting_backends.postgresql` or `.sqlite3`
(METRICS_DATABASE, hitl_project/settings.py).
"""

from __future__ import annotations

import threading
from timeit import default_timer

from django_prometheus.db import (
    errors_total,
    execute_many_total,
    execute_total,
    query_duration_seconds,
)

_classes: dict[tuple[type, str, str], type] = {}
_lock = threading.Lock()


def counting_cursor_class(cursor_class: type, alias: str, vendor: str) -> type:
    """`cursor_class` with each statement counted and timed under (alias, vendor); the same
    class for the same arguments."""
    key = (cursor_class, alias, vendor)
    made = _classes.get(key)
    if made is None:
        with _lock:
            made = _classes.get(key)
            if made is None:
                made = _classes[key] = _make(cursor_class, alias, vendor)
    return made


def _make(cursor_class: type, alias: str, vendor: str) -> type:
    executed = execute_total.labels(alias, vendor)
    executed_many = execute_many_total.labels(alias, vendor)
    duration = query_duration_seconds.labels(alias, vendor)

    def timed(call, *args, **kwargs):
        """`call`, its time observed whatever happens and a failure counted by its type."""
        start = default_timer()
        try:
            return call(*args, **kwargs)
        except BaseException as error:
            errors_total.labels(alias=alias, vendor=vendor, type=type(error).__name__).inc()
            raise
        finally:
            duration.observe(max(default_timer() - start, 0))

    class CountingCursor(cursor_class):
        def execute(self, *args, **kwargs):
            executed.inc()
            return timed(super().execute, *args, **kwargs)

        def executemany(self, query, param_list, *args, **kwargs):
            executed.inc(len(param_list))
            executed_many.inc(len(param_list))
            return timed(super().executemany, query, param_list, *args, **kwargs)

    CountingCursor.__name__ = CountingCursor.__qualname__ = f"Counting{cursor_class.__name__}"
    return CountingCursor
