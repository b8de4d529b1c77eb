"""The rules a decision must meet, in one place for the service and the decision form.

`decide_case` refuses the first problem `decision_problems` finds; the admin's decision form
shows every problem at once, each beside the field it concerns, and offers only the outcomes
`allowed_outcomes` allows. Both read the same functions, so the form can never offer what the
service would refuse, nor refuse what it would accept.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from oversight.exceptions import DomainError, InvalidInput, NotAllowed
from oversight.json_guard import check_json, check_text
from oversight.models import (
    AuthorityLevel,
    Case,
    CaseStatus,
    Decision,
    DecisionOutcome,
    DecisionStage,
    OverrideReason,
    RouteReason,
)
from oversight.services.cases import deciding_grant

LIVE_OUTCOMES = {
    DecisionOutcome.APPROVE,
    DecisionOutcome.MODIFY,
    DecisionOutcome.REJECT,
    DecisionOutcome.ESCALATE,
}
AUDIT_OUTCOMES = {DecisionOutcome.AGREE, DecisionOutcome.DISAGREE}
OVERRIDING = {DecisionOutcome.MODIFY, DecisionOutcome.REJECT}
CARRIES_OUT_ACTION = {DecisionOutcome.APPROVE, DecisionOutcome.MODIFY}
NOTE_NEEDED = "Say why: an escalation or a disagreement needs a note."
RATIONALE_NEEDED = "An override needs a rationale: say why you decided otherwise."


@dataclass(frozen=True)
class DecisionInput:
    outcome: str
    final_action: Any = None
    override_reason: OverrideReason | None = None
    rationale: str = ""
    time_spent_seconds: int | None = None


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a decision. `field` names the part of the decision it concerns,
    as the decision form names its fields: outcome, option, final_action, override_reason,
    rationale. `error` is the exception the service raises for it."""

    field: str
    message: str
    error: type[DomainError] = InvalidInput


@dataclass(frozen=True)
class OutcomeChoices:
    """What a person may decide on a case: the outcomes allowed, in the usual order, and each
    refused one with the reason, worded as the service words its refusal."""

    level: AuthorityLevel | None
    allowed: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def outcomes_for_case(case: Case) -> list[str]:
    """The outcomes that apply to a case at all: agree/disagree for a sample audit, else the
    live ones, in the order of `DecisionOutcome`."""
    applicable = AUDIT_OUTCOMES if case.route_reason == RouteReason.SAMPLE_AUDIT else LIVE_OUTCOMES
    return [value for value in DecisionOutcome.values if value in applicable]


def capability_refusal(case: Case, outcome: str, level: AuthorityLevel) -> str | None:
    """Why `level` may not take `outcome` on `case` (invariant 3), or None when it may.

    An override (modify, reject) needs a level that may override; approving or modifying an
    irreversible action needs a level that may approve it, and an amount above the level's
    monetary limit is beyond it (a modified action's own amount is checked against the limit
    in `decision_problems`). Escalating is always open: it is the way up.
    """
    overriding = case.route_reason != RouteReason.SAMPLE_AUDIT and outcome in OVERRIDING
    if overriding and not level.may_override:
        return f"Your level {level.name} may not override the AI's proposal."
    if outcome in CARRIES_OUT_ACTION:
        if case.irreversible and not level.may_approve_irreversible:
            return f"This action cannot be undone; your level {level.name} may not approve it."
        if (
            case.amount is not None
            and level.monetary_limit is not None
            and case.amount > level.monetary_limit
        ):
            return (
                f"{case.amount} {case.currency} is above your level's limit of "
                f"{level.monetary_limit}."
            )
    return None


def outcome_choices_for_level(case: Case, level: AuthorityLevel) -> OutcomeChoices:
    """The outcomes `level` may choose on `case`, and the refused ones with the reason."""
    allowed, refused = [], []
    for outcome in outcomes_for_case(case):
        reason = capability_refusal(case, outcome, level)
        if reason is None:
            allowed.append(outcome)
        else:
            refused.append((outcome, reason))
    return OutcomeChoices(level=level, allowed=allowed, refused=refused)


def allowed_outcomes(*, case: Case, user, at: datetime.datetime | None = None) -> OutcomeChoices:
    """What `user` may decide on `case` at `at` (now by default), with the reason for each
    outcome refused: the level is the one `decide_case` would decide with (`deciding_grant`);
    without one, every outcome is refused with the reason the service gives."""
    try:
        grant = deciding_grant(case, user, at=at or timezone.now())
    except NotAllowed as error:
        return OutcomeChoices(
            level=None, refused=[(outcome, error.message) for outcome in outcomes_for_case(case)]
        )
    return outcome_choices_for_level(case, grant.level)


