from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from hitl_project.views import favicon, front_door

admin.site.site_header = "HITL Oversight"
admin.site.site_title = "HITL Oversight"
admin.site.index_title = "Human oversight of AI and automation"
# No public site exists: no "View site" link leading to a 404.
admin.site.site_url = None

urlpatterns = [
    path("", front_door, name="front-door"),
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("oversight.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
