"""The reviewer workspace in the admin: "My queue" and the decision screen's URLs.

`ReviewerWorkspaceMixin` adds to the case admin:

- `case/queue/`: the cases the logged-in person may decide (invariant 2), most urgent first,
  sample audits in their own tab, filters as GET parameters, counts per state, paginated, at
  the same number of queries whatever the number of cases; and two tabs of the cases they took
  part in, "Cases I escalated" and "Decided by me", which open read-only once out of reach;
- `case/<id>/review/` and its open, claim, release and decide actions (`oversight.admin.review`).

Pages are for staff who may view cases (the Reviewer group's permission); which cases they see
comes from their authority grants only. Being a superuser grants no authority: a superuser
without grants sees an empty queue and cannot open a decision screen.
"""

import datetime
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from oversight.admin.review import ReviewScreenMixin, sla_summary
from oversight.models import Case, CaseStatus, DecisionOutcome, Priority, RouteReason
from oversight.review_history import (
    DECIDED_TAB,
    ESCALATED_TAB,
    PAST_TABS,
    past_cases,
    past_counts,
)
from oversight.review_selectors import (
    AUDIT_TAB,
    LIVE_TAB,
    QueueFilters,
    queue_filter_choices,
    queue_for,
    state_counts,
    tab_counts,
)
from oversight.selectors import final_decision
from oversight.services.authority import decidable_cases
from oversight.services.claims import claim_is_live

CASES_PER_PAGE = 50
TABS = [
    (LIVE_TAB, "Live cases"),
    (AUDIT_TAB, "Sample audits"),
    (ESCALATED_TAB, "Cases I escalated"),
    (DECIDED_TAB, "Decided by me"),
]
# How each tab's count reads: cases waiting, or cases the person took part in.
TAB_COUNT_WORDS = {LIVE_TAB: "waiting", AUDIT_TAB: "waiting"}
SLA_BREACHED, SLA_ON_TIME = "breached", "on_time"


class QueueFilterForm(forms.Form):
    """The queue's GET parameters; a value that is not a valid choice is ignored, not an error."""

    tab = forms.ChoiceField(choices=TABS, required=False)
    journey = forms.ChoiceField(required=False)
    judgement_point = forms.ChoiceField(required=False, label="Judgement point")
    route_reason = forms.ChoiceField(
        required=False,
        label="Route reason",
        choices=[("", "Any reason")]
        + [choice for choice in RouteReason.choices if choice[0] != RouteReason.SAMPLE_AUDIT],
    )
    state = forms.ChoiceField(
        required=False, choices=[("", "All waiting"), *CaseStatus.choices], label="State"
    )
    sla = forms.ChoiceField(
        required=False,
        label="SLA",
        choices=[("", "Any"), (SLA_BREACHED, "Breached"), (SLA_ON_TIME, "Within SLA")],
    )

    def __init__(self, data, *, journeys: list, points: list):
        super().__init__(data)
        self.fields["journey"].choices = [("", "Any journey"), *journeys]
        self.fields["judgement_point"].choices = [("", "Any point"), *points]

    def filters(self) -> QueueFilters:
        self.is_valid()
        valid = {name: self.cleaned_data.get(name, "") for name in self.fields}
        sla = valid["sla"]
        return QueueFilters(
            tab=valid["tab"] or LIVE_TAB,
            journey=valid["journey"],
            judgement_point=valid["judgement_point"],
            route_reason=valid["route_reason"] if valid["tab"] != AUDIT_TAB else "",
            state=valid["state"],
            sla_breached={SLA_BREACHED: True, SLA_ON_TIME: False}.get(sla),
        )


def query_string(params, **changes) -> str:
    """The current GET parameters with `changes` applied (None removes one); page reset."""
    values = {key: params.get(key) for key in params if key != "page"}
    values.update(changes)
    return "?" + urlencode({key: value for key, value in values.items() if value})


