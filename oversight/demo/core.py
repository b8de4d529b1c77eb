"""Demo data: Lumen Home, an online electronics retailer whose support assistant is overseen.

`seed_demo()` builds one coherent story: the people and their roles, the AI system and three
journeys, authority levels, judgement points with their triggers, training on file, grants of
authority, 90 days of gate calls, cases, decisions and outcomes (`story`: an override cluster,
a guardrail pause, a threshold change, a lapsed training), and the featured cases in every
state. The management command `seed_demo` calls it; the README lists `DEMO_LOGINS`.

Running it twice creates nothing the second time: every record is looked up first by a natural
key (username, slug, level name, reason code, module slug and version) or by a fixed UUID
derived from `DEMO_NAMESPACE`. Records that already exist are never changed, so a demo that
people have been clicking through keeps their work; the story is told whole or not at all
(its first case marks it told). Audit events are appended only for records created in this run.

Time: records and their history rows carry the moment the story gives them (configuration
before the oldest grant, each case at its gate call, each decision and outcome later). Ledger
events keep the moment of seeding: the hash chain is append-only and its times are its own;
the events of a dated pause, resume or threshold change name the story's moment in their
payload.
"""

import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from guardian.conf import settings as guardian_settings

from audit.services.ledger import Actor, append_event
from oversight.demo.configuration import (
    _ai_system,
    _authority_levels,
    _journeys,
    _judgement_points,
    _override_reasons,
)
from oversight.demo.featured import _automated_evaluations, _cases
from oversight.demo.incidents import _incidents
from oversight.demo.people import DEMO_USERNAMES, _grants, _managers, _users
from oversight.demo.records import (
    SET_UP_DAYS_AGO,
    SYSTEM_SLUG,
    SeedResult,
    _Run,
)
from oversight.demo.shadow import tell_shadow_story
from oversight.demo.story import summarise_gate_days, tell_the_story
from oversight.demo.training import _training
from oversight.models import AISystem


class ForeignDataError(Exception):
    """The database holds data that is not demo data; nothing was changed."""

    def __init__(self, findings: list[str]):
        super().__init__("; ".join(findings))
        self.findings = findings


def foreign_data() -> list[str]:
    """Describe what in the database is not demo data; an empty list means demo data only.

    django-guardian's anonymous user is created by migrations and does not count.
    """
    findings = []
    other_users = sorted(
        get_user_model()
        .objects.exclude(username__in=DEMO_USERNAMES)
        .exclude(username=guardian_settings.ANONYMOUS_USER_NAME)
        .values_list("username", flat=True)
    )
    if other_users:
        findings.append(f"{len(other_users)} other user(s): {_sample(other_users)}")
    other_systems = sorted(
        AISystem.objects.exclude(slug=SYSTEM_SLUG).values_list("slug", flat=True)
    )
    if other_systems:
        findings.append(f"{len(other_systems)} other AI system(s): {_sample(other_systems)}")
    return findings


def _sample(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"


def seed_demo(*, force: bool = False) -> SeedResult:
    """Create whatever demo data is missing, in one transaction.

    Refuses (ForeignDataError, nothing changed) when the database holds users or AI systems that
    are not the demo's, unless `force` is set: then the demo data is added alongside.
    """
    now = timezone.now()
    run = _Run(
        now=now,
        today=timezone.localdate(now),
        result=SeedResult(),
        set_up_at=now - datetime.timedelta(days=SET_UP_DAYS_AGO),
    )
    with transaction.atomic():
        findings = foreign_data()
        if findings and not force:
            raise ForeignDataError(findings)
        _users(run)
        _ai_system(run)
        _journeys(run)
        # Before the judgement points: only a manager of the system configures them.
        _managers(run)
        _authority_levels(run)
        _judgement_points(run)
        _override_reasons(run)
        _training(run)
        _grants(run)
        tell_the_story(run)
        _cases(run)
        _automated_evaluations(run)
        _incidents(run)
        tell_shadow_story(run)
        if run.result.created_anything:
            summarise_gate_days(run)
            append_event(
                actor=Actor.system("seed_demo"),
                action="demo.seeded",
                obj=run.system,
                payload={
                    kind: tally.created
                    for kind, tally in run.result.tallies.items()
                    if tally.created
                },
            )
    return run.result
