from django.contrib import admin
from django.urls import include, path

from hitl_project.api_docs import docs_view, schema_view

admin.site.site_header = "HITL Oversight"
admin.site.site_title = "HITL Oversight"
admin.site.index_title = "Human oversight of AI and automation"

urlpatterns = [
    path("admin/two-factor/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("oversight.api.urls")),
    path("api/schema/", schema_view, name="schema"),
    path("api/docs/", docs_view, name="api-docs"),
]
