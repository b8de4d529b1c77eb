from django.contrib import admin
from django.urls import include, path

from hitl_project.api_docs import docs_view, schema_view
from hitl_project.views import favicon, front_door

admin.site.site_header = "HITL Oversight"
admin.site.site_title = "HITL Oversight"
admin.site.index_title = "Human oversight of AI and automation"
# No public site exists: no "View site" link leading to a 404.
admin.site.site_url = None

urlpatterns = [
    path("", front_door, name="front-door"),
    path("favicon.ico", favicon, name="favicon"),
    path("admin/two-factor/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("oversight.api.urls")),
    path("api/schema/", schema_view, name="schema"),
    path("api/docs/", docs_view, name="api-docs"),
    # Health checks and Prometheus metrics (operations/): no login, see docs/operations.md.
    path("", include("operations.urls")),
]