class QueueRow:
    """One line of the queue: the case and what the reviewer reads at a glance."""

    def __init__(self, case: Case, *, now: datetime.datetime, viewer):
        self.case = case
        self.sla_text, self.sla_breached = sla_summary(case, now)
        self.breached_before = case.sla_breached_at is not None
        self.points = [point.name for point in case.judgement_points.all()]
        self.reason = case.first_reason or ""
        self.priority = Priority(case.priority).label
        self.urgent = case.priority >= Priority.HIGH
        self.claimed_by_you = case.claimed_by_id == viewer.pk
        self.claim_lapsed = bool(case.claim_expires_at and case.claim_expires_at <= now)
        self.held_by_other = not self.claimed_by_you and claim_is_live(case, now)


class PastRow:
    """One line of "Cases I escalated" / "Decided by me": what I did, and what happened next."""

    def __init__(self, case: Case, *, now: datetime.datetime, viewer, tab: str):
        self.case = case
        decisions = list(case.decisions.all())
        escalating = tab == ESCALATED_TAB
        self.mine = [
            d
            for d in decisions
            if d.reviewer_id == viewer.pk and (d.outcome == DecisionOutcome.ESCALATE) == escalating
        ]
        self.latest_mine = self.mine[-1] if self.mine else None
        self.after = [
            d for d in decisions if self.latest_mine and d.decided_at > self.latest_mine.decided_at
        ]
        self.final = final_decision(case)
        self.held = case.claimed_by if claim_is_live(case, now) else None


class ReviewerWorkspaceMixin(ReviewScreenMixin):
    """Adds the queue and the decision screen to a Case ModelAdmin."""

    def get_urls(self):
        wrap = self.admin_site.admin_view
        # Before the default URLs: their "<object_id>/" catch-all would swallow these.
        return [
            path("queue/", wrap(self.queue_view), name=self.workspace_url_name("queue")),
            *self.review_urls(wrap),
            *super().get_urls(),
        ]

    def queue_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        now = timezone.now()
        user = request.user
        mine = decidable_cases(user, at=now)
        journeys, points = queue_filter_choices(user, at=now, decidable=mine)
        form = QueueFilterForm(request.GET, journeys=journeys, points=points)
        filters = form.filters()
        past = filters.tab in PAST_TABS
        cases = (
            past_cases(user, filters.tab)
            if past
            else queue_for(user, filters, at=now, decidable=mine)
        )
        page = Paginator(cases, CASES_PER_PAGE).get_page(request.GET.get("page"))
        counts = {**tab_counts(user, at=now, decidable=mine), **past_counts(user)}
        params = request.GET
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "My queue",
            "form": form,
            "filters": filters,
            "page": page,
            "page_links": [
                (number, query_string(params, page=number) if isinstance(number, int) else "")
                for number in page.paginator.get_elided_page_range(page.number)
            ],
            "rows": [
                PastRow(case, now=now, viewer=user, tab=filters.tab)
                if past
                else QueueRow(case, now=now, viewer=user)
                for case in page
            ],
            "past_tab": past,
            "escalated_tab": filters.tab == ESCALATED_TAB,
            "tabs": [
                {
                    "label": label,
                    "count": counts[value],
                    "count_words": TAB_COUNT_WORDS.get(value, ""),
                    "current": value == filters.tab,
                    "query": query_string(
                        {} if value in PAST_TABS else params,
                        tab=value if value != LIVE_TAB else None,
                        route_reason=None,
                    ),
                }
                for value, label in TABS
            ],
            "states": [
                {
                    "label": count.label,
                    "count": count.count,
                    "current": count.state == filters.state,
                    "query": query_string(params, state=count.state or None),
                }
                for count in ([] if past else state_counts(user, filters, at=now, decidable=mine))
            ],
            "filtered": any(
                [filters.journey, filters.judgement_point, filters.route_reason, params.get("sla")]
            ),
            "reset_query": query_string({"tab": params.get("tab")}),
            "now": now,
            "audit_tab": filters.tab == AUDIT_TAB,
            "review_url_name": f"admin:{self.workspace_url_name('review')}",
            "open_url_name": f"admin:{self.workspace_url_name('review_open')}",
            "changelist_url": self.workspace_url("changelist"),
        }
        return TemplateResponse(request, "admin/oversight/case/queue.html", context)
