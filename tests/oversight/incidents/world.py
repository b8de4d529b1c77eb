"""A small world for the incident register: two AI systems, one person per role, a case each."""

import dataclasses

from django.contrib.auth.models import Group

from oversight.models import AISystem, Case, IncidentClass, IncidentSource
from oversight.roles import COMPLIANCE_OFFICER, MANAGER, REVIEWER, TRAINER
from oversight.services.authority import assign_manager
from oversight.services.incidents import raise_incident
from tests import factories


@dataclasses.dataclass
class IncidentWorld:
    system: AISystem
    other_system: AISystem
    case: Case
    other_case: Case
    officer: object
    manager: object
    other_manager: object
    reviewer: object
    trainer: object
    admin: object


def _person(username: str, *groups: str):
    user = factories.StaffUserFactory(username=username)
    user.groups.set([Group.objects.get(name=name) for name in groups])
    return user


def incident_world() -> IncidentWorld:
    admin = factories.SuperUserFactory(username="incident-admin")
    system = factories.AISystemFactory(name="Refund assistant", slug="refunds")
    other_system = factories.AISystemFactory(name="Identity checker", slug="identity")
    case = factories.CaseFactory(journey=factories.JourneyFactory(ai_system=system))
    other_case = factories.CaseFactory(journey=factories.JourneyFactory(ai_system=other_system))
    manager = _person("incident-manager", MANAGER)
    other_manager = _person("incident-other-manager", MANAGER)
    assign_manager(assigned_by=admin, manager=manager, ai_system=system)
    assign_manager(assigned_by=admin, manager=other_manager, ai_system=other_system)
    return IncidentWorld(
        system=system,
        other_system=other_system,
        case=case,
        other_case=other_case,
        officer=_person("incident-officer", COMPLIANCE_OFFICER),
        manager=manager,
        other_manager=other_manager,
        reviewer=_person("incident-reviewer", REVIEWER),
        trainer=_person("incident-trainer", TRAINER),
        admin=admin,
    )


def raise_one(w: IncidentWorld, *, by=None, **overrides):
    values = {
        "by": by or w.officer,
        "ai_system": w.system,
        "title": "Refunds withheld from a group of customers",
        "what_happened": "The assistant refused refunds it should have granted.",
        "affected": "About 40 customers",
        "incident_class": IncidentClass.OTHER,
        "source": IncidentSource.CASE,
        "case": w.case,
    }
    values.update(overrides)
    return raise_incident(**values)
