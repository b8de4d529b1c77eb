"""Admin for AI systems and their journeys (configuration, every change kept in history).

A manager adds and changes journeys only on the AI systems they manage (superusers on all):
the AI system choices are those, other journeys open view-only, and `save_journey` refuses the
rest whatever the form sent.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from audit.services.ledger import Actor
from oversight.admin.common import HistoryAdmin, StableSlugMixin
from oversight.admin.golive import GoLiveAdminMixin, shadow_panel
from oversight.exceptions import DomainError
from oversight.models import AISystem, Journey
from oversight.services.authority import ai_systems_managed_by, manages_scope
from oversight.services.automation import pause_journey, resume_journey
from oversight.services.configuration import save_journey
from oversight.services.credentials import rotate_webhook_secret


@admin.register(AISystem)
class AISystemAdmin(StableSlugMixin, HistoryAdmin):
    list_display = ["name", "slug", "provider", "risk_category", "owner", "is_active"]
    list_filter = ["risk_category", "is_active"]
    list_select_related = ["owner"]
    search_fields = ["name", "slug", "provider"]
    autocomplete_fields = ["owner"]
    readonly_fields = ["created_at", "updated_at", "has_webhook_secret"]
    actions = ["rotate_webhook_secret"]

    @admin.display(boolean=True, description="Webhook secret set")
    def has_webhook_secret(self, obj) -> bool:
        return bool(obj.webhook_secret_encrypted)

    @admin.action(description="Rotate webhook secret (shown once)")
    def rotate_webhook_secret(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one AI system.", messages.ERROR)
            return
        if not self.has_change_permission(request):
            self.message_user(request, "You may not change AI systems.", messages.ERROR)
            return
        ai_system = queryset.get()
        try:
            secret = rotate_webhook_secret(ai_system=ai_system, actor=Actor.for_user(request.user))
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
            return
        self.message_user(
            request,
            f"New webhook secret for {ai_system}: {secret} — copy it into the AI system now; "
            "it is not shown again. Webhooks are signed with it from now on.",
            messages.WARNING,
        )


class AutomationForm(forms.Form):
    """The intermediate page of the pause and resume actions: why, in the person's words."""

    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), strip=True)


