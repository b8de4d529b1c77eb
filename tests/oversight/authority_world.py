"""A small organisation for the authority tests: two AI systems, levels, training, a manager.

`world()` builds it at the frozen moment NOW. The manager manages the support assistant (not
the credit checker) and holds Senior reviewer on it themselves. Every level requires the
override course: the manager, Rhea and Sam have it current until 2027-03-01; Una has none.
"""

import datetime
from dataclasses import dataclass

from django.contrib.auth.models import Group
from django_q.models import Schedule

from audit.models import AuditEvent
from oversight.models import (
    AISystemUserObjectPermission,
    AuthorityGrant,
    JourneyUserObjectPermission,
)
from oversight.roles import MANAGER
from oversight.services.authority import DECIDE, OVERRIDE, assign_manager
from tests.factories import (
    AISystemFactory,
    AuthorityGrantFactory,
    AuthorityLevelFactory,
    JourneyFactory,
    SuperUserFactory,
    TrainingCompletionFactory,
    TrainingModuleFactory,
    TrainingModuleVersionFactory,
    TrainingRequirementFactory,
    UserFactory,
)

NOW = datetime.datetime(2026, 6, 1, 9, 0, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)


@dataclass
class World:
    admin: object
    manager: object
    rhea: object
    sam: object
    untrained: object
    reviewer: object
    senior: object
    lead: object
    course: object
    course_version: object
    assistant: object
    refunds: object
    billing: object
    checker: object
    credit: object
    manager_grant: object


def train(user, version, *, completed_on: datetime.date):
    return TrainingCompletionFactory(user=user, module_version=version, completed_on=completed_on)


def world() -> World:
    """Build the organisation; call it inside `time_machine.travel(NOW, tick=False)`."""
    admin = SuperUserFactory(username="admin")
    manager = UserFactory(username="mark", first_name="Mark", last_name="Ellison", is_staff=True)
    manager.groups.add(Group.objects.get(name=MANAGER))
    rhea = UserFactory(username="rhea", first_name="Rhea", last_name="Stone", is_staff=True)
    sam = UserFactory(username="sam", first_name="Sam", last_name="Okafor", is_staff=True)
    untrained = UserFactory(username="una", first_name="Una", last_name="Lane", is_staff=True)

    reviewer = AuthorityLevelFactory(name="Reviewer", rank=1)
    senior = AuthorityLevelFactory(name="Senior reviewer", rank=2, may_override=True)
    lead = AuthorityLevelFactory(
        name="Team lead", rank=3, may_override=True, may_approve_irreversible=True
    )
    course = TrainingModuleFactory(slug="override-course", title="Overriding the assistant")
    version = TrainingModuleVersionFactory(
        module=course, published_on=datetime.date(2026, 1, 1), validity_months=12
    )
    for level in (reviewer, senior, lead):
        TrainingRequirementFactory(module=course, authority_level=level)
    for person in (manager, rhea, sam):
        train(person, version, completed_on=datetime.date(2026, 3, 1))

    assistant = AISystemFactory(slug="support-assistant", name="Support assistant")
    refunds = JourneyFactory(ai_system=assistant, slug="refunds", name="Refunds")
    billing = JourneyFactory(ai_system=assistant, slug="billing", name="Billing")
    checker = AISystemFactory(slug="credit-checker", name="Credit checker")
    credit = JourneyFactory(ai_system=checker, slug="credit", name="Credit limits")

    assign_manager(assigned_by=admin, manager=manager, ai_system=assistant)
    manager_grant = AuthorityGrantFactory(
        user=manager,
        level=senior,
        ai_system=assistant,
        journey=None,
        granted_by=admin,
        valid_from=NOW - 30 * DAY,
        justification="Owner of the support assistant.",
    )
    return World(
        admin=admin,
        manager=manager,
        rhea=rhea,
        sam=sam,
        untrained=untrained,
        reviewer=reviewer,
        senior=senior,
        lead=lead,
        course=course,
        course_version=version,
        assistant=assistant,
        refunds=refunds,
        billing=billing,
        checker=checker,
        credit=credit,
        manager_grant=manager_grant,
    )


def queue_permissions(user=None) -> set[tuple[str, str, str]]:
    """(username, journey slug, codename) of every decide/override row, or one person's."""
    rows = JourneyUserObjectPermission.objects.filter(permission__codename__in=[DECIDE, OVERRIDE])
    if user is not None:
        rows = rows.filter(user=user)
    return set(rows.values_list("user__username", "content_object__slug", "permission__codename"))


def snapshot() -> dict:
    """Everything a refused authority action must leave as it was."""
    return {
        "grants": AuthorityGrant.objects.count(),
        "grant versions": AuthorityGrant.history.count(),
        "revoked": AuthorityGrant.objects.filter(revoked_at__isnull=False).count(),
        "ends": sorted(
            str(end) for end in AuthorityGrant.objects.values_list("valid_until", flat=True)
        ),
        "audit events": AuditEvent.objects.count(),
        "journey permissions": sorted(queue_permissions()),
        "AI system permissions": AISystemUserObjectPermission.objects.count(),
        "schedules": Schedule.objects.count(),
    }
