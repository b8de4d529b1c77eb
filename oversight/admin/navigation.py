"""The admin index's app list and the nav sidebar show each role the lists of its work.

The table is `oversight.roles.ROLE_ADMIN_LINKS`. Only the site-wide list is trimmed (the index
and the sidebar); an app's own index page and every URL answer exactly as permissions say.
"""

from django.contrib import admin

from oversight.roles import ROLE_ADMIN_LINKS


def shown_links(user) -> frozenset[str] | None:
    """The model labels a person's home links to; None means every list they may view."""
    if user.is_superuser:
        return None
    roles = [
        name for name in user.groups.values_list("name", flat=True) if name in ROLE_ADMIN_LINKS
    ]
    if not roles:
        return None
    return frozenset().union(*(ROLE_ADMIN_LINKS[role] for role in roles))


def trim_app_list(app_list: list[dict], shown: frozenset[str] | None) -> list[dict]:
    if shown is None:
        return app_list
    trimmed = []
    for app in app_list:
        models = [
            model
            for model in app["models"]
            if f"{app['app_label']}.{model['object_name']}" in shown
        ]
        if models:
            trimmed.append({**app, "models": models})
    return trimmed


def install(site: admin.AdminSite) -> None:
    original = site.get_app_list

    def get_app_list(request, app_label=None):
        app_list = original(request, app_label)
        if app_label is not None:
            return app_list  # an app's own index: every list the person may view
        user = request.user
        cached = getattr(request, "_hitl_shown_links", False)
        if cached is False:
            cached = request._hitl_shown_links = shown_links(user)
        return trim_app_list(app_list, cached)

    site.get_app_list = get_app_list


install(admin.site)
