"""Optimistic concurrency for every editable record with history.

Two people open the same judgement point; the second saves a description and, without this,
silently resets the threshold the first one had just raised. Each change form therefore carries
the history token of the version it was loaded at; a save against a newer version is refused,
the message says who changed what since, and the person's input stays in the form. The check
and the save run in the admin's one transaction, with the row locked, so no edit slips between
them.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import formats, timezone

from audit.history import Change, changes_since, history_token

TOKEN_FIELD = "_loaded_version"


def _shown(field, value) -> str:
    """A value as a person reads it: related objects by name, choices by label, no None."""
    if value in (None, ""):
        return "(empty)"
    if isinstance(field, models.ForeignKey):
        related = field.related_model._default_manager.filter(pk=value).first()
        return str(related) if related is not None else str(value)
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def describe_changes(model, changes: list[Change]) -> str:
    """`changes` in one sentence per version: who, when, and each field from old to new."""
    by_name = {str(field.verbose_name): field for field in model._meta.concrete_fields}
    sentences = []
    for change in changes:
        when = formats.date_format(timezone.localtime(change.at), "DATETIME_FORMAT")
        parts = [
            f"{name}: {_shown(by_name.get(name), old)} → {_shown(by_name.get(name), new)}"
            if name in by_name
            else name
            for name, old, new in change.fields
        ]
        what = "; ".join(parts) if parts else "saved without field changes"
        sentences.append(f"{change.by} at {when} ({what})")
    return " and ".join(sentences)


def conflict_message(instance, loaded: str) -> str | None:
    """Why a save of `instance` loaded at token `loaded` must be refused, or None if it may go."""
    if not loaded:
        return (
            f"This form did not say which version of the {instance._meta.verbose_name} it was "
            "loaded at, so it could overwrite a newer one. Nothing was saved: reload the page "
            "and make your change again."
        )
    if history_token(instance) == loaded:
        return None
    changes = changes_since(instance, loaded)
    return (
        f"This {instance._meta.verbose_name} was changed since you opened it, by "
        f"{describe_changes(type(instance), changes)}. Nothing was saved. Your input is kept "
        "below: compare it with those changes, then save again to apply it."
    )


class EditConflictMixin:
    """Refuses to save a change form loaded at an older version of the object.

    The token travels in a hidden input (templates/admin/change_form.html). A POST without one
    (a page from before this check, a script) is refused too: a save must name the version it
    replaces.
    """

    def _locked_conflict(self, request, obj) -> str | None:
        # Inside changeform_view's transaction: lock the row so no other save lands between
        # this check and ours (SQLite's IMMEDIATE transactions already serialise writers).
        list(type(obj)._default_manager.select_for_update().filter(pk=obj.pk).values("pk"))
        return conflict_message(obj, request.POST.get(TOKEN_FIELD, ""))

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        if request.method != "POST" or obj is None or obj.pk is None:
            return form_class
        conflict = self._locked_conflict(request, obj)
        if conflict is None:
            return form_class

        def clean(form):
            form_class.clean(form)
            raise ValidationError(conflict, code="edit_conflict")

        return type(form_class.__name__, (form_class,), {"clean": clean})

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # The token of the version now stored: after a refusal, saving again applies the
        # person's input over the version they have just been told about.
        if obj is not None and obj.pk is not None:
            context["edit_version_token"] = history_token(obj)
            context["edit_version_field"] = TOKEN_FIELD
        return super().render_change_form(request, context, add, change, form_url, obj)
