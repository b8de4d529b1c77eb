"""Per-person training status: required modules, current / expiring / expired / missing."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from literacy.services.status import (
    CURRENT,
    EXPIRED,
    EXPIRING,
    MISSING,
    training_status,
    training_status_by_user,
)
from tests.factories import (
    AuthorityGrantFactory,
    AuthorityLevelFactory,
    TrainingCompletionFactory,
    TrainingModuleFactory,
    TrainingModuleVersionFactory,
    TrainingRequirementFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def at(year, month, day):
    return datetime.datetime(year, month, day, 12, tzinfo=datetime.UTC)


def states(statuses):
    return {status.module.slug: status.state for status in statuses}


@pytest.fixture
def level():
    return AuthorityLevelFactory(name="Senior reviewer")


def holder_of(level, **grant):
    user = UserFactory()
    AuthorityGrantFactory(user=user, level=level, sync_permissions=False, **grant)
    return user


def completed(user, version, completed_on):
    return TrainingCompletionFactory(user=user, module_version=version, completed_on=completed_on)


def test_nothing_required_means_an_empty_list():
    assert training_status(UserFactory()) == []


@time_machine.travel(at(2026, 6, 1), tick=False)
def test_each_required_module_gets_its_state_and_completion(level):
    user = holder_of(level)
    role = Group.objects.create(name="Refund desk")
    user.groups.add(role)
    modules = {
        slug: TrainingModuleVersionFactory(module=TrainingModuleFactory(slug=slug, title=slug))
        for slug in ["a-current", "b-expiring", "c-expired", "d-missing", "e-role"]
    }
    for slug in ["a-current", "b-expiring", "c-expired", "d-missing"]:
        TrainingRequirementFactory(module=modules[slug].module, authority_level=level)
    TrainingRequirementFactory(module=modules["e-role"].module, authority_level=None, group=role)
    current = completed(user, modules["a-current"], datetime.date(2026, 5, 1))
    completed(user, modules["b-expiring"], datetime.date(2025, 6, 30))  # expires 30 June 2026
    completed(user, modules["c-expired"], datetime.date(2025, 6, 1))  # expired on 1 June
    completed(user, modules["e-role"], datetime.date(2026, 1, 2))
    # Not required of this person: not reported.
    completed(user, TrainingModuleVersionFactory(), datetime.date(2026, 5, 1))

    statuses = training_status(user)

    assert states(statuses) == {
        "a-current": CURRENT,
        "b-expiring": EXPIRING,
        "c-expired": EXPIRED,
        "d-missing": MISSING,
        "e-role": CURRENT,
    }
    by_slug = {status.module.slug: status for status in statuses}
    assert by_slug["a-current"].completion == current
    assert by_slug["d-missing"].completion is None
    assert by_slug["e-role"].required_by == ("role Refund desk",)
    assert by_slug["a-current"].required_by == ("level Senior reviewer",)
    assert [s.is_current for s in statuses] == [True, True, False, False, True]


@time_machine.travel(at(2026, 6, 1), tick=False)
def test_the_expiring_window_is_configurable(level):
    user = holder_of(level)
    version = TrainingModuleVersionFactory()
    TrainingRequirementFactory(module=version.module, authority_level=level)
    completed(user, version, datetime.date(2025, 6, 20))  # expires 20 June 2026

    assert training_status(user)[0].state == EXPIRING
    assert training_status(user, expiring_within_days=7)[0].state == CURRENT
    assert training_status(user, expiring_within_days=19)[0].state == EXPIRING
    assert training_status(user, expiring_within_days=18)[0].state == CURRENT


@pytest.mark.parametrize(
    ("completed_on", "months", "last_current_day", "first_expired_day"),
    [
        # 31 January plus one month ends on the last day of February.
        (datetime.date(2026, 1, 31), 1, datetime.date(2026, 2, 27), datetime.date(2026, 2, 28)),
        # In a leap year, 29 February.
        (datetime.date(2028, 1, 31), 1, datetime.date(2028, 2, 28), datetime.date(2028, 2, 29)),
        # A leap day plus a year lands on 28 February.
        (datetime.date(2028, 2, 29), 12, datetime.date(2029, 2, 27), datetime.date(2029, 2, 28)),
        (datetime.date(2026, 8, 31), 3, datetime.date(2026, 11, 29), datetime.date(2026, 11, 30)),
    ],
)
def test_expiry_at_month_ends_and_leap_years(
    level, completed_on, months, last_current_day, first_expired_day
):
    user = holder_of(level, valid_from=at(2020, 1, 1))
    version = TrainingModuleVersionFactory(
        validity_months=months, published_on=datetime.date(2020, 1, 1)
    )
    TrainingRequirementFactory(module=version.module, authority_level=level)
    completion = completed(user, version, completed_on)

    with time_machine.travel(at(*last_current_day.timetuple()[:3]), tick=False):
        [status] = training_status(user, expiring_within_days=0)
        assert (status.state, status.completion) == (CURRENT, completion)
    with time_machine.travel(at(*first_expired_day.timetuple()[:3]), tick=False):
        [status] = training_status(user)
        assert (status.state, status.completion) == (EXPIRED, completion)
        assert status.expires_on == first_expired_day


def test_at_answers_for_a_past_day_without_moving_the_clock(level):
    user = holder_of(level, valid_from=at(2025, 1, 1))
    version = TrainingModuleVersionFactory(published_on=datetime.date(2025, 1, 1))
    TrainingRequirementFactory(module=version.module, authority_level=level)
    completed(user, version, datetime.date(2025, 3, 1))

    assert training_status(user, at=datetime.date(2025, 2, 28))[0].state == MISSING
    assert training_status(user, at=at(2025, 3, 1))[0].state == CURRENT
    assert training_status(user, at=datetime.date(2026, 2, 15))[0].state == EXPIRING
    assert training_status(user, at=datetime.date(2026, 3, 1))[0].state == EXPIRED


@time_machine.travel(at(2026, 6, 1), tick=False)
@pytest.mark.parametrize(
    ("requires_requalification", "expected"), [(True, MISSING), (False, CURRENT)]
)
def test_a_new_version_requiring_requalification_stops_old_completions_counting(
    level, requires_requalification, expected
):
    user = holder_of(level)
    first = TrainingModuleVersionFactory(version=1, published_on=datetime.date(2026, 1, 1))
    TrainingRequirementFactory(module=first.module, authority_level=level)
    old = completed(user, first, datetime.date(2026, 2, 1))
    TrainingModuleVersionFactory(
        module=first.module,
        version=2,
        published_on=datetime.date(2026, 5, 1),
        requires_requalification=requires_requalification,
    )

    [status] = training_status(user)

    assert status.state == expected
    if requires_requalification:
        assert status.completion is None
        assert status.detail == "version 1 completed; version 2 requires re-qualification"
        # Before the new version was published, the old completion counted.
        assert training_status(user, at=datetime.date(2026, 4, 30))[0].completion == old
    else:
        assert status.completion == old


@time_machine.travel(at(2026, 6, 1), tick=False)
def test_the_completion_expiring_last_is_the_one_reported(level):
    user = holder_of(level)
    version = TrainingModuleVersionFactory()
    TrainingRequirementFactory(module=version.module, authority_level=level)
    completed(user, version, datetime.date(2026, 1, 10))
    latest = completed(user, version, datetime.date(2026, 5, 10))
    TrainingCompletionFactory(
        user=user, module_version=version, completed_on=datetime.date(2026, 5, 20), passed=False
    )

    assert training_status(user)[0].completion == latest


@time_machine.travel(at(2026, 6, 1), tick=False)
def test_ended_or_revoked_grants_require_nothing_but_future_ones_do(level):
    version = TrainingModuleVersionFactory()
    TrainingRequirementFactory(module=version.module, authority_level=level)
    ended = holder_of(level, valid_from=at(2025, 1, 1), valid_until=at(2026, 5, 1))
    revoked = holder_of(level, revoked_at=at(2026, 5, 31), revocation_reason="Left the team.")
    future = holder_of(level, valid_from=at(2026, 7, 1))

    assert training_status(ended) == []
    assert training_status(revoked) == []
    assert states(training_status(future)) == {version.module.slug: MISSING}


@time_machine.travel(at(2026, 6, 1), tick=False)
def test_query_count_does_not_grow_with_modules_or_people(level):
    def make_people(count, modules):
        people = []
        for _ in range(count):
            user = holder_of(level)
            for version in modules:
                completed(user, version, datetime.date(2026, 3, 1))
            people.append(user)
        return people

    few_modules = [TrainingModuleVersionFactory() for _ in range(2)]
    for version in few_modules:
        TrainingRequirementFactory(module=version.module, authority_level=level)
    few = make_people(2, few_modules)
    with CaptureQueriesContext(connection) as small:
        training_status_by_user([u.pk for u in few])
    more_modules = [TrainingModuleVersionFactory() for _ in range(5)]
    for version in more_modules:
        TrainingRequirementFactory(module=version.module, authority_level=level)
    many = make_people(10, few_modules + more_modules)
    with CaptureQueriesContext(connection) as large:
        result = training_status_by_user([u.pk for u in many])
    with CaptureQueriesContext(connection) as single:
        training_status(many[0])

    assert len(small) == len(large) == len(single) == 7
    assert all(len(statuses) == 7 for statuses in result.values())
