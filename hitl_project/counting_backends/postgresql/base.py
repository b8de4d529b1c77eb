"""Django's PostgreSQL backend with django-prometheus's metrics (hitl_project.counting_backends)."""

from django.db.backends.postgresql import base
from django_prometheus.db.common import DatabaseWrapperMixin

from hitl_project.counting_backends import counting_cursor_class


class DatabaseWrapper(DatabaseWrapperMixin, base.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        params["cursor_factory"] = counting_cursor_class(
            params["cursor_factory"], self.alias, self.vendor
        )
        return params

    def create_cursor(self, name=None):
        # psycopg already makes counting cursors (the factory above); the mixin's create_cursor
        # is for other drivers.
        return base.DatabaseWrapper.create_cursor(self, name=name)
