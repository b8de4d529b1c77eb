"""PostgreSQL timestamps read by psycopg's compiled loader, as Django means to read them.

With psycopg 3, Django registers its own loader for `timestamptz` on every connection
(`django.db.backends.postgresql.psycopg_any.register_tzloader`): psycopg's loader, then the
value's tzinfo replaced by the connection's time zone (UTC here). It subclasses psycopg's
*Python* `TimestamptzLoader`, because the compiled one (psycopg[binary]) cannot be subclassed,
so every timestamp the product reads was parsed in Python: about 5 us each against 0.3 us
(Django ticket #36960, psycopg issue #1273). An API key's read has four, a gate call's nine, an
admin list of 100 cases several hundred.

`FastTzLoader` does the same two steps, holding psycopg's own loader for the type (the compiled
one where psycopg has it, found with the public `AdaptersMap.get_loader`) instead of inheriting
from the Python one. It is registered on each new PostgreSQL connection with the same
`timezone` attribute as Django's, so Django's per-cursor check (`create_cursor`) finds the
connection already agrees and registers nothing more. tests/test_timestamp_loader.py holds the
two to the same values and time zones, year 1 to 9999.
"""

import datetime

from django.db.backends.signals import connection_created
from django.dispatch import receiver

try:
    from psycopg import adapters as psycopg_adapters
    from psycopg.adapt import Loader
    from psycopg.postgres import types as postgres_types
    from psycopg.pq import Format
except ImportError:  # psycopg 3 is a dependency; without it Django's own loader stays
    psycopg_adapters = None

_classes: dict[datetime.tzinfo | None, type] = {}


def fast_tz_loader(timezone: datetime.tzinfo | None) -> type:
    """The loader class for values in `timezone` (None: naive values, as Django's with USE_TZ
    off); one class per time zone, as Django makes one per registration."""
    if timezone not in _classes:
        timestamptz = postgres_types["timestamptz"].oid
        psycopg_loader = psycopg_adapters.get_loader(timestamptz, Format.TEXT)

        class FastTzLoader(Loader):
            def __init__(self, oid, context=None):
                super().__init__(oid, context)
                # Made here, as Django's is: it reads the session's TimeZone from the context.
                self._load = psycopg_loader(oid, context).load

            def load(self, data):
                return self._load(data).replace(tzinfo=timezone)

        FastTzLoader.timezone = timezone  # Django's create_cursor compares it with its own
        _classes[timezone] = FastTzLoader
    return _classes[timezone]


@receiver(connection_created, dispatch_uid="hitl_fast_timestamptz_loader")
def register_fast_tz_loader(sender, connection, **kwargs) -> None:
    if connection.vendor != "postgresql" or psycopg_adapters is None:
        return
    adapters = getattr(connection.connection, "adapters", None)
    if adapters is None:  # psycopg2: Django reads timestamps its own way there
        return
    adapters.register_loader("timestamptz", fast_tz_loader(connection.timezone))
