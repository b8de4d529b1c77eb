"""The oversight dashboard: who may see it, what it shows, drill-down, and its query count."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from oversight.admin.dashboard import bar_svg, trend_svg
from oversight.models import GateEvaluation, Route
from oversight.roles import COMPLIANCE_OFFICER, MANAGER, REVIEWER
from tests.factories import CaseFactory, DecisionFactory, OutcomeFactory, UserFactory
from tests.oversight.test_metrics import Data

pytestmark = pytest.mark.django_db
URL = "/admin/oversight/dashboard/"
NOW = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)


@pytest.fixture
def data():
    return Data()


def person(role):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.mark.parametrize("role", [MANAGER, COMPLIANCE_OFFICER])
def test_managers_and_compliance_officers_see_the_figures(client, data, frozen, role):
    client.force_login(person(role))
    response = client.get(URL)
    assert response.status_code == 200
    overall = response.context["overall"]
    assert (overall["figures"].gate_calls, overall["figures"].cases_decided) == (7, 5)
    # the report's definitions: blocked calls apart, overrides once per case judged
    assert (overall["routed_share"], overall["blocked_share"]) == ("42.9 %", "14.3 %")
    assert overall["override_rate"] == "66.7 %"
    assert response.context["time_to_decision"].median == 1800.0
    assert "median 30 min, 90th percentile" in response.content.decode()
    journeys = {row["label"]: row for row in response.context["journeys"]}
    assert journeys["Support / Refunds"]["routed_share"] == "75.0 %"
    assert journeys["Credit / Limits"]["figures"].sla_breaches == 1
    content = response.content.decode()
    assert content.count('role="img"') == 3  # the trend, the points' bars, the bands' bars
    assert 'aria-label="Override rate per AI confidence band"' in content
    assert "<polyline" in content
    assert "http" not in content.split("<h2>Overall</h2>")[1].split("</svg>")[0].replace(
        "http://www.w3.org/2000/svg", ""
    )  # nothing fetched from elsewhere


def test_the_ai_system_filter_and_period_narrow_the_figures(client, data, frozen):
    client.force_login(person(MANAGER))
    response = client.get(URL, {"ai_system": str(data.s2.pk), "days": "7"})
    assert response.context["days"] == 7
    assert [row["label"] for row in response.context["journeys"]] == ["Credit / Limits"]
    assert response.context["overall"]["figures"].gate_calls == 0  # May 14 is before the week


def test_a_superuser_sees_it_and_the_index_links_to_it(client, data, frozen):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.get(URL).status_code == 200
    assert URL in client.get("/admin/").content.decode()


def test_a_reviewer_may_not_see_the_dashboard(client, data, frozen):
    reviewer = person(REVIEWER)
    client.force_login(reviewer)
    assert client.get(URL).status_code == 403
    assert URL not in client.get("/admin/").content.decode()


def test_numbers_link_to_the_cases_behind_them(client, data, frozen):
    client.force_login(person(MANAGER))
    response = client.get(URL)
    overall = response.context["overall"]
    listed = client.get(overall["decided_url"])
    assert {case.pk for case in listed.context["cl"].result_list} == {
        data.c1.pk,
        data.c2.pk,
        data.c3.pk,
        data.c4.pk,
        data.c5.pk,
    }
    overridden = client.get(overall["overridden_url"]).context["cl"].result_list
    assert {case.pk for case in overridden} == {data.c2.pk, data.c3.pk}
    limits = next(row for row in response.context["journeys"] if row["label"] == "Credit / Limits")
    breached = client.get(limits["breached_url"]).context["cl"].result_list
    assert [case.pk for case in breached] == [data.c6.pk]


def test_a_malformed_figure_link_lists_nothing(client, data, frozen):
    client.force_login(person(MANAGER))
    response = client.get("/admin/oversight/case/", {"figure": "decided~x~y"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []


def more_rows(data, n):
    """n more gate calls, cases, decisions and outcomes in the same journeys and points."""
    day = datetime.datetime(2026, 5, 20, 10, tzinfo=datetime.UTC)
    for i in range(n):
        GateEvaluation.objects.create(
            ai_system=data.s1,
            journey=data.j1,
            action_type="refund",
            route=Route.HUMAN,
            created_at=day,
        )
        case = CaseFactory(
            journey=data.j1,
            required_level=data.p1.required_level,
            opened_at=day,
            status="decided",
            decided_at=day + datetime.timedelta(minutes=i + 1),
        )
        case.judgement_points.set([data.p1])
        DecisionFactory(case=case, reviewer=data.r1, decided_at=case.decided_at)
        OutcomeFactory(case=case, customer_effort=3, reported_at=day)


def dashboard_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    return len(queries)


def test_the_query_count_does_not_grow_with_the_rows(client, data, frozen):
    client.force_login(person(MANAGER))
    client.get(URL)  # warm the session and permission caches
    few = dashboard_queries(client)
    more_rows(data, 25)
    assert dashboard_queries(client) == few


def test_the_trend_leaves_gaps_and_the_bars_scale_to_the_rate():
    days = [datetime.date(2026, 5, d) for d in (1, 2, 3)]
    svg = trend_svg(days, {"Override rate": [0.0, None, 1.0]})
    assert svg.count("<polyline") == 2  # two single-point runs around the gap
    assert "1 May 2026" in svg and "3 May 2026" in svg
    bars = bar_svg([("Refunds / <b>low</b>", 0.5)])
    assert "&lt;b&gt;low&lt;/b&gt;" in bars
    assert 'width="165.0"' in bars  # half of the 330-pixel plot
    assert "50.0 %" in bars


def test_the_dashboard_shows_the_reports_figures_with_the_reports_definitions(client, data, frozen):
    """The same definitions as the oversight report: blocked calls on their own, escalations
    by cause, overrides of the cases judged; and the report's own sentences for them."""
    from django.utils.html import escape

    from oversight.metrics import Period, Scope, figures
    from oversight.metrics.definitions import BY_KEY

    client.force_login(person(MANAGER))
    response = client.get(URL, {"days": 31})
    overall = response.context["overall"]
    period = response.context["period"]
    same = figures(period=Period(start=period.start, end=period.end), scope=Scope())
    assert overall["figures"] == same
    content = response.content.decode()
    assert f"{same.overrides} of {same.cases_judged} cases judged" in content
    assert (
        f"{same.escalations_all} ({same.escalations} by a reviewer, {same.sla_breaches} for a "
        f"missed SLA, {same.four_eyes_disagreements} four-eyes disagreements)"
    ) in content
    assert "<th>Blocked</th>" in content
    for key in ("routed_share", "blocked_share", "overrides", "escalations_all"):
        assert escape(BY_KEY[key].definition) in content


