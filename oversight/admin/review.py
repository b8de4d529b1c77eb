"""The decision screen: everything a reviewer needs to step in on one case, and the actions.

GET `case/<id>/review/` shows what the system saw and tried, why it came to a person (the
judgement points with the signal values that fired them), the options, the authority the
reviewer holds, the decisions and escalations so far, the customer's earlier cases and the
precedents, and the decision form (`oversight.admin.decision_form`). A POST on the same URL
decides, so an invalid decision comes back, errors beside the fields, at the case's own address
(`review/decide/` still accepts the POST of a tab opened before). "Decide and open next" claims
the next free case of the queue. The POST actions claim, release, decide and take over call the
services of `oversight.services` and nothing else: a refusal (`DomainError`) is shown as the
service worded it and changes nothing.

Cases in `decidable_cases(user)` open for deciding (invariant 2). A case the person escalated
or decided opens read-only once it has left their authority (`oversight.review_history`); any
other case gets a 403 page that says why, and an unknown id a 404. A button pressed on a page that
was out of date (the case was decided, escalated or moved out of reach meanwhile) lands on the
case with what happened and "nothing was recorded" (`oversight.admin.moved_on`).
"""

import datetime
import functools

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from oversight.admin.decision_form import NEXT_KEY, THEN_NEXT, DecisionForm
from oversight.admin.moved_on import held_message, moved_on_message
from oversight.exceptions import DomainError
from oversight.models import Case, CaseStatus, DecisionStage, RouteReason
from oversight.review_history import case_for_reading
from oversight.review_selectors import (
    case_exists,
    case_for_review,
    earlier_cases,
    escalations,
    matched_points,
    precedents,
)
from oversight.selectors import final_decision
from oversight.services.authority import decidable_cases, effective_grant
from oversight.services.cases import (
    check_claim,
    claim_case,
    claim_is_live,
    release_case,
    take_over_claim,
)
from oversight.services.decision_rules import allowed_outcomes
from oversight.services.decisions import decide_case
from oversight.services.next_case import claim_next_case
from oversight.wording import action_label, clock_time, person_name


