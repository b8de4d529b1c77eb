from django.contrib import admin
from django.urls import path

admin.site.site_header = "HITL Oversight"
admin.site.site_title = "HITL Oversight"
admin.site.index_title = "Human oversight of AI and automation"

urlpatterns = [
    path("admin/", admin.site.urls),
]
