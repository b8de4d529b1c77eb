"""Admin for the serious-incident register: the list by deadline, and its three forms.

Incidents change only through their services, so the model's own pages are view-only; the
change page carries the buttons a person may press (move forward, move the deadline) and
"Raise a serious incident" sits on the list. Each form's page opens only for someone the
service would let act, and the service checks again.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from audit.local_time import local_time
from oversight.admin.common import ViewOnlyHistoryAdmin
from oversight.admin.incident_forms import (
    AdvanceIncidentForm,
    MoveDeadlineForm,
    RaiseIncidentForm,
)
from oversight.exceptions import DomainError
from oversight.models import (
    Case,
    Decision,
    GuardrailEvaluation,
    Incident,
    IncidentSource,
    Outcome,
)
from oversight.services.incidents import (
    NEXT_STATES,
    advance_incident,
    ai_systems_handled_by,
    may_handle_incidents,
    move_deadline,
    raise_incident,
)
from oversight.services.incidents.deadlines import time_left_words


@admin.register(Incident)
class IncidentAdmin(ViewOnlyHistoryAdmin):
    list_display = [
        "number",
        "title",
        "ai_system",
        "state",
        "incident_class",
        "deadline_shown",
        "time_left",
    ]
    list_display_links = ["number", "title"]
    list_filter = ["state", "incident_class", "ai_system"]
    list_select_related = ["ai_system"]
    search_fields = ["title", "authority_reference"]
    filter_horizontal = []

    @admin.display(description="No.", ordering="pk")
    def number(self, obj):
        return obj.pk

    @admin.display(description="Deadline", ordering="deadline")
    def deadline_shown(self, obj):
        return local_time(obj.deadline) if obj.deadline else "-"

    @admin.display(description="Time left")
    def time_left(self, obj):
        """Days left in words; "overdue" flagged while the authority has not been told."""
        if obj.deadline is None:
            return "no clock yet" if obj.state == "suggested" else "-"
        if not obj.is_open:
            met = obj.deadline_met
            if met is None:
                return obj.get_state_display()
            return "reported in time" if met else "reported late"
        now = timezone.now()
        words = time_left_words(obj.deadline, now)
        if obj.is_overdue(now):
            return format_html('<strong class="incident-overdue">{}</strong>', words)
        return words

    # --- the forms -------------------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("raise/", view(self.raise_view), name="oversight_incident_raise"),
            path(
                "<path:object_id>/advance/",
                view(self.advance_view),
                name="oversight_incident_advance",
            ),
            path(
                "<path:object_id>/deadline/",
                view(self.deadline_view),
                name="oversight_incident_deadline",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra = {}
        if request.user.has_perm("oversight.add_incident"):
            extra["raise_url"] = reverse("admin:oversight_incident_raise")
        return super().changelist_view(request, {**extra, **(extra_context or {})})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        incident = self.scoped_object(request, object_id)
        buttons = []
        if may_handle_incidents(request.user, incident.ai_system):
            if NEXT_STATES[incident.state]:
                buttons.append(("Move forward", "advance"))
            if incident.is_open:
                buttons.append(("Move the deadline", "deadline"))
        extra = {
            "incident_buttons": [
                (label, reverse(f"admin:oversight_incident_{name}", args=[incident.pk]))
                for label, name in buttons
            ]
        }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def _scoped(self, request, model):
        return self.admin_site._registry[model].get_queryset(request)

    def _page(self, request, *, title, form, incident=None, submit="Save"):
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request,
            "admin/oversight/incident/action_form.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": title,
                "incident": incident,
                "form": form,
                "submit": submit,
            },
        )

    def _done(self, request, incident, message):
        self.message_user(request, message, messages.SUCCESS)
        return redirect(reverse("admin:oversight_incident_change", args=[incident.pk]))

    def raise_view(self, request):
        if not request.user.has_perm("oversight.add_incident"):
            raise PermissionDenied
        systems = ai_systems_handled_by(request.user).order_by("name")
        sources = {
            IncidentSource.CASE: self._scoped(request, Case),
            IncidentSource.DECISION: self._scoped(request, Decision),
            IncidentSource.OUTCOME: self._scoped(request, Outcome),
            IncidentSource.GUARDRAIL: GuardrailEvaluation.objects.all(),
        }
        data = request.POST if request.method == "POST" else None
        initial = {k: request.GET[k] for k in ("source", "source_reference") if k in request.GET}
        form = RaiseIncidentForm(data, systems=systems, sources=sources, initial=initial)
        if data is not None and form.is_valid():
            try:
                incident = raise_incident(by=request.user, **form.service_arguments())
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                return self._done(
                    request,
                    incident,
                    f"Raised {incident}. Report to the authority by "
                    f"{local_time(incident.deadline)}.",
                )
        return self._page(request, title="Raise a serious incident", form=form, submit="Raise")

    def _handled(self, request, object_id) -> Incident:
        incident = self.scoped_object(request, object_id)
        if not may_handle_incidents(request.user, incident.ai_system):
            raise PermissionDenied
        return incident

    def advance_view(self, request, object_id):
        incident = self._handled(request, object_id)
        data = request.POST if request.method == "POST" else None
        form = AdvanceIncidentForm(data, incident=incident)
        if data is not None and form.is_valid():
            values = form.cleaned_data
            try:
                incident = advance_incident(
                    incident=incident,
                    by=request.user,
                    to_state=values["to_state"],
                    note=values["note"],
                    at=values.get("at"),
                    authority_reference=values["authority_reference"],
                    incident_class=values["incident_class"] or None,
                    became_aware_at=values.get("became_aware_at"),
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                return self._done(
                    request, incident, f"{incident} is now {incident.get_state_display().lower()}."
                )
        return self._page(
            request, title=f"Move {incident} forward", form=form, incident=incident, submit="Move"
        )

    def deadline_view(self, request, object_id):
        incident = self._handled(request, object_id)
        data = request.POST if request.method == "POST" else None
        form = MoveDeadlineForm(data)
        if data is not None and form.is_valid():
            try:
                incident = move_deadline(
                    incident=incident,
                    by=request.user,
                    deadline=form.cleaned_data["deadline"],
                    reason=form.cleaned_data["reason"],
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                return self._done(
                    request, incident, f"Deadline moved to {local_time(incident.deadline)}."
                )
        return self._page(
            request,
            title=f"Move the deadline of {incident}",
            form=form,
            incident=incident,
            submit="Move the deadline",
        )