def duration_text(delta: datetime.timedelta) -> str:
    """A span of time as a reviewer reads it at a glance: "2 d 3 h", "3 h 20 min", "12 min"."""
    minutes = int(abs(delta.total_seconds()) // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else "under a minute"


def sla_summary(case, now: datetime.datetime) -> tuple[str, bool]:
    """(text, breached) for a case's SLA now: "1 h 5 min left" or "breached 20 min ago"."""
    if case.status == CaseStatus.DECIDED:
        return "decided", False
    left = case.sla_deadline - now
    if left.total_seconds() < 0:
        return f"breached {duration_text(left)} ago", True
    return f"{duration_text(left)} left", False


def case_action(view):
    """A POST on one case the person may decide. Anything else is answered before the view
    runs: 405 for another method, 404 for no such case, 403 outside the person's authority.

    A stale page (the case was decided, or left the person's authority, while it was open) is
    answered here too, before any service runs: the person lands on the case, read-only when it
    is one they took part in, with an error saying what happened and that nothing was recorded.
    Races the check cannot see are still refused by the services, which lock the row.
    """

    @functools.wraps(view)
    def wrapper(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        case = self._reviewable_case(request, object_id)
        if case is None:
            return self._out_of_reach(request, object_id)
        stale = moved_on_message(case, request.user, decidable=True)
        if stale:
            messages.error(request, stale)
            return redirect(self._review_url(case))
        return view(self, request, case)

    return wrapper


class ReviewScreenMixin:
    """The decision screen and its POST actions, for a Case ModelAdmin."""

    def workspace_url_name(self, view: str) -> str:
        """The URL name of one workspace page, e.g. "oversight_case_review"."""
        return f"{self.model._meta.app_label}_{self.model._meta.model_name}_{view}"

    def workspace_url(self, view: str, *args) -> str:
        return reverse(f"admin:{self.workspace_url_name(view)}", args=args)

    def review_urls(self, wrap):
        return [
            path(
                "<uuid:object_id>/review/",
                wrap(self.review_view),
                name=self.workspace_url_name("review"),
            ),
            *(
                path(
                    f"<uuid:object_id>/review/{action}/",
                    wrap(getattr(self, f"{action}_view")),
                    name=self.workspace_url_name(f"review_{action}"),
                )
                for action in ("open", "claim", "release", "decide", "take_over")
            ),
        ]

    # Views ------------------------------------------------------------------------------------

    def review_view(self, request, object_id):
        """GET shows the case (read-only once it has left the person's authority, if they took
        part in it); POST decides it, so an invalid decision is shown again, errors beside the
        fields, at the case's own URL."""
        if request.method == "POST":
            return self.decide_view(request, object_id)
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET", "POST"])
        mine = decidable_cases(request.user)
        case = self._reviewable_case(request, object_id, decidable=mine)
        if case is None:
            case = case_for_reading(request.user, object_id)
            if case is None:
                return self._outside_authority(request)
            return self._render_review(request, case, decidable=mine, read_only=True)
        return self._render_review(request, case, decidable=mine)

    @case_action
    def open_view(self, request, case):
        """The queue's one-click "Open": claims the case when it is free, then shows it.

        A case someone else holds opens to read, saying who holds it until when; a case the
        person may not claim (the second review of their own first review) opens with why.
        """
        now = timezone.now()
        if claim_is_live(case, now) and case.claimed_by_id != request.user.pk:
            messages.info(request, held_message(case))
        elif not (case.claimed_by_id == request.user.pk and claim_is_live(case, now)):
            try:
                case = claim_case(case=case, reviewer=request.user)
            except DomainError as error:
                messages.warning(request, error.message)
            else:
                messages.success(request, claimed_message(case))
        return redirect(self._review_url(case))

    @case_action
    def claim_view(self, request, case):
        try:
            case = claim_case(case=case, reviewer=request.user)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, claimed_message(case))
        return redirect(self._review_url(case))

    @case_action
    def release_view(self, request, case):
        try:
            release_case(case=case, reviewer=request.user)
        except DomainError as error:
            messages.error(request, error.message)
            return redirect(self._review_url(case))
        messages.success(
            request, f"Case {str(case.pk)[:8]} is back in the queue for anyone to claim."
        )
        return redirect(self._queue_url())

    @case_action
    def take_over_view(self, request, case):
        try:
            case = take_over_claim(
                case=case, user=request.user, reason=request.POST.get("reason", "")
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                f"You took this case over and hold it until {clock_time(case.claim_expires_at)}: "
                "decide it.",
            )
        return redirect(self._review_url(case))

    @case_action
    def decide_view(self, request, case):
        """The former address of the decision form (kept for open tabs): same as a POST on the
        review URL."""
        return self._decide(request, case)

    def _decide(self, request, case):
        form = DecisionForm(
            request.POST, case=case, choices=allowed_outcomes(case=case, user=request.user)
        )
        try:
            # A case decided, taken or lapsed meanwhile says so first: the form's own problems
            # would not help. decide_case checks again under its lock.
            check_claim(case, request.user, timezone.now())
        except DomainError as error:
            messages.error(request, error.message)
            return self._render_review(request, case, form=form)
        if not form.is_valid():
            messages.error(request, "The decision was not recorded: see the form below.")
            return self._render_review(request, case, form=form)
        try:
            decision = decide_case(case=case, reviewer=request.user, decision=form.decision_input())
        except DomainError as error:
            messages.error(request, error.message)
            return self._render_review(request, case, form=form)
        messages.success(request, decided_message(decision))
        if request.POST.get("then") != THEN_NEXT:
            return redirect(self._queue_url())
        sample_audits = case.route_reason == RouteReason.SAMPLE_AUDIT
        following = claim_next_case(reviewer=request.user, sample_audits=sample_audits)
        if following is None:
            messages.info(request, "No more cases in your queue.")
            return redirect(self._queue_url() + ("?tab=audit" if sample_audits else ""))
        messages.info(
            request,
            f"Next: case {str(following.pk)[:8]}, yours until "
            f"{clock_time(following.claim_expires_at)}: decide it, or release it.",
        )
        return redirect(self._review_url(following))

    # Parts ------------------------------------------------------------------------------------

    def _reviewable_case(self, request, object_id, *, decidable=None):
        """The case if the user may decide it, None if not (403), Http404 if there is none."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        case = case_for_review(request.user, object_id, decidable=decidable)
        if case is None and not case_exists(object_id):
            raise Http404("There is no case with this id.")
        return case

    def _out_of_reach(self, request, object_id):
        """A POST on a case the person may not decide (any more): read-only with what happened
        if they took part in it; else the 403 page, saying what happened only to someone who
        holds authority on its journey (whose page may have shown it), nothing to a stranger."""
        user = request.user
        case = case_for_reading(user, object_id)
        if case is not None:
            messages.error(request, moved_on_message(case, user, decidable=False))
            return redirect(self._review_url(case))
        case = (
            Case.objects.select_related("journey", "required_level")
            .prefetch_related("decisions__reviewer")
            .get(pk=object_id)
        )
        if effective_grant(user, case.journey) is None:
            return self._outside_authority(request)
        return self._outside_authority(
            request, what_happened=moved_on_message(case, user, decidable=False)
        )

    def _outside_authority(self, request, *, what_happened: str = ""):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "This case is outside your authority",
            "queue_url": self._queue_url(),
            "what_happened": what_happened,
        }
        return TemplateResponse(
            request, "admin/oversight/case/review_forbidden.html", context, status=403
        )

    def _render_review(self, request, case, *, form=None, decidable=None, read_only=False):
        user = request.user
        now = timezone.now()
        decisions = list(case.decisions.all())
        holds_claim = not read_only and case.claimed_by_id == user.pk and claim_is_live(case, now)
        took_first_review = case.status == CaseStatus.AWAITING_SECOND_REVIEW and any(
            d.reviewer_id == user.pk
            and d.review_round == case.review_round
            and d.stage == DecisionStage.FIRST
            for d in decisions
        )
        if holds_claim and form is None:
            form = DecisionForm(case=case, choices=allowed_outcomes(case=case, user=user, at=now))
        mine = decidable if decidable is not None else decidable_cases(user, at=now)
        grant = effective_grant(user, case.journey, at=now)
        case_points = {point.pk for point in case.judgement_points.all()}
        sla_text, sla_breached = sla_summary(case, now)
        evaluation = case.evaluation
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Review: {case.journey.name} — {action_label(case.action_type) or 'case'}",
            "read_only": read_only,
            "case": case,
            "now": now,
            "sla_text": sla_text,
            "sla_breached": sla_breached,
            "matched_points": matched_points(case),
            "signals": evaluation.signals if evaluation else None,
            "server_signals": evaluation.server_signals if evaluation else None,
            "options": [option for option in case.options or [] if isinstance(option, str)],
            "decisions": decisions,
            "final_decision": final_decision(case),
            "escalations": escalation_rows(case, decisions),
            "earlier_cases": [
                (earlier, final_decision(earlier))
                for earlier in earlier_cases(case, limit=10, within=mine)
            ],
            "precedents": [
                (
                    precedent,
                    final_decision(precedent),
                    [p.name for p in precedent.judgement_points.all() if p.pk in case_points],
                )
                for precedent in precedents(case, limit=5, within=mine)
            ],
            "grant": grant,
            "holds_claim": holds_claim,
            "claim_live": claim_is_live(case, now),
            "claim_lapsed_for_you": case.claimed_by_id == user.pk and not holds_claim,
            "took_first_review": took_first_review,
            "can_claim": not read_only
            and case.status != CaseStatus.DECIDED
            and not took_first_review
            and not (claim_is_live(case, now) and case.claimed_by_id != user.pk),
            "can_take_over": not read_only and may_take_over(case, user, grant, now),
            "form": form,
            "next_key": NEXT_KEY,
            "then_next": THEN_NEXT,
            "seconds_held": (now - case.claimed_at).total_seconds()
            if holds_claim and case.claimed_at
            else None,
            "queue_url": self._queue_url(),
            "change_url": self.workspace_url("change", case.pk),
            "claim_url": self.workspace_url("review_claim", case.pk),
            "release_url": self.workspace_url("review_release", case.pk),
            "review_url": self._review_url(case),
            "take_over_url": self.workspace_url("review_take_over", case.pk),
            "review_url_name": f"admin:{self.workspace_url_name('review')}",
        }
        return TemplateResponse(request, "admin/oversight/case/review.html", context)

    def _review_url(self, case) -> str:
        return self.workspace_url("review", case.pk)

    def _queue_url(self) -> str:
        return self.workspace_url("queue")


def escalation_rows(case, decisions) -> list[tuple]:
    """The case's escalations and SLA breaches as (event, who): a person's name where a
    reviewer did it (from the decisions already loaded: no query), "automatically" otherwise."""
    names = {str(d.reviewer_id): person_name(d.reviewer) for d in decisions}
    return [
        (event, names.get(event.actor_id, "") or "automatically")
        if event.actor_type != "system"
        else (event, "automatically")
        for event in escalations(case)
    ]


def claimed_message(case) -> str:
    return (
        f"You hold this case until {clock_time(case.claim_expires_at)}: decide it, or release it."
    )


def may_take_over(case, user, grant, now: datetime.datetime) -> bool:
    """Whether the take-over button is worth showing: someone else holds a live claim and the
    user's level on the journey ranks above the holder's (the service checks again)."""
    if grant is None or case.claimed_by_id in (None, user.pk) or not claim_is_live(case, now):
        return False
    if case.status == CaseStatus.DECIDED:
        return False
    theirs = effective_grant(case.claimed_by, case.journey, at=now)
    return theirs is None or grant.level.rank > theirs.level.rank


def decided_message(decision) -> str:
    """What the reviewer is told after deciding: what happened to the case next."""
    case = decision.case
    short = str(case.pk)[:8]
    if case.status == CaseStatus.ESCALATED:
        return (
            f"Case {short} escalated: it waits for {case.required_level.name} in review round "
            f'{case.review_round}. Follow it under "Cases I escalated" in your queue.'
        )
    if case.status == CaseStatus.AWAITING_SECOND_REVIEW:
        return (
            f"First review of case {short} recorded ({decision.get_outcome_display()}): a "
            "different person must now take the second review."
        )
    override = " as an override" if decision.is_override else ""
    return f"Case {short} decided: {decision.get_outcome_display()}{override}."
