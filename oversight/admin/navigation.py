"""The admin index's app list and the nav sidebar show each role the lists of its work.

The table is `oversight.roles.ROLE_ADMIN_LINKS`. Only the site-wide list is trimmed (the index
and the sidebar); an app's own index page and every URL answer exactly as permissions say.

A person whose only role is Reviewer lands on their queue when they sign in (unless the login
was asked for another page): their home is their work. The index stays theirs to open.
"""

from django.contrib import admin
from django.contrib.auth.backends import ModelBackend
from django.urls import reverse

from oversight.roles import REVIEWER, ROLE_ADMIN_LINKS, ROLE_PERMISSIONS


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


def lands_on_queue(user) -> bool:
    """Whether signing in takes this person straight to their queue: a reviewer and nothing
    more (a team lead who also manages lands on the home page with both panels)."""
    return not user.is_superuser and roles_of(user) == [REVIEWER]


def install(site: admin.AdminSite) -> None:
    original = site.get_app_list
    original_login = site.login

    def login(request, extra_context=None):
        response = original_login(request, extra_context)
        if (
            request.method == "POST"
            and response.status_code == 302
            and request.user.is_authenticated
            and response["Location"] == reverse("admin:index", current_app=site.name)
            and lands_on_queue(request.user)
        ):
            response["Location"] = reverse("admin:oversight_case_queue", current_app=site.name)
        return response

    site.login = login

    def get_app_list(request, app_label=None):
        app_list = original(request, app_label)
        if app_label is not None:
            return app_list  # an app's own index: every list the person may view
        return trim_app_list(app_list, shown_links(request.user))

    site.get_app_list = get_app_list


install(admin.site)
