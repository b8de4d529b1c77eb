"""The journey page's shadow-mode panel: the mode, the agreement figures, the go-live sign-off
and "Back to shadow", each a labelled button to a small form that calls its service.

Mixed into JourneyAdmin. Only a manager of the journey sees the buttons and opens the forms
(the services check again when the form is sent); everyone who may view the journey sees the
mode, the figures and the past sign-offs.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from oversight.exceptions import DomainError
from oversight.metrics.agreement import agreement_for
from oversight.models import IssuedReport, ReportKind
from oversight.services.authority import manages_scope
from oversight.services.golive import MIN_SIGN_OFF_DECISIONS, return_to_shadow, sign_off_go_live

SIGN_OFFS_SHOWN = 10


class GoLiveForm(forms.Form):
    target_agreement = forms.DecimalField(
        label="Target agreement",
        min_value=0.5,
        max_value=1,
        decimal_places=4,
        initial="0.90",
        help_text="Share of shadow decisions whose final decision approved the AI's proposal, "
        "from 0.5 to 1 (0.9 = 90 %).",
    )
    min_decisions = forms.IntegerField(
        label="At least this many shadow decisions",
        min_value=MIN_SIGN_OFF_DECISIONS,
        initial=100,
        help_text=f"No fewer than {MIN_SIGN_OFF_DECISIONS}.",
    )
    note = forms.CharField(
        label="Note",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="What was reviewed, by whom, anything the record should say.",
    )


class BackToShadowForm(forms.Form):
    reason = forms.CharField(
        label="Why the journey goes back to shadow",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )


def percent(value) -> str:
    return "–" if value is None else f"{float(value) * 100:.1f} %"


def agreement_rows(items) -> list[dict]:
    rows = []
    for item in items:
        interval = item.interval
        rows.append(
            {
                "label": item.label,
                "decided": item.decided,
                "agreed": item.agreed,
                "rate": percent(item.rate),
                "interval": f"{percent(interval[0])} – {percent(interval[1])}" if interval else "–",
            }
        )
    return rows


def shadow_panel(request, journey) -> dict:
    """What the journey page shows about its mode: figures, buttons, past sign-offs."""
    figures = agreement_for(journey) if journey.is_shadow else None
    manages = manages_scope(request.user, journey=journey)
    sign_offs = list(
        journey.go_live_sign_offs.select_related("signed_off_by").order_by("-signed_off_at")[
            :SIGN_OFFS_SHOWN
        ]
    )
    reports = {}
    if sign_offs and request.user.has_perm("oversight.view_issuedreport"):
        for report in IssuedReport.objects.filter(
            kind=ReportKind.GO_LIVE,
            params__sign_off__in=[str(s.pk) for s in sign_offs],
        ).only("id", "params"):
            reports[report.params["sign_off"]] = reverse(
                "admin:oversight_issuedreport_download", args=[report.pk]
            )
    buttons = []
    if manages and journey.is_shadow:
        buttons.append(
            {
                "url": reverse("admin:oversight_journey_go_live", args=[journey.pk]),
                "label": "Sign off go-live",
            }
        )
    if manages and not journey.is_shadow:
        buttons.append(
            {
                "url": reverse("admin:oversight_journey_back_to_shadow", args=[journey.pk]),
                "label": "Back to shadow",
            }
        )
    return {
        "journey": journey,
        "figures": figures,
        "overall": agreement_rows([figures.overall])[0] if figures else None,
        "by_band": agreement_rows(figures.by_band) if figures else [],
        "by_point": agreement_rows(figures.by_point) if figures else [],
        "buttons": buttons,
        "sign_offs": [
            {
                "record": sign_off,
                "agreement": percent(sign_off.agreement),
                "interval": f"{percent(sign_off.interval_low)} – {percent(sign_off.interval_high)}",
                "target": percent(sign_off.target_agreement),
                "report_url": reports.get(str(sign_off.pk)),
            }
            for sign_off in sign_offs
        ],
    }


class GoLiveAdminMixin:
    """URLs and views of the go-live sign-off and "Back to shadow" on the journey admin."""

    def go_live_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/go-live/",
                view(self.go_live_view),
                name="oversight_journey_go_live",
            ),
            path(
                "<path:object_id>/back-to-shadow/",
                view(self.back_to_shadow_view),
                name="oversight_journey_back_to_shadow",
            ),
        ]

    def _managed_journey(self, request, object_id):
        journey = self.scoped_object(request, object_id)
        if journey is None or not manages_scope(request.user, journey=journey):
            raise PermissionDenied
        return journey

    def go_live_view(self, request, object_id):
        journey = self._managed_journey(request, object_id)
        form = GoLiveForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            data = form.cleaned_data
            try:
                sign_off_go_live(
                    journey=journey,
                    by=request.user,
                    target_agreement=data["target_agreement"],
                    min_decisions=data["min_decisions"],
                    note=data["note"],
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(
                    request,
                    f"{journey} is live. The go-live evaluation PDF is being generated.",
                    messages.SUCCESS,
                )
                return redirect(reverse("admin:oversight_journey_change", args=[journey.pk]))
        return self._mode_form(request, journey, form, title=f"Sign off go-live of {journey}")

    def back_to_shadow_view(self, request, object_id):
        journey = self._managed_journey(request, object_id)
        form = BackToShadowForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            try:
                return_to_shadow(
                    journey=journey, by=request.user, reason=form.cleaned_data["reason"]
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(
                    request,
                    f"{journey} is back in shadow: every call goes to a person.",
                    messages.SUCCESS,
                )
                return redirect(reverse("admin:oversight_journey_change", args=[journey.pk]))
        return self._mode_form(request, journey, form, title=f"Return {journey} to shadow")

    def _mode_form(self, request, journey, form, *, title):
        return TemplateResponse(
            request,
            "admin/oversight/journey/mode_form.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": title,
                "journey": journey,
                "form": form,
                "panel": shadow_panel(request, journey),
            },
        )
