from django.urls import path

from oversight.api import views
from oversight.api.approval_key import ApprovalKeyView
from oversight.api.corrections import CorrectionsView
from oversight.api.memory import PrecedentsView

app_name = "api"

urlpatterns = [
    path("ping/", views.PingView.as_view(), name="ping"),
    path("journeys/", views.JourneyListView.as_view(), name="journey-list"),
    path("gate/", views.GateView.as_view(), name="gate"),
    path("cases/", views.CaseListView.as_view(), name="case-list"),
    path("cases/<uuid:case_id>/", views.CaseDetailView.as_view(), name="case-detail"),
    path("outcomes/", views.OutcomeView.as_view(), name="outcome-create"),
    path("corrections/", CorrectionsView.as_view(), name="corrections"),
    path("precedents/", PrecedentsView.as_view(), name="precedents"),
    path("approval-key/", ApprovalKeyView.as_view(), name="approval-key"),
]
