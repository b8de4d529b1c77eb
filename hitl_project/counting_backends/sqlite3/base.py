"""Django's SQLite backend with django-prometheus's metrics (hitl_project.counting_backends)."""

from django.db.backends.sqlite3 import base
from django_prometheus.db.common import DatabaseWrapperMixin

from hitl_project.counting_backends import counting_cursor_class


class DatabaseWrapper(DatabaseWrapperMixin, base.DatabaseWrapper):
    def create_cursor(self, name=None):
        cursor_class = counting_cursor_class(base.SQLiteCursorWrapper, self.alias, self.vendor)
        return self.connection.cursor(factory=cursor_class)
