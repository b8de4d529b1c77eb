"""The demo's AI-literacy training: modules, what each level requires, and who completed what
(one refresher about to expire, one that lapsed during the story and was renewed)."""

import datetime
from decimal import Decimal

from django.contrib.auth.models import Group

from literacy.expiry import add_months
from literacy.models import (
    Topic,
    TrainingCompletion,
    TrainingModule,
    TrainingModuleVersion,
    TrainingRequirement,
)
from literacy.services.completions import record_completion
from oversight.demo.records import (
    LEAD_LEVEL,
    REVIEWER_LEVEL,
    SENIOR_LEVEL,
    _ensure,
    _Run,
)
from oversight.roles import COMPLIANCE_OFFICER, MANAGER, REVIEWER

MODULES = (
    {
        "slug": "ai-literacy-basics",
        "title": "AI literacy basics",
        "topics": [
            Topic.CAPABILITIES_AND_LIMITS,
            Topic.AUTOMATION_BIAS,
            Topic.INTERPRETING_OUTPUTS,
        ],
        "audience": (REVIEWER, MANAGER, COMPLIANCE_OFFICER),
        "summary": "What a language-model assistant can and cannot do, why a confident answer "
        "can still be wrong, and how to read confidence scores and their reasons.",
        "validity_months": 12,
        "published_on": datetime.date(2026, 1, 12),
    },
    {
        "slug": "overriding-the-support-assistant",
        "title": "Overriding the support assistant",
        "topics": [Topic.OVERRIDING, Topic.ESCALATION_AND_STOP, Topic.INTERPRETING_OUTPUTS],
        "audience": (REVIEWER,),
        "summary": "When to overrule the assistant, how to record a reason and a rationale, "
        "when to escalate, and how to pause a journey with the stop button.",
        "validity_months": 12,
        "published_on": datetime.date(2026, 2, 2),
    },
    {
        "slug": "data-protection-for-reviewers",
        "title": "Data protection for reviewers",
        "topics": [Topic.DATA_PROTECTION],
        "audience": (REVIEWER,),
        "summary": "Personal data in cases and drafts: what a reviewer may look at, copy and "
        "send, and what to do when a draft reply contains someone else's details.",
        "validity_months": 6,
        "published_on": datetime.date(2026, 1, 19),
    },
)

# Which modules each level must have current.
REQUIREMENTS = {
    REVIEWER_LEVEL: ("ai-literacy-basics", "data-protection-for-reviewers"),
    SENIOR_LEVEL: (
        "ai-literacy-basics",
        "data-protection-for-reviewers",
        "overriding-the-support-assistant",
    ),
    LEAD_LEVEL: (
        "ai-literacy-basics",
        "data-protection-for-reviewers",
        "overriding-the-support-assistant",
    ),
}

# (username, module slug, days ago, score). The reviewer failed the override course, which is
# why they hold no level that may override; their data-protection refresher is about to expire.
COMPLETIONS = (
    ("reviewer", "ai-literacy-basics", 100, "92"),
    ("reviewer", "overriding-the-support-assistant", 40, "72"),
    ("senior", "ai-literacy-basics", 120, "95"),
    ("senior", "overriding-the-support-assistant", 110, "86"),
    ("lead", "ai-literacy-basics", 130, "97"),
    ("lead", "data-protection-for-reviewers", 125, "91"),
    ("lead", "overriding-the-support-assistant", 120, "94"),
    # The manager holds the top level themselves (the ceiling for the grants they give), so
    # they hold its training too, from before their own grant.
    ("manager", "ai-literacy-basics", 140, "85"),
    ("manager", "data-protection-for-reviewers", 135, "88"),
    ("manager", "overriding-the-support-assistant", 130, "90"),
    ("compliance", "ai-literacy-basics", 50, "90"),
)
EXPIRING_COMPLETION = ("reviewer", "data-protection-for-reviewers", "88")
EXPIRING_IN_DAYS = 19
# (username, module slug, lapsed days ago, renewed days ago, scores): training that ran out
# during the story and was renewed. The senior reviewer decided nothing in between
# (oversight.demo.story asks for current training before anyone decides).
LAPSED_AND_RENEWED = (("senior", "data-protection-for-reviewers", 45, 33, ("90", "93")),)


def _training(run: _Run) -> None:
    _modules(run)
    _training_requirements(run)
    _completions(run)


def _modules(run: _Run) -> None:
    trainer = run.users["trainer"]
    for values in MODULES:
        module, created = _ensure(
            run,
            "training modules",
            TrainingModule,
            lookup={"slug": values["slug"]},
            defaults={"title": values["title"], "topics": list(values["topics"])},
            by=trainer,
        )
        if created:
            module.audience.set(Group.objects.filter(name__in=values["audience"]))
        run.versions[values["slug"]], _ = _ensure(
            run,
            "training module versions",
            TrainingModuleVersion,
            lookup={"module": module, "version": 1},
            defaults={
                "summary": values["summary"],
                "validity_months": values["validity_months"],
                "pass_mark": 80,
                "published_on": values["published_on"],
            },
            by=trainer,
        )


def _training_requirements(run: _Run) -> None:
    for level_name, slugs in REQUIREMENTS.items():
        for slug in slugs:
            _ensure(
                run,
                "training requirements",
                TrainingRequirement,
                lookup={
                    "module": run.versions[slug].module,
                    "authority_level": run.levels[level_name],
                },
                defaults={},
                by=run.users["trainer"],
                # In force since the module was published: authority is judged by the
                # requirements on record at each decision, and the story's decisions predate
                # this run.
                history_date=min(
                    run.now,
                    datetime.datetime.combine(
                        run.versions[slug].published_on, datetime.time(), tzinfo=datetime.UTC
                    ),
                ),
            )


def _completions(run: _Run) -> None:
    """Record completions through the literacy service, which derives expiry and audits them."""
    planned = [
        (username, slug, run.today - datetime.timedelta(days=days_ago), score)
        for username, slug, days_ago, score in COMPLETIONS
    ]
    username, slug, score = EXPIRING_COMPLETION
    validity = run.versions[slug].validity_months
    expires = run.today + datetime.timedelta(days=EXPIRING_IN_DAYS)
    planned.append((username, slug, add_months(expires, -validity), score))
    for username, slug, lapsed, renewed, (first_score, renewal_score) in LAPSED_AND_RENEWED:
        lapsed_on = run.today - datetime.timedelta(days=lapsed)
        validity = run.versions[slug].validity_months
        planned.append((username, slug, add_months(lapsed_on, -validity), first_score))
        planned.append(
            (username, slug, run.today - datetime.timedelta(days=renewed), renewal_score)
        )
    for username, slug, completed_on, score in planned:
        user, version = run.users[username], run.versions[slug]
        if TrainingCompletion.objects.filter(
            user=user, module_version=version, completed_on=completed_on
        ).exists():
            run.result.count("training completions", created=False)
            continue
        record_completion(
            user=user,
            module_version=version,
            completed_on=completed_on,
            recorded_by=run.users["trainer"],
            score=Decimal(score),
        )
        run.result.count("training completions", created=True)
