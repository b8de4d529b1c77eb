"""The admin index's app list and the nav sidebar show each role the lists of its work.

The table is `oversight.roles.ROLE_ADMIN_LINKS`. Only the site-wide list is trimmed (the index
and the sidebar); an app's own index page and every URL answer exactly as permissions say.
"""

from django.contrib import admin
from django.contrib.auth.backends import ModelBackend

from oversight.roles import ROLE_ADMIN_LINKS, ROLE_PERMISSIONS


def roles_of(user) -> list[str]:
    """The roles whose permissions a person's groups give them in full, read from the
    permission cache the admin has already filled for the page (no query of its own).

    A role whose permissions are all inside another matched role's (the reviewer's inside the
    manager's) is dropped: the person holds the larger role.
    """
    held = ModelBackend().get_group_permissions(user)
    matched = [role for role, perms in ROLE_PERMISSIONS.items() if set(perms) <= held]
    return [
        role
        for role in matched
        if not any(
            other != role and set(ROLE_PERMISSIONS[role]) < set(ROLE_PERMISSIONS[other])
            for other in matched
        )
    ]


def shown_links(user) -> frozenset[str] | None:
    """The model labels a person's home links to; None means every list they may view."""
    if user.is_superuser:
        return None
    roles = roles_of(user)
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
        return trim_app_list(app_list, shown_links(request.user))

    site.get_app_list = get_app_list


install(admin.site)