def test_no_figure_on_the_dashboard_is_in_raw_seconds_and_the_period_names_its_zone(
    client, data, frozen, settings
):
    import re

    settings.TIME_ZONE = "Europe/Paris"
    client.force_login(person(MANAGER))

    content = client.get(URL).content.decode()

    assert not re.search(r"\d{3,} s\b", content)
    assert "From 2 May 2026, 02:00 CEST to 1 Jun 2026, 02:00 CEST" in content
    assert "UTC" not in content
    assert "counts only the time a reviewer spent, from claiming a case to deciding it" in content


def test_a_long_bar_label_is_shortened_at_a_word_with_the_whole_label_in_its_title():
    label = "Support assistant / Refunds above the customer's usual amount"

    bars = str(bar_svg([(label, 0.25)]))

    shown = bars.split("</title>")[1].split("</text>")[0]
    assert shown == "Support assistant / Refunds above the…"
    assert (
        "<title>Support assistant / Refunds above the customer&#x27;s usual amount</title>" in bars
    )
    assert 'viewBox="0 0 640 22"' in bars


def test_the_trends_day_labels_stay_inside_the_picture():
    days = [datetime.date(2026, 5, 1) + datetime.timedelta(days=n) for n in range(30)]

    svg = str(trend_svg(days, {"Override rate": [0.5] * 30}))

    assert 'text-anchor="start">1 May 2026</text>' in svg
    assert 'x="630.0" y="180" font-size="10" text-anchor="end">30 May 2026</text>' in svg
    assert 'viewBox="0 0 640 186"' in svg


def roll_up_everything():
    from oversight.services.day_summaries import KINDS, roll_up
    from oversight.services.rollups import roll_up_gate_days

    roll_up_gate_days()
    for kind in KINDS:
        roll_up(kind)


# The page's queries with every closed day summarised: a fixed number, whatever the rows (the
# figures read GateDay, DecisionDay, OutcomeDay and DecidedCaseDay for the whole days, and the
# rows only for the period's partial days and what is not summarised yet).
DASHBOARD_MAX_QUERIES = 40


def test_the_dashboard_reads_summaries_in_a_pinned_number_of_queries(
    client, data, frozen, django_assert_max_num_queries
):
    client.force_login(person(MANAGER))
    roll_up_everything()
    client.get(URL)  # warm the session and permission caches
    with django_assert_max_num_queries(DASHBOARD_MAX_QUERIES):
        response = client.get(URL)
    shown = response.context["overall"]["figures"]
    few = dashboard_queries(client)
    more_rows(data, 25)  # written on a summarised day: counted at once (the day is stale)
    assert client.get(URL).context["overall"]["figures"].live_decisions == (
        shown.live_decisions + 25
    )
    roll_up_everything()
    with django_assert_max_num_queries(DASHBOARD_MAX_QUERIES):
        assert client.get(URL).context["overall"]["figures"].live_decisions == (
            shown.live_decisions + 25
        )
    assert dashboard_queries(client) == few