def first_review(case: Case) -> Decision | None:
    """The first-stage decision a four-eyes case awaiting its second review waits on (reads
    prefetched decisions when the caller prefetched them)."""
    if case.status != CaseStatus.AWAITING_SECOND_REVIEW:
        return None
    return next(
        (
            decision
            for decision in case.decisions.all()
            if decision.review_round == case.review_round and decision.stage == DecisionStage.FIRST
        ),
        None,
    )


def final_action_of(case: Case, decision: DecisionInput):
    """The action a decision carries out: the proposal when approved, the reviewer's own when
    modified, none otherwise."""
    if decision.outcome == DecisionOutcome.MODIFY:
        return decision.final_action
    if decision.outcome == DecisionOutcome.APPROVE:
        return case.proposal
    return None


def agrees(first: Decision, outcome: str, final_action) -> bool:
    """Whether a second review agrees with the first: same outcome, and for modifications the
    same final action (approve and reject carry none of their own to compare)."""
    if first.outcome != outcome:
        return False
    return first.outcome != DecisionOutcome.MODIFY or first.final_action == final_action


def decision_problems(
    case: Case, decision: DecisionInput, level: AuthorityLevel, *, first: Decision | None = None
) -> list[Problem]:
    """Everything wrong with `decision` on `case` by someone of `level`, in the order the
    service reports them (the first is what `decide_case` raises).

    `first` is the first review of a four-eyes case awaiting its second (`first_review`): a
    second reviewer who disagrees with it must say why.
    """
    problems = []
    rationale = (decision.rationale or "").strip()
    # What no database keeps (NUL, lone surrogates...) is refused whoever the caller is.
    for name, check, value in (
        ("final_action", check_json, decision.final_action),
        ("rationale", check_text, decision.rationale or ""),
    ):
        try:
            check(value, path=name)
        except InvalidInput as error:
            problems.append(Problem(name, error.message))
    applicable = outcomes_for_case(case)
    if decision.outcome not in applicable:
        labels = ", ".join(sorted(applicable))
        return [*problems, Problem("outcome", f"For this case, decide one of: {labels}.")]
    if decision.outcome == DecisionOutcome.MODIFY:
        problems.extend(_modification_problems(case, decision.final_action))
    if decision.outcome in (DecisionOutcome.ESCALATE, DecisionOutcome.DISAGREE) and not rationale:
        problems.append(Problem("rationale", NOTE_NEEDED))
    refusal = capability_refusal(case, decision.outcome, level)
    if refusal:
        problems.append(Problem("outcome", refusal, NotAllowed))
    modified_amount = _amount_of(decision.final_action)
    if (
        decision.outcome == DecisionOutcome.MODIFY
        and modified_amount is not None
        and level.monetary_limit is not None
        and modified_amount > level.monetary_limit
    ):
        problems.append(
            Problem(
                "amount",
                f"The modified amount {modified_amount} {case.currency} is above your level's "
                f"limit of {level.monetary_limit}.",
                NotAllowed,
            )
        )
    if case.route_reason != RouteReason.SAMPLE_AUDIT and decision.outcome in OVERRIDING:
        if decision.override_reason is None or not decision.override_reason.is_active:
            problems.append(Problem("override_reason", "An override needs a reason category."))
        if not rationale:
            problems.append(Problem("rationale", RATIONALE_NEEDED))
    if (
        first is not None
        and not rationale
        and not any(problem.field == "rationale" for problem in problems)
        and not agrees(first, decision.outcome, final_action_of(case, decision))
    ):
        problems.append(
            Problem(
                "rationale",
                f"You disagree with the first review ({first.get_outcome_display()} by "
                f"{_name(first.reviewer)}): say why in the rationale.",
            )
        )
    return problems


def _amount_of(action) -> Decimal | None:
    """The amount a modified action names, when it names one as a number; the level's monetary
    limit applies to it as to the proposal's own amount."""
    if not isinstance(action, dict) or isinstance(action.get("amount"), bool):
        return None
    try:
        amount = Decimal(str(action.get("amount")))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _name(user) -> str:
    return user.get_full_name() or user.get_username()


def _modification_problems(case: Case, action) -> list[Problem]:
    options = case.options or []
    if action in (None, "", {}, []):
        where = "option" if options else "final_action"
        return [Problem(where, "A modification needs the final action you decided on.")]
    option = action.get("option") if isinstance(action, dict) else action
    if options and isinstance(option, str) and option not in options:
        return [
            Problem(
                "option",
                f"{option!r} is not among the options for this case: {', '.join(options)}.",
            )
        ]
    if options and not isinstance(option, str):
        return [
            Problem("option", 'Choose one of the options, e.g. {"option": "' + options[0] + '"}.')
        ]
    return []


def raise_first(problems: list[Problem]) -> None:
    """Raise the first problem as the service's domain error; nothing when there is none."""
    if problems:
        raise problems[0].error(problems[0].message)
