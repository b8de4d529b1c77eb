"""Admin for authority levels (configuration) and authority grants (through the service only).

Grants are evidence of who could decide what. They are never edited field by field: a manager
grants, extends or revokes, and each of those calls the authority service, which checks the
manager's scope, their own level and the holder's training (invariant 4). The add form offers
only what the requesting manager may give; a refusal shows on the form and nothing is saved.
Two read-only pages answer the regulator's questions: one person's effective authority now
(and why a grant gives none), and the authority register at any past moment, rebuilt from the
grants' history.
"""

import datetime

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from guardian.conf import settings as guardian_settings

from audit.history import history_token
from oversight.admin.common import HistoryAdmin, ViewOnlyHistoryAdmin
from oversight.admin.concurrency import TOKEN_FIELD, conflict_message
from oversight.exceptions import DomainError
from oversight.models import (
    AISystem,
    AuthorityGrant,
    AuthorityLevel,
    Journey,
    JourneyUserObjectPermission,
)
from oversight.selectors import authority_register
from oversight.services.authority import (
    DECIDE,
    OVERRIDE,
    explain_grants,
    extend_grant,
    grant_authority,
    grant_options,
    manages_scope,
    revoke_grant,
    wanted_permissions,
)
from oversight.services.authority.wording import person_name

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


@admin.register(AuthorityLevel)
class AuthorityLevelAdmin(HistoryAdmin):
    list_display = [
        "name",
        "rank",
        "may_decide",
        "may_override",
        "may_approve_irreversible",
        "monetary_limit",
    ]
    list_filter = ["may_decide", "may_override", "may_approve_irreversible"]
    search_fields = ["name"]


class PersonChoiceField(forms.ModelChoiceField):
    """People by the name the service's messages use, with the username to tell namesakes apart."""

    def label_from_instance(self, obj):
        name = person_name(obj)
        return name if name == obj.get_username() else f"{name} ({obj.get_username()})"


class GrantForm(forms.Form):
    """A new grant, with choices limited to what `granter` may give (see `grant_options`)."""

    user = PersonChoiceField(queryset=get_user_model().objects.none(), label="Person")
    level = forms.ModelChoiceField(queryset=AuthorityLevel.objects.none())
    scope = forms.ChoiceField(help_text="An AI system covers every journey of it.")
    valid_from = forms.DateTimeField(
        required=False, widget=DATETIME_INPUT, help_text="Empty: from now. Never in the past."
    )
    valid_until = forms.DateTimeField(
        required=False, widget=DATETIME_INPUT, help_text="Empty: until revoked."
    )
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), help_text="Why this person needs this authority."
    )

    def __init__(self, *args, granter, **kwargs):
        super().__init__(*args, **kwargs)
        options = grant_options(granter)
        self.scopes = {f"ai_system:{s.pk}": s for s in options.ai_systems}
        self.scopes.update({f"journey:{j.pk}": j for j in options.journeys})
        self.fields["scope"].choices = [
            ("", "---------"),
            (
                "AI systems (every journey)",
                [(f"ai_system:{s.pk}", str(s)) for s in options.ai_systems],
            ),
            ("Journeys", [(f"journey:{j.pk}", str(j)) for j in options.journeys]),
        ]
        self.fields["level"].queryset = AuthorityLevel.objects.filter(
            pk__in=[level.pk for level in options.levels]
        ).order_by("rank")
        self.fields["user"].queryset = (
            get_user_model()
            .objects.filter(is_active=True)
            .exclude(pk=granter.pk)
            .exclude(username=guardian_settings.ANONYMOUS_USER_NAME)
            .order_by("first_name", "last_name", "username")
        )

    def service_arguments(self) -> dict:
        scope = self.scopes[self.cleaned_data["scope"]]
        return {
            "user": self.cleaned_data["user"],
            "level": self.cleaned_data["level"],
            "journey": scope if isinstance(scope, Journey) else None,
            "ai_system": scope if isinstance(scope, AISystem) else None,
            "valid_from": self.cleaned_data["valid_from"],
            "valid_until": self.cleaned_data["valid_until"],
            "justification": self.cleaned_data["justification"],
        }


