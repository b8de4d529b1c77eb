from django.urls import path

from operations import views
from operations.metrics.views import metrics

urlpatterns = [
    path("health/live/", views.live, name="health-live"),
    path("health/ready/", views.ready, name="health-ready"),
    path("metrics", metrics, name="metrics"),
]
