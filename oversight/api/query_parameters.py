"""Query parameters of the API: only the documented ones, and only values the database takes.

PostgreSQL refuses NUL in a query and Python refuses dates that do not exist; both used to
surface as 500s. Every refusal is a ValidationError naming the parameter (a 400).
"""

import datetime

from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ValidationError

from oversight.json_guard import UnsafeJSON, check_text, field_path


def check_query_parameters(params, *, allowed: tuple[str, ...]) -> None:
    """Refuse unknown, repeated, NUL-bearing (or lone-surrogate) parameters, naming each."""
    errors: dict[str, list[str]] = {}
    for name, values in params.lists():
        where = field_path("", name) or '""'
        try:
            check_text(name, path=where, what="parameter name")
            for value in values:
                check_text(value, path=where, what="value")
        except UnsafeJSON as error:
            errors[where] = [error.problem]
            continue
        if name not in allowed:
            reads = ", ".join(allowed) or "no query parameters"
            errors[where] = [f"Unknown query parameter; this endpoint reads {reads}."]
        elif len(values) > 1:
            errors[where] = ["Give this parameter once."]
    if errors:
        raise ValidationError(errors)


def parse_updated_since(text: str, name: str = "updated_since") -> datetime.datetime:
    """An ISO 8601 time with a zone that the database can compare (year 1 to 9999 in UTC)."""
    try:
        moment = parse_datetime(text)
        if moment is not None and moment.tzinfo is not None:
            moment.astimezone(datetime.UTC)  # 9999-12-31T23:59-01:00 is past the year 9999
            return moment
    except (ValueError, OverflowError):
        pass
    raise ValidationError({name: ["Use an ISO 8601 time with a zone, e.g. 2026-03-03T09:00Z."]})


def check_page_number(params, name: str, *, allow_last: bool = False) -> None:
    value = params.get(name)
    if value is None or (allow_last and value == "last"):
        return
    if not (value.isascii() and value.isdigit() and int(value) >= 1):
        raise ValidationError({name: ["Use a whole number from 1."]})
