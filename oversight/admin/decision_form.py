"""The reviewer's decision form: only the outcomes the person may choose, every problem at once.

The rules are the service's (`oversight.services.decision_rules`): the form offers the outcomes
`allowed_outcomes` allows and lists the others with the reason, and on submit shows every
problem `decision_problems` finds beside the field it concerns, in one round trip. `decide_case`
still checks everything on its own.

A modified action is chosen from the case's options with plain fields (amount, reply); a JSON
object of further details stays available for the unusual case, read with the API's guard.
"""

from dataclasses import dataclass
from decimal import Decimal

from django import forms

from oversight.exceptions import InvalidInput
from oversight.models import Case, DecisionOutcome, OverrideReason, RouteReason
from oversight.services.decision_rules import (
    OVERRIDING,
    DecisionInput,
    OutcomeChoices,
    decision_problems,
    first_review,
)
from oversight.services.decisions import parse_final_action

OUTCOME_HELP = {
    DecisionOutcome.APPROVE: "The proposal goes ahead as the system proposed it.",
    DecisionOutcome.MODIFY: "An override: choose the option that stands instead, and details.",
    DecisionOutcome.REJECT: "An override: the proposal does not go ahead.",
    DecisionOutcome.ESCALATE: "Send the case one level up for a fresh review; say why.",
    DecisionOutcome.AGREE: "What the automation did was right.",
    DecisionOutcome.DISAGREE: "What the automation did was wrong; say why.",
}
# The key that picks each outcome (static/hitl/decision-form.js). Agree and approve share "A":
# a sample audit offers agree/disagree only, a live case never does.
OUTCOME_KEYS = {
    DecisionOutcome.APPROVE: "A",
    DecisionOutcome.MODIFY: "M",
    DecisionOutcome.REJECT: "R",
    DecisionOutcome.ESCALATE: "E",
    DecisionOutcome.AGREE: "A",
    DecisionOutcome.DISAGREE: "D",
}
NEXT_KEY = "N"
THEN_NEXT = "next"  # the value of the "Decide and open next" button
CENTS = Decimal("0.01")
MODIFICATION_FIELDS = ("option", "amount", "reply", "final_action")


@dataclass(frozen=True)
class OutcomeRow:
    """One outcome radio button as the template draws it."""

    value: str
    label: str
    help: str
    key: str
    checked: bool
    element_id: str


@dataclass(frozen=True)
class RefusedOutcomes:
    """Outcomes refused for one reason, e.g. modify and reject: "may not override"."""

    labels: list[str]
    reason: str


