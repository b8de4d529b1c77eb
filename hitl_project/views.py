"""Site-level pages outside the admin and the API: the favicon and the front door.

There is no public site: the product is its admin and its API, so "/" leads to the admin.
"""

from django.conf import settings
from django.http import FileResponse
from django.shortcuts import redirect
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

FAVICON = settings.BASE_DIR / "static" / "favicon.ico"


@require_safe
@cache_control(max_age=86400, public=True)
def favicon(request):
    """Browsers ask for /favicon.ico on every page, whatever the HTML says."""
    return FileResponse(FAVICON.open("rb"), content_type="image/x-icon")


@require_safe
def front_door(request):
    return redirect("admin:index")