@admin.register(Journey)
class JourneyAdmin(GoLiveAdminMixin, StableSlugMixin, HistoryAdmin):
    list_display = [
        "name",
        "ai_system",
        "slug",
        "automation_state",
        "sampling_rate",
        "default_sla_minutes",
    ]
    list_filter = ["automation_state", "ai_system"]
    list_select_related = ["ai_system"]
    search_fields = ["name", "slug", "ai_system__name"]
    # A plain select (not autocomplete): its choices are the managed AI systems only.
    actions = ["pause_automation", "resume_automation"]
    fieldsets = [
        (None, {"fields": ["ai_system", "slug", "name", "description"]}),
        (
            "Gate rules",
            {
                "fields": [
                    "required_context_keys",
                    "allow_pii_in_proposal",
                    "sampling_rate",
                    "default_sla_minutes",
                    "approval_valid_minutes",
                ]
            },
        ),
        (
            "Automation",
            {"fields": ["automation_state", "paused_reason", "paused_at", "paused_by"]},
        ),
        (None, {"fields": ["created_at", "updated_at"]}),
    ]
    # Pausing and resuming is the stop button: it must go through its service (who, why, audit
    # event), not through a field anyone with change permission can flip.
    readonly_fields = [
        "automation_state",
        "paused_reason",
        "paused_at",
        "paused_by",
        "created_at",
        "updated_at",
    ]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "ai_system":
            kwargs["queryset"] = ai_systems_managed_by(request.user).order_by("name")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        if allowed and obj is not None:
            return manages_scope(request.user, ai_system=obj.ai_system)
        return allowed

    def save_model(self, request, obj, form, change):
        # The service checks the manager, keeps history, syncs a new journey's holders and
        # writes the ledger event.
        save_journey(journey=obj, by=request.user)

    def get_queryset(self, request):
        # Journey names include their AI system's; autocomplete lists use this queryset too.
        return super().get_queryset(request).select_related("ai_system")

    # The stop button on the journey's own page: a labelled button, the reason form, the service.

    def get_urls(self):
        view = self.admin_site.admin_view
        # Before the default URLs: their "<path:object_id>/" would otherwise catch these.
        return [
            path(
                "<path:object_id>/pause/",
                view(self.pause_view),
                name="oversight_journey_pause",
            ),
            path(
                "<path:object_id>/resume/",
                view(self.resume_view),
                name="oversight_journey_resume",
            ),
            *self.go_live_urls(),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        journey = self.scoped_object(request, object_id)
        extra = {"automation_button": self._automation_button(request, journey)}
        if journey is not None:
            extra["shadow_panel"] = shadow_panel(request, journey)
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    @staticmethod
    def _automation_button(request, journey) -> dict | None:
        """The one button that applies now, only for a person the service would let press it."""
        if journey is None or not manages_scope(request.user, journey=journey):
            return None
        if journey.is_shadow:  # nothing to pause: the go-live sign-off is its button
            return None
        if journey.is_paused:
            view, label = "resume", "Resume automation"
        else:
            view, label = "pause", "Pause automation"
        url = reverse(f"admin:oversight_journey_{view}", args=[journey.pk])
        return {"url": url, "label": label}

    def pause_view(self, request, object_id):
        return self._automation_view(
            request,
            object_id,
            verb="Pause",
            label="Reason for pausing",
            call=lambda journey, text: pause_journey(journey=journey, by=request.user, reason=text),
        )

    def resume_view(self, request, object_id):
        return self._automation_view(
            request,
            object_id,
            verb="Resume",
            label="Why automation may resume",
            call=lambda journey, text: resume_journey(journey=journey, by=request.user, note=text),
        )

    def _automation_view(self, request, object_id, *, verb, label, call):
        """The reason form for one journey, then its service; a refusal shows on the form.

        Only a manager of the journey opens it (the service checks again when it is pressed).
        """
        journey = self.scoped_object(request, object_id)
        if not manages_scope(request.user, journey=journey):
            raise PermissionDenied
        form = AutomationForm(request.POST if request.method == "POST" else None)
        form.fields["text"].label = label
        if form.is_valid():
            try:
                journey = call(journey, form.cleaned_data["text"])
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(request, f"{verb}d automation of {journey}.", messages.SUCCESS)
                return redirect(reverse("admin:oversight_journey_change", args=[journey.pk]))
        return TemplateResponse(
            request,
            "admin/oversight/journey/automation_form.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": f"{verb} automation of {journey}",
                "verb": verb,
                "journeys": [journey],
                "journey": journey,
                "form": form,
            },
        )

    @admin.action(description="Pause automation (every call goes to a person)")
    def pause_automation(self, request, queryset):
        return self._automation_action(
            request,
            queryset,
            action="pause_automation",
            verb="Pause",
            label="Reason for pausing",
            call=lambda journey, text: pause_journey(journey=journey, by=request.user, reason=text),
        )

    @admin.action(description="Resume automation")
    def resume_automation(self, request, queryset):
        return self._automation_action(
            request,
            queryset,
            action="resume_automation",
            verb="Resume",
            label="Why automation may resume",
            call=lambda journey, text: resume_journey(journey=journey, by=request.user, note=text),
        )

    def _automation_action(self, request, queryset, *, action, verb, label, call):
        """Ask for the reason on an intermediate page, then call the service per journey.

        The service decides who may press the button; each refusal is shown with its message.
        """
        form = AutomationForm(request.POST if "confirm" in request.POST else None)
        form.fields["text"].label = label
        if not form.is_valid():
            return TemplateResponse(
                request,
                "admin/oversight/journey/automation_form.html",
                {
                    **self.admin_site.each_context(request),
                    "opts": self.model._meta,
                    "title": f"{verb} automation",
                    "verb": verb,
                    "action": action,
                    "journeys": list(queryset),
                    "form": form,
                    "action_checkbox_name": ACTION_CHECKBOX_NAME,
                },
            )
        for journey in queryset:
            try:
                call(journey, form.cleaned_data["text"])
            except DomainError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                self.message_user(request, f"{verb}d automation of {journey}.", messages.SUCCESS)
        return None


class JourneyListFilter(admin.RelatedFieldListFilter):
    """The journey filter, in one query: a journey's name includes its AI system's."""

    def field_choices(self, field, request, model_admin):
        return [
            (journey.pk, str(journey)) for journey in Journey.objects.select_related("ai_system")
        ]