class DecisionForm(forms.Form):
    """What a reviewer decides. `choices` (from `allowed_outcomes`) says which outcomes the
    person may take; the problems are the service's, shown beside their fields."""

    outcome = forms.ChoiceField(
        widget=forms.RadioSelect,
        label="Decision",
        error_messages={"required": "Choose a decision."},
    )
    option = forms.ChoiceField(
        required=False, widget=forms.RadioSelect, label="Option that stands instead"
    )
    amount = forms.DecimalField(
        required=False,
        min_value=Decimal(0),
        max_digits=12,
        decimal_places=2,
        label="Amount",
        help_text="Optional: the amount of the modified action, e.g. a partial refund.",
    )
    reply = forms.CharField(
        required=False,
        max_length=2000,
        label="Reply or note for the system",
        widget=forms.Textarea(attrs={"rows": 2, "cols": 48}),
        help_text="Optional: e.g. the reply the customer should get instead.",
    )
    final_action = forms.CharField(
        required=False,
        label="Other details (JSON object)",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 48, "spellcheck": "false"}),
        help_text='For the unusual case, e.g. {"store_credit": true}; the fields above are '
        "added to it.",
    )
    override_reason = forms.ModelChoiceField(
        queryset=OverrideReason.objects.filter(is_active=True),
        required=False,
        label="Override reason",
        empty_label="— none —",
        help_text="Required when you modify or reject the AI's proposal.",
    )
    rationale = forms.CharField(
        required=False,
        label="Rationale",
        widget=forms.Textarea(attrs={"rows": 4, "cols": 48}),
        help_text="Required to override, escalate or disagree: what made you decide this?",
    )

    def __init__(self, *args, case: Case, choices: OutcomeChoices, **kwargs):
        super().__init__(*args, **kwargs)
        self.case = case
        self.choices = choices
        self.sample_audit = case.route_reason == RouteReason.SAMPLE_AUDIT
        labels = dict(DecisionOutcome.choices)
        # Every outcome that applies is a valid choice, so a refused one submitted anyway gets
        # the service's reason beside the field, not "not one of the available choices".
        self.fields["outcome"].choices = [
            (value, labels[value])
            for value in (*choices.allowed, *(outcome for outcome, _ in choices.refused))
        ]
        self.options = [option for option in case.options or [] if isinstance(option, str)]
        if self.sample_audit:
            for name in (*MODIFICATION_FIELDS, "override_reason"):
                del self.fields[name]
            self.fields["rationale"].label = "Note"
            self.fields["rationale"].help_text = "Required to disagree: what should have happened?"
            return
        if not set(choices.allowed) & OVERRIDING:
            del self.fields["override_reason"]
        if DecisionOutcome.MODIFY not in choices.allowed:
            for name in MODIFICATION_FIELDS:
                del self.fields[name]
        elif self.options:
            self.fields["option"].choices = [(option, option) for option in self.options]
        else:
            del self.fields["option"]
        if DecisionOutcome.MODIFY in choices.allowed and case.currency:
            self.fields["amount"].label = f"Amount ({case.currency})"

    # What the template draws -----------------------------------------------------------------

    def outcome_rows(self) -> list[OutcomeRow]:
        """The outcomes the person may choose, each with its help line and shortcut key."""
        labels = dict(DecisionOutcome.choices)
        chosen = self["outcome"].value()
        return [
            OutcomeRow(
                value=value,
                label=labels[value],
                help=OUTCOME_HELP.get(value, ""),
                key=OUTCOME_KEYS[value],
                checked=value == chosen,
                element_id=f"id_outcome_{value}",
            )
            for value in self.choices.allowed
        ]

    def refused_outcomes(self) -> list[RefusedOutcomes]:
        """The outcomes not offered, grouped by the reason why."""
        labels = dict(DecisionOutcome.choices)
        grouped: dict[str, list[str]] = {}
        for outcome, reason in self.choices.refused:
            grouped.setdefault(reason, []).append(labels[outcome])
        return [RefusedOutcomes(labels=names, reason=reason) for reason, names in grouped.items()]

    def offers_modification(self) -> bool:
        return "final_action" in self.fields

    # Reading the input -----------------------------------------------------------------------

    def clean(self):
        data = super().clean()
        outcome = data.get("outcome")
        if self.choices.level is None:
            # No authority to decide at all: every outcome is refused for the same reason.
            self.add_error(None, self.choices.refused[0][1])
            return data
        if not outcome:
            return data
        unreadable = False
        try:
            final_action = self._modified_action() if outcome == DecisionOutcome.MODIFY else None
        except InvalidInput as error:
            self.add_error("final_action", error.message)
            final_action, unreadable = None, True
        self.decision = DecisionInput(
            outcome=outcome,
            final_action=final_action,
            override_reason=data.get("override_reason"),
            rationale=data.get("rationale", ""),
            # None: the service measures the time from the claim to the decision.
            time_spent_seconds=None,
        )
        problems = decision_problems(
            self.case, self.decision, self.choices.level, first=first_review(self.case)
        )
        refusals = [problem for problem in problems if problem.field == "outcome"]
        for problem in refusals or problems:  # a refused outcome makes the rest moot
            if unreadable and problem.field in MODIFICATION_FIELDS:
                continue  # the details could not be read: that error says it already
            name = problem.field if problem.field in self.fields else None
            if problem.message not in self.errors.get(name or "__all__", []):
                self.add_error(name, problem.message)
        return data

    def decision_input(self) -> DecisionInput:
        """The service's input, once the form is valid."""
        return self.decision

    def _modified_action(self):
        """The option and detail fields as one final action; InvalidInput when the JSON
        details cannot be read or contradict a field."""
        data = self.cleaned_data
        chosen = {
            "option": data.get("option") or None,
            # As money is written: "20" becomes "20.00", the way the API's amounts read.
            "amount": str(data["amount"].quantize(CENTS))
            if data.get("amount") is not None
            else None,
            "reply": (data.get("reply") or "").strip() or None,
        }
        chosen = {key: value for key, value in chosen.items() if value is not None}
        details = parse_final_action(data.get("final_action", ""))
        if details is None:
            return chosen or None
        if not chosen:
            return details
        if not isinstance(details, dict):
            raise InvalidInput(
                "With the fields above filled in, give further details as a JSON object, e.g. "
                '{"store_credit": true}.'
            )
        option = chosen.get("option")
        if option is not None and details.get("option", option) != option:
            raise InvalidInput(
                f"The details name the option {details['option']!r} but you chose "
                f"{option!r}: keep one."
            )
        for key, value in chosen.items():
            if key in details and details[key] != value:
                raise InvalidInput(
                    f"The details give {key} {details[key]!r} but the field above says "
                    f"{value!r}: keep one."
                )
        return {**chosen, **details}
