"""What every admin of oversight, audit and literacy shares.

Evidence is never deleted (DESIGN.md invariant 1) and state changes go through services
(invariant 6), so the bases here refuse deletion everywhere, refuse simple-history's "revert"
(it writes the model directly, past the services), and make service-written records view-only.
"""

import json

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from oversight.admin.concurrency import EditConflictMixin

# Long single-line values (prompts, replies) wrap instead of widening the page: the class is
# styled in static/hitl/admin.css (no style attribute, for the Content-Security-Policy).
PRE_CLASS = "hitl-json"


def pretty_json(value) -> str:
    """Indented JSON in a <pre>, HTML-escaped: the content comes from AI systems, untrusted."""
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, cls=DjangoJSONEncoder)
    return format_html('<pre class="{}">{}</pre>', PRE_CLASS, text)


def json_display(field_name: str):
    """A read-only admin entry showing the JSON field `field_name` with `pretty_json`.

    List it in `readonly_fields` and the fieldsets in place of the raw field; `EvidenceMixin`
    gives it the model field's help text.
    """

    def display(model_admin, obj):
        value = getattr(obj, field_name)
        if value is None:
            return model_admin.get_empty_value_display()
        return pretty_json(value)

    display.short_description = field_name.replace("_", " ")
    display.json_field = field_name
    return display


class ScopedAdminMixin:
    """One rule for every page that names an object (invariant 10): the object is looked up
    through this admin's own `get_queryset(request)`, and one outside it answers 404.

    Django's change, delete and history views look objects up with `get_object`, which uses the
    scoped queryset but answers a missing object with a redirect to the admin index;
    simple-history's history view falls back to the object's past versions when the scoped
    queryset misses it, and its past-version view never looks at the queryset at all. Here all
    of them, and every custom view (through `get_object` or `scoped_object`), give 404, so a
    scope written once in `get_queryset` holds on every URL, whatever role it limits.
    """

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            # Same answer for "does not exist" and "not yours": the id reveals nothing.
            raise Http404(f"No {self.opts.verbose_name} with this id is visible to you.")
        return obj

    def scoped_object(self, request, object_id):
        """The object named in a URL, from the scoped queryset; Http404 when outside it."""
        return self.get_object(request, unquote(str(object_id)))

    def history_view(self, request, object_id, extra_context=None):
        self.scoped_object(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # simple-history then finds the version by object id and version id together, so a
        # visible object's URL cannot show another object's past version.
        self.scoped_object(request, object_id)
        # simple-history passes the URL's version id straight to a query on the whole-number
        # history id, where anything else is a ValueError (500): such a page does not exist.
        try:
            self.model.history.model._meta.pk.to_python(version_id)
        except ValidationError:
            message = f"No past version {version_id!r} of this {self.opts.verbose_name}."
            raise Http404(message) from None
        return super().history_form_view(request, object_id, version_id, extra_context)


class EvidenceMixin:
    """No delete view, no "delete selected" action, no revert from the history pages."""

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        # Django already drops it without delete permission; removing it by name keeps it gone
        # even if a subclass ever grants delete permission for some other reason.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def get_form(self, request, obj=None, change=False, **kwargs):
        # Entries made by json_display are not model fields, so Django cannot find their help
        # text; the form's Meta.help_texts is where the read-only field looks for it.
        help_texts = {
            name: self.model._meta.get_field(getattr(self, name).json_field).help_text
            for name in self.get_readonly_fields(request, obj)
            if isinstance(name, str) and hasattr(getattr(self, name, None), "json_field")
        }
        kwargs["help_texts"] = {**help_texts, **kwargs.get("help_texts", {})}
        return super().get_form(request, obj, change=change, **kwargs)

    # The two simple-history hooks; harmless on admins without history.
    def revert_disabled(self, request, obj=None):
        return True

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # A POST here saves the old version straight through the model, skipping the service
        # (version bump, audit event) and even the change permission: only viewing is allowed.
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class ViewOnlyMixin:
    """For records only services and the API write: viewable, never added or changed here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        # Every field read-only, so simple-history's page of a past version shows no inputs.
        model_fields = [field.name for field in self.model._meta.get_fields() if field.concrete]
        return [*model_fields, *self.readonly_fields]


class StableSlugMixin:
    """The slug names the object in API calls and reports: set when adding, then read-only.

    Filled in from `slug_source` while adding. Not `prepopulated_fields`: simple-history's page
    of a past version reads that attribute directly and fails on a read-only slug.
    """

    slug_source = "name"

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        return readonly if obj is None else [*readonly, "slug"]

    def get_prepopulated_fields(self, request, obj=None):
        return {"slug": [self.slug_source]} if obj is None else {}


class HistoryAdmin(ScopedAdminMixin, EditConflictMixin, EvidenceMixin, SimpleHistoryAdmin):
    """Base for models with history: editable configuration, every change kept, and no save
    over a version the person has not seen (`EditConflictMixin`)."""


class ViewOnlyHistoryAdmin(ViewOnlyMixin, HistoryAdmin):
    """Base for service-written records with history (cases, decisions, grants, outcomes)."""


class ViewOnlyAdmin(ScopedAdminMixin, ViewOnlyMixin, EvidenceMixin, admin.ModelAdmin):
    """Base for insert-only records without history (gate evaluations, audit events)."""


class CaseScopedMixin:
    """Invariant 2 in the admin: without `oversight.view_all_cases` (managers, compliance), a
    person sees only the cases they may decide, and only the records that belong to them.

    `case_lookup` names the path from this model to its case ("" for Case itself).
    """

    case_lookup = ""

    def get_queryset(self, request):
        from oversight.services.authority import decidable_cases

        queryset = super().get_queryset(request)
        if request.user.is_superuser or request.user.has_perm("oversight.view_all_cases"):
            return queryset
        allowed = decidable_cases(request.user).values("pk")
        return queryset.filter(**{f"{self.case_lookup or 'pk'}__in": allowed})
