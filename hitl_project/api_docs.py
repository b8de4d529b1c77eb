"""The API's schema and Swagger UI, open or for signed-in staff only (API_DOCS_PUBLIC).

The schema lists every endpoint, field and example: harmless for a public product, but a map
for an attacker of a private deployment. With DEBUG=0 the default is staff only; the setting
is read on each request, so tests and operators can change it without a new URLconf.
"""

from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.urls import reverse
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView


def staff_unless_public(view):
    """Send anyone but active staff to the admin login, unless API_DOCS_PUBLIC is on."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not settings.API_DOCS_PUBLIC and not (user.is_active and user.is_staff):
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        return view(request, *args, **kwargs)

    return wrapped


schema_view = staff_unless_public(SpectacularAPIView.as_view())
# The split view serves its initialising script from its own URL (?script=): no inline script.
docs_view = staff_unless_public(SpectacularSwaggerSplitView.as_view(url_name="schema"))
