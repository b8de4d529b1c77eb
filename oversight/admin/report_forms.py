"""One small form per report type, each asking only what its report needs.

The forms only collect and shape the parameters; `request_report` (the service) validates them
again and is the single way a report is ordered. The case dossier accepts the 8-character short
id shown everywhere (or the full id) and resolves it to exactly one case the person can see.
"""

import uuid

from django import forms
from django.contrib.auth.models import Group
from django.db.models import Q, QuerySet

from oversight.models import AISystem, Case, GoLiveSignOff, Incident, ReportKind
from oversight.models.incidents import REGISTER_STATES

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
SHORT_ID_LENGTH = 8
HEX = set("0123456789abcdef")
SEARCH_LIMIT = 20


def _system_field(*, required: bool, help_text: str) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=AISystem.objects.order_by("name"),
        to_field_name="slug",
        required=required,
        label="AI system",
        help_text=help_text,
        empty_label="All AI systems" if not required else "Choose an AI system",
    )


class OversightReportForm(forms.Form):
    kind = ReportKind.OVERSIGHT
    title = "Order an oversight report"
    description = (
        "What the oversight of one AI system looked like over a period: gate calls, cases, "
        "decisions, overrides, SLA breaches and outcomes."
    )

    ai_system = _system_field(required=True, help_text="The system the report is about.")
    start = forms.DateField(widget=DATE_INPUT, label="Period from")
    end = forms.DateField(
        widget=DATE_INPUT, label="Period to", help_text="The day itself is included."
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", "The period must end on or after its first day.")
        return data

    def report_params(self) -> dict:
        data = self.cleaned_data
        return {
            "system": data["ai_system"].slug,
            "start": data["start"].isoformat(),
            "end": data["end"].isoformat(),
        }


class AuthorityRegisterForm(forms.Form):
    kind = ReportKind.AUTHORITY
    title = "Order an authority register"
    description = "Who held which override authority, on which scope, at the end of one day."

    as_of = forms.DateField(
        widget=DATE_INPUT, label="As of", help_text="The register shows the end of this day."
    )

    def report_params(self) -> dict:
        return {"as_of": self.cleaned_data["as_of"].isoformat()}


class LiteracyRegisterForm(forms.Form):
    kind = ReportKind.LITERACY
    title = "Order an AI-literacy register"
    description = "Who held which AI-literacy training, and until when, at the end of one day."

    as_of = forms.DateField(
        widget=DATE_INPUT, label="As of", help_text="The register shows the end of this day."
    )
    ai_system = _system_field(
        required=False, help_text="Optional: only the people overseeing this system."
    )
    team = forms.ModelChoiceField(
        queryset=Group.objects.order_by("name"),
        to_field_name="name",
        required=False,
        empty_label="All teams",
        help_text="Optional: only members of this team.",
    )

    def report_params(self) -> dict:
        data = self.cleaned_data
        return {
            "as_of": data["as_of"].isoformat(),
            "system": data["ai_system"].slug if data["ai_system"] else None,
            "team": data["team"].name if data["team"] else None,
        }


def cases_by_short_id(cases: QuerySet, short_id: str) -> QuerySet:
    """Cases whose id starts with `short_id` (lowercase hex), as a range on the primary key.

    A range uses the key's index on PostgreSQL and SQLite alike, where a text prefix would not.
    """
    low = uuid.UUID(short_id.ljust(32, "0"))
    high = uuid.UUID(short_id.ljust(32, "f"))
    return cases.filter(pk__gte=low, pk__lte=high)


def find_case(cases: QuerySet, reference: str) -> Case:
    """The one case of `cases` named by a full id or its 8-character short id.

    Raises forms.ValidationError with a message naming the problem: not an id, no such case
    (or not one the person can see: the same words, so nothing is revealed), or a short id
    shared by several cases (then the full ids to choose from).
    """
    text = reference.strip().lower()
    try:
        case_id = uuid.UUID(text)
    except ValueError:
        case_id = None
    if case_id is not None:
        case = cases.filter(pk=case_id).first()
        if case is None:
            raise forms.ValidationError(f"There is no case {case_id} that you can see.")
        return case
    if len(text) != SHORT_ID_LENGTH or not set(text) <= HEX:
        raise forms.ValidationError(
            f"“{reference.strip()}” is not a case id: give the 8-character short id shown "
            "with the case (e.g. c4e414fb) or its full id, or search below."
        )
    found = list(cases_by_short_id(cases, text).order_by("pk")[:5])
    if not found:
        raise forms.ValidationError(f"There is no case {text} that you can see.")
    if len(found) > 1:
        ids = ", ".join(str(case.pk) for case in found)
        raise forms.ValidationError(
            f"The short id {text} names more than one case ({ids}): give the full id, "
            "or search below and choose one."
        )
    return found[0]


def search_cases(cases: QuerySet, query: str) -> QuerySet:
    """Cases matching a short id, full id, customer reference or journey name, newest first."""
    text = query.strip()
    lowered = text.lower()
    condition = Q(subject_ref=text) | Q(journey__name__icontains=text)
    hex_text = lowered.replace("-", "")
    if 4 <= len(hex_text) <= 32 and set(hex_text) <= HEX:
        condition |= Q(pk__in=cases_by_short_id(cases, hex_text).values("pk"))
    return cases.filter(condition).select_related("journey").order_by("-opened_at")[:SEARCH_LIMIT]


class CaseDossierForm(forms.Form):
    kind = ReportKind.DOSSIER
    title = "Order a case dossier"
    description = (
        "Everything about one case: what the system saw and proposed, every decision with its "
        "rationale and authority, and its history."
    )

    case = forms.CharField(
        label="Case",
        max_length=64,
        help_text="The case's short id (the 8 characters shown with it, e.g. c4e414fb) or its "
        "full id.",
    )

    def __init__(self, *args, cases: QuerySet, **kwargs):
        super().__init__(*args, **kwargs)
        self.cases = cases

    def clean_case(self) -> Case:
        return find_case(self.cases, self.cleaned_data["case"])

    def report_params(self) -> dict:
        return {"case": str(self.cleaned_data["case"].pk)}


class IncidentReportForm(forms.Form):
    kind = ReportKind.INCIDENT
    title = "Order a serious incident report"
    description = (
        "One serious incident for the provider or the authority (Art. 73): what happened, the "
        "reporting clock, the timeline, the related cases' evidence and the ledger head. The "
        "final report once the authority has been told or the incident is closed."
    )

    incident = forms.ModelChoiceField(
        queryset=Incident.objects.filter(state__in=REGISTER_STATES)
        .select_related("ai_system")
        .order_by("-pk"),
        label="Incident",
    )
    stage = forms.ChoiceField(
        choices=[("initial", "Initial report"), ("final", "Final report")], initial="initial"
    )

    def report_params(self) -> dict:
        return {"incident": self.cleaned_data["incident"].pk, "stage": self.cleaned_data["stage"]}


class GoLiveEvaluationForm(forms.Form):
    kind = ReportKind.GO_LIVE
    title = "Order a go-live evaluation"
    description = (
        "One go-live sign-off of a journey: the shadow-mode agreement it rested on, by confidence "
        "band and judgement point, the rule versions in force and who signed. Each sign-off "
        "orders its own; order another copy here."
    )

    sign_off = forms.ModelChoiceField(
        queryset=GoLiveSignOff.objects.select_related("journey__ai_system").order_by(
            "-signed_off_at"
        ),
        label="Go-live sign-off",
        empty_label="Choose a sign-off",
    )

    def report_params(self) -> dict:
        return {"sign_off": str(self.cleaned_data["sign_off"].pk)}


ORDER_FORMS: dict[str, type[forms.Form]] = {
    form.kind.value: form
    for form in [
        OversightReportForm,
        AuthorityRegisterForm,
        LiteracyRegisterForm,
        CaseDossierForm,
        IncidentReportForm,
        GoLiveEvaluationForm,
    ]
}
