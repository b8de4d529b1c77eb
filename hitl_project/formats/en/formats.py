"""The same output formats as en_GB (see there), should the site's language be plain English."""

from hitl_project.formats.en_GB.formats import (  # noqa: F401
    DATE_FORMAT,
    DATETIME_FORMAT,
    SHORT_DATE_FORMAT,
    SHORT_DATETIME_FORMAT,
    TIME_FORMAT,
)