class ExtendForm(forms.Form):
    valid_until = forms.DateTimeField(widget=DATETIME_INPUT, label="New end")
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), help_text="Why the grant runs longer."
    )


class RevokeForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), help_text="Kept with the grant and its history."
    )


def parse_moment(value: str) -> datetime.datetime | None:
    """`YYYY-MM-DD` (the end of that day) or `YYYY-MM-DDTHH:MM`, in the site's time zone."""
    try:
        if "T" in value:
            moment = datetime.datetime.strptime(value, "%Y-%m-%dT%H:%M")
        else:
            day = datetime.datetime.strptime(value, "%Y-%m-%d")
            moment = datetime.datetime.combine(day.date(), datetime.time.max)
    except ValueError:
        return None
    return timezone.make_aware(moment)


@admin.register(AuthorityGrant)
class AuthorityGrantAdmin(ViewOnlyHistoryAdmin):
    list_display = [
        "person",
        "level",
        "scope",
        "valid_from",
        "valid_until",
        "revoked_at",
        "given_by",
        "holder_authority",
    ]
    list_filter = ["level", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user", "level", "ai_system", "journey__ai_system", "granted_by"]
    search_fields = [
        "user__username",
        "user__first_name",
        "user__last_name",
        "user__email",
        "justification",
    ]
    date_hierarchy = "valid_from"
    readonly_fields = ["changes"]
    fieldsets = [
        (None, {"fields": ["user", "level", "ai_system", "journey"]}),
        ("Validity", {"fields": ["valid_from", "valid_until", "justification", "granted_by"]}),
        ("Revocation", {"fields": ["revoked_at", "revoked_by", "revocation_reason"]}),
        (None, {"fields": ["created_at", "changes"]}),
    ]

    @admin.display(description="person", ordering="user__last_name")
    def person(self, grant):
        return person_name(grant.user)

    @admin.display(description="granted by", ordering="granted_by__last_name")
    def given_by(self, grant):
        return person_name(grant.granted_by) if grant.granted_by else "the product (set-up)"

    @admin.display(description="scope")
    def scope(self, grant):
        return grant.journey or grant.ai_system

    @admin.display(description="authority now")
    def holder_authority(self, grant):
        return format_html(
            '<a href="{}">effective authority</a>', self._url("effective", grant.user_id)
        )

    @admin.display(description="changes")
    def changes(self, grant):
        # Extend and Revoke are buttons at the top of the page (`grant_buttons`).
        return format_html(
            '<a href="{}">Effective authority of the holder</a>',
            self._url("effective", grant.user_id),
        )

    def grant_buttons(self, request, grant) -> list[tuple[str, str]]:
        """(url, label) of Extend and Revoke, for a grant still in force, to a person who may
        change grants and manages its scope (the service checks again when it is pressed)."""
        if grant.revoked_at is not None or self._expired(grant):
            return []
        if not self._may_change_grants(request) or not manages_scope(
            request.user, journey=grant.journey, ai_system=grant.ai_system
        ):
            return []
        buttons = [(self._url("revoke", grant.pk), "Revoke")]
        if grant.valid_until is not None:
            buttons.insert(0, (self._url("extend", grant.pk), "Extend"))
        return buttons

    def change_view(self, request, object_id, form_url="", extra_context=None):
        grant = self.scoped_object(request, object_id)
        extra = {"grant_buttons": self.grant_buttons(request, grant)}
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    @staticmethod
    def _expired(grant) -> bool:
        return grant.valid_until is not None and grant.valid_until <= timezone.now()

    def _url(self, view: str, *args) -> str:
        return reverse(f"admin:oversight_authoritygrant_{view}", args=args)

    def get_urls(self):
        view = self.admin_site.admin_view
        # Before the default URLs: their "<path:object_id>/" would otherwise catch these.
        return [
            path("register/", view(self.register_view), name="oversight_authoritygrant_register"),
            path(
                "effective/<int:user_id>/",
                view(self.effective_view),
                name="oversight_authoritygrant_effective",
            ),
            path(
                "<path:object_id>/extend/",
                view(self.extend_view),
                name="oversight_authoritygrant_extend",
            ),
            path(
                "<path:object_id>/revoke/",
                view(self.revoke_view),
                name="oversight_authoritygrant_revoke",
            ),
            *super().get_urls(),
        ]

    # Granting, extending and revoking: each a form in front of one service call.

    def has_add_permission(self, request, obj=None):
        return request.user.has_perm("oversight.add_authoritygrant")

    def _may_change_grants(self, request) -> bool:
        # Field-by-field editing stays off (has_change_permission is False); extending and
        # revoking need the model permission, and the service checks the scope.
        return request.user.has_perm("oversight.change_authoritygrant")

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = GrantForm(request.POST or None, granter=request.user)
        if request.method == "POST" and form.is_valid():
            try:
                grant = grant_authority(granter=request.user, **form.service_arguments())
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(request, f"Granted: {grant}.", messages.SUCCESS)
                return redirect(self._url("change", grant.pk))
        return self._render(request, "grant_form.html", "Grant authority", form=form)

    def extend_view(self, request, object_id):
        return self._grant_change_view(
            request,
            object_id,
            ExtendForm,
            "Extend",
            "Extended",
            lambda grant, data: extend_grant(granter=request.user, grant=grant, **data),
        )

    def revoke_view(self, request, object_id):
        return self._grant_change_view(
            request,
            object_id,
            RevokeForm,
            "Revoke",
            "Revoked",
            lambda grant, data: revoke_grant(revoker=request.user, grant=grant, **data),
        )

    def _grant_change_view(self, request, object_id, form_class, verb, done, call):
        if not self._may_change_grants(request):
            raise PermissionDenied
        # Through the admin's own (scoped) queryset, like every page naming a grant.
        grant = self.scoped_object(request, object_id)
        form = form_class(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                with transaction.atomic():
                    # Extending or revoking what the person did not see is refused: another
                    # manager may have changed the grant since the page was opened.
                    AuthorityGrant.objects.select_for_update().filter(pk=grant.pk).exists()
                    conflict = conflict_message(grant, request.POST.get(TOKEN_FIELD, ""))
                    if conflict:
                        raise DomainError(conflict)
                    grant = call(grant, form.cleaned_data)
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(request, f"{done}: {grant}.", messages.SUCCESS)
                return redirect(self._url("change", grant.pk))
        return self._render(
            request,
            "grant_change_form.html",
            f"{verb} a grant",
            form=form,
            grant=grant,
            verb=verb,
            edit_version_field=TOKEN_FIELD,
            edit_version_token=history_token(grant),
        )

    # Read-only pages.

    def effective_view(self, request, user_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        person = get_object_or_404(get_user_model(), pk=user_id)
        now = timezone.now()
        held = {
            (journey_id, codename)
            for journey_id, codename in JourneyUserObjectPermission.objects.filter(
                user=person, permission__codename__in=[DECIDE, OVERRIDE]
            ).values_list("content_object_id", "permission__codename")
        }
        wanted = {
            (j, codename) for _, j, codename in wanted_permissions(at=now, user_ids=[person.pk])
        }
        journeys = Journey.objects.filter(pk__in={j for j, _ in held | wanted}).select_related(
            "ai_system"
        )
        permissions = [
            {
                "journey": journey,
                "decide": (journey.pk, DECIDE) in held,
                "override": (journey.pk, OVERRIDE) in held,
            }
            for journey in journeys
        ]
        return self._render(
            request,
            "effective.html",
            f"Authority of {person.get_full_name() or person.get_username()}",
            person=person,
            at=now,
            statuses=explain_grants(person, at=now),
            permissions=permissions,
            in_step=held == wanted,
        )

    def register_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        asked = request.GET.get("at", "").strip()
        at = parse_moment(asked) if asked else timezone.now()
        error = ""
        if at is None:
            error = f"“{asked}” is not a date (YYYY-MM-DD) or a moment (YYYY-MM-DDTHH:MM)."
            at = timezone.now()
        return self._render(
            request,
            "register.html",
            "Authority register",
            at=at,
            at_input=timezone.localtime(at).strftime("%Y-%m-%dT%H:%M"),
            rows=authority_register(at),
            error=error,
        )

    def _render(self, request, template: str, title: str, **context):
        return TemplateResponse(
            request,
            f"admin/oversight/authoritygrant/{template}",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": title,
                **context,
            },
        )
