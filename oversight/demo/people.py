"""The demo's people: logins and roles, the managers of authority, and the grants they hold."""

import datetime
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from audit.services.ledger import Actor, append_event
from oversight.demo.records import (
    EMAIL_DOMAIN,
    LEAD_LEVEL,
    REVIEWER_LEVEL,
    SENIOR_LEVEL,
    _ensure,
    _Run,
    demo_id,
)
from oversight.models import (
    AISystemUserObjectPermission,
    AuthorityGrant,
)
from oversight.roles import COMPLIANCE_OFFICER, MANAGER, REVIEWER, TRAINER
from oversight.services.authority import (
    MANAGE_AI_SYSTEM,
    assign_manager,
    sync_authority_permissions,
)


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    full_name: str
    groups: tuple[str, ...] = ()
    is_superuser: bool = False


DEMO_LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin("admin", "demo-admin-2026", "Administrator (superuser)", "Alex Morgan", (), True),
    DemoLogin("reviewer", "demo-reviewer-2026", "Reviewer", "Amira Haddad", (REVIEWER,)),
    DemoLogin("senior", "demo-senior-2026", "Senior reviewer", "Daniel Okafor", (REVIEWER,)),
    DemoLogin(
        "lead",
        "demo-lead-2026",
        "Team lead (reviewer and manager)",
        "Sofia Lindqvist",
        (REVIEWER, MANAGER),
    ),
    DemoLogin("manager", "demo-manager-2026", "Manager", "Mark Ellison", (MANAGER,)),
    DemoLogin(
        "compliance",
        "demo-compliance-2026",
        "Compliance officer",
        "Hannah Weber",
        (COMPLIANCE_OFFICER,),
    ),
    DemoLogin("trainer", "demo-trainer-2026", "Trainer", "Leo Brennan", (TRAINER,)),
)
DEMO_USERNAMES = frozenset(login.username for login in DEMO_LOGINS)


# People ---------------------------------------------------------------------------------------


def _users(run: _Run) -> None:
    User = get_user_model()
    for login in DEMO_LOGINS:
        user = User.objects.filter(username=login.username).first()
        if user is not None:
            run.result.count("users", created=False)
            if not user.check_password(login.password):
                run.result.changed_passwords.append(login.username)
        else:
            first_name, last_name = login.full_name.split(" ", 1)
            user = User(
                username=login.username,
                email=f"{login.username}@{EMAIL_DOMAIN}",
                first_name=first_name,
                last_name=last_name,
                is_staff=True,
                is_superuser=login.is_superuser,
            )
            user.set_password(login.password)
            user.save()
            user.groups.set([Group.objects.get(name=name) for name in login.groups])
            run.result.count("users", created=True)
        run.users[login.username] = user


# Authority grants -----------------------------------------------------------------------------

# key: (username, level, scope: a journey slug or None for the whole AI system, days ago, why).
# The manager gives every grant but their own, which the administrator gave: nobody grants to
# themselves, and a manager never gives a level above the one they hold on the scope.
GRANTS = {
    "manager-system": (
        "manager",
        LEAD_LEVEL,
        None,
        100,
        "Owner of the support assistant: manages authority on it and may step in on any case.",
    ),
    "reviewer-refunds": (
        "reviewer",
        REVIEWER_LEVEL,
        "refunds",
        90,
        "Handles the refunds queue on the early shift; basics and data protection completed.",
    ),
    "reviewer-billing": (
        "reviewer",
        REVIEWER_LEVEL,
        "billing-disputes",
        90,
        "Covers billing disputes on Mondays and Thursdays.",
    ),
    "senior-system": (
        "senior",
        SENIOR_LEVEL,
        None,
        90,
        "Senior agent for every journey of the assistant; passed the override course.",
    ),
    "lead-system": (
        "lead",
        LEAD_LEVEL,
        None,
        90,
        "Team lead for customer support: final say on irreversible and large refunds.",
    ),
    # Four-eyes cases need two different team leads; the senior agent is the fraud specialist.
    "senior-identity": (
        "senior",
        LEAD_LEVEL,
        "identity-verification",
        30,
        "Fraud specialist: second reviewer for identity-verification four-eyes checks.",
    ),
}


GRANTED_BY_ADMIN = {"manager-system"}
# Managers of authority on the AI system (object permission, given by the administrator).
MANAGERS = ("manager", "lead")


def _grants(run: _Run) -> None:
    """Grants dated back in the story; their history rows carry the same date, so the authority
    register for a past day shows them, and the holders' guardian permissions follow."""
    for key, (username, level_name, journey_slug, days_ago, justification) in GRANTS.items():
        granter = run.users["admin" if key in GRANTED_BY_ADMIN else "manager"]
        valid_from = run.now - datetime.timedelta(days=days_ago)
        scope = (
            {"journey": run.journeys[journey_slug], "ai_system": None}
            if journey_slug
            else {"ai_system": run.system, "journey": None}
        )
        grant, created = _ensure(
            run,
            "authority grants",
            AuthorityGrant,
            lookup={"id": demo_id(f"grant:{key}")},
            defaults={
                "user": run.users[username],
                "level": run.levels[level_name],
                **scope,
                "valid_from": valid_from,
                "justification": justification,
                "granted_by": granter,
            },
            by=granter,
            history_date=valid_from,
        )
        if created:
            append_event(
                actor=Actor.for_user(granter),
                action="grant.created",
                obj=grant,
                payload={
                    "user": username,
                    "level": level_name,
                    "scope": str(grant.journey or grant.ai_system),
                    "valid_from": grant.valid_from,
                    "valid_until": grant.valid_until,
                    "justification": justification,
                },
            )
        run.grants[key] = grant
    for username in sorted({username for username, *_ in GRANTS.values()}):
        sync_authority_permissions(user=run.users[username], now=run.now)


def _managers(run: _Run) -> None:
    for username in MANAGERS:
        user = run.users[username]
        if AISystemUserObjectPermission.objects.filter(
            user=user, content_object=run.system, permission__codename=MANAGE_AI_SYSTEM
        ).exists():
            run.result.count("managers of authority", created=False)
            continue
        assign_manager(assigned_by=run.users["admin"], manager=user, ai_system=run.system)
        run.result.count("managers of authority", created=True)
