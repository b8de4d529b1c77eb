"""The forms in front of the incident services: raise, move forward, move the deadline.

They only collect and shape input; the services in `oversight.services.incidents` check it
again and are the only way an incident changes. Moments typed by a person are read in their
time zone (Django's active one), as every time the admin shows.
"""

import uuid

from django import forms
from django.db.models import QuerySet

from oversight.admin.report_forms import find_case
from oversight.models import IncidentClass, IncidentSource, IncidentState
from oversight.services.incidents import NEXT_STATES

MOMENT_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
MOMENT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
TEXTAREA = forms.Textarea(attrs={"rows": 3, "cols": 70})
RAISE_SOURCES = [(value, label) for value, label in IncidentSource.choices if value != "suggestion"]


def _moment_field(label: str, help_text: str, *, required: bool = False) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        widget=MOMENT_INPUT,
        input_formats=MOMENT_FORMATS,
        help_text=help_text,
    )


class RaiseIncidentForm(forms.Form):
    ai_system = forms.ModelChoiceField(queryset=None, label="AI system")
    title = forms.CharField(max_length=200)
    what_happened = forms.CharField(widget=TEXTAREA, label="What happened")
    affected = forms.CharField(widget=TEXTAREA, label="Who was affected")
    incident_class = forms.ChoiceField(choices=IncidentClass.choices, label="Class")
    source = forms.ChoiceField(choices=RAISE_SOURCES, label="Raised from")
    source_reference = forms.CharField(
        max_length=64,
        label="Its id",
        help_text="The case's short id (8 characters) or full id; the decision's or outcome's "
        "id; the guardrail evaluation's number.",
    )
    related_cases = forms.CharField(
        required=False,
        max_length=2000,
        label="Other related cases",
        help_text="Short or full case ids, separated by commas or spaces.",
    )
    became_aware_at = _moment_field(
        "Became aware", "In your time zone. Empty: now. The reporting clock starts here."
    )
    time_zone = forms.CharField(
        required=False,
        max_length=64,
        help_text="The organisation's zone for the deadline (e.g. Europe/Berlin); empty: the "
        "product's.",
    )

    def __init__(self, *args, systems: QuerySet, sources: dict[str, QuerySet], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ai_system"].queryset = systems
        self.sources = sources

    def clean(self):
        data = super().clean()
        source, reference = data.get("source"), (data.get("source_reference") or "").strip()
        if source and reference:
            try:
                data["source_object"] = self._find(source, reference)
            except forms.ValidationError as error:
                self.add_error("source_reference", error)
        cases = []
        for part in (data.get("related_cases") or "").replace(",", " ").split():
            try:
                cases.append(find_case(self.sources["case"], part))
            except forms.ValidationError as error:
                self.add_error("related_cases", error)
        data["related_case_objects"] = cases
        return data

    def _find(self, source: str, reference: str):
        if source == IncidentSource.CASE:
            return find_case(self.sources["case"], reference)
        queryset = self.sources[source]
        try:
            key = int(reference) if source == IncidentSource.GUARDRAIL else uuid.UUID(reference)
        except ValueError:
            raise forms.ValidationError(f"“{reference}” is not an id of that kind.") from None
        found = queryset.filter(pk=key).first()
        if found is None:
            raise forms.ValidationError(f"There is no such record that you can see: {reference}.")
        return found

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        source = data["source"]
        keyword = {
            IncidentSource.CASE: "case",
            IncidentSource.DECISION: "decision",
            IncidentSource.OUTCOME: "outcome",
            IncidentSource.GUARDRAIL: "guardrail_evaluation",
        }[source]
        return {
            "ai_system": data["ai_system"],
            "title": data["title"],
            "what_happened": data["what_happened"],
            "affected": data["affected"],
            "incident_class": data["incident_class"],
            "source": source,
            keyword: data["source_object"],
            "related_cases": data["related_case_objects"],
            "became_aware_at": data.get("became_aware_at"),
            "time_zone": data.get("time_zone") or None,
        }


class AdvanceIncidentForm(forms.Form):
    to_state = forms.ChoiceField(label="Move to")
    note = forms.CharField(
        widget=TEXTAREA,
        required=False,
        help_text="Required when closing early, dismissing a suggestion, or telling the "
        "authority without the provider.",
    )
    at = _moment_field("Reported at", "For a report: when it was sent, in your time zone. "
                       "Empty: now.")  # fmt: skip
    authority_reference = forms.CharField(
        required=False, max_length=200, help_text="The authority's reference for the report."
    )
    incident_class = forms.ChoiceField(
        choices=[("", "Keep the suggested class"), *IncidentClass.choices],
        required=False,
        label="Class",
        help_text="When confirming a suggestion.",
    )
    became_aware_at = _moment_field(
        "Became aware", "When confirming a suggestion: in your time zone. Empty: now."
    )

    def __init__(self, *args, incident, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_state"].choices = [
            (state, IncidentState(state).label) for state in NEXT_STATES[incident.state]
        ]


class MoveDeadlineForm(forms.Form):
    deadline = _moment_field("New deadline", "In your time zone.", required=True)
    reason = forms.CharField(widget=TEXTAREA, help_text="Kept in history and the ledger.")
