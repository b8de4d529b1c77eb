"""Template helpers of the reviewer workspace: untrusted JSON made readable, the queue link.

Everything a case holds in `context`, `proposal` or `final_action` was written by an AI system:
it is rendered through `format_html`, which escapes every key and value, never marked safe.
"""

from django import template
from django.utils.html import format_html, format_html_join

from oversight.admin.common import pretty_json

register = template.Library()

# Deeper than this, a nested table stops helping: the rest is shown as indented JSON.
MAX_DEPTH = 5


def json_html(value, depth: int = 0):
    """A JSON value as nested definition lists (objects) and numbered lists (arrays)."""
    if isinstance(value, dict | list) and not value:
        return format_html('<span class="json-empty">{}</span>', "(empty)")
    if isinstance(value, dict | list) and depth >= MAX_DEPTH:
        return pretty_json(value)
    if isinstance(value, dict):
        rows = format_html_join(
            "",
            "<dt>{}</dt><dd>{}</dd>",
            ((key, json_html(item, depth + 1)) for key, item in value.items()),
        )
        return format_html('<dl class="json-tree">{}</dl>', rows)
    if isinstance(value, list):
        items = format_html_join(
            "", "<li>{}</li>", ((json_html(item, depth + 1),) for item in value)
        )
        return format_html('<ol class="json-list">{}</ol>', items)
    if value is None:
        return format_html('<span class="json-null">{}</span>', "null")
    if isinstance(value, bool):
        return format_html('<span class="json-bool">{}</span>', "true" if value else "false")
    return format_html('<span class="json-text">{}</span>', value)


@register.filter
def json_tree(value):
    """`{{ case.context|json_tree }}`: readable, escaped, never a one-line dump."""
    return json_html(value)


@register.filter
def json_inline(value):
    """A short value on one line (a signal's threshold or actual value), escaped by the caller."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(json_inline(item) for item in value)
    return str(value)


@register.inclusion_tag("admin/oversight/case/includes/queue_panel.html", takes_context=True)
def reviewer_queue_panel(context):
    """The admin index's way in to the queue: shown to whoever may view cases."""
    from oversight.review_selectors import tab_counts

    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("oversight.view_case"):
        return {"show": False}
    return {"show": True, "counts": tab_counts(user)}
