"""Demo data: the serious-incident register, one incident in each state, in the 90-day story.

Told through the incident services, dated back with their `at` arguments, so each incident
has the history and ledger events a real one would have: a refunds error found 75 days ago and
closed after its final report; a two-day incident reported to the authority in time a month
ago; one told to the provider and still within its deadline; one confirmed yesterday; one
suspected this morning with its two-day clock running; and a suggestion the product made from
an automated billing answer that was later reversed after a complaint, waiting for a person.
Each is found by its title on a second run, and nothing is added to it.
"""

import datetime
from dataclasses import dataclass

from audit.services.ledger import Actor, append_event
from oversight.demo.records import _Run, demo_id, save_dated
from oversight.demo.story import story_exists
from oversight.models import (
    Case,
    GateEvaluation,
    Incident,
    IncidentClass,
    IncidentSource,
    IncidentState,
    Outcome,
)
from oversight.services.incidents import advance_incident, raise_incident
from oversight.services.incidents.suggestions import suggest_incidents

S = IncidentState
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)
SUGGESTION_EVALUATION = "billing-explain-proration"


@dataclass(frozen=True)
class _Step:
    state: str
    after: datetime.timedelta  # after awareness
    by: str
    note: str = ""
    reference: str = ""


@dataclass(frozen=True)
class _IncidentSpec:
    title: str
    what_happened: str
    affected: str
    incident_class: str
    aware_ago: datetime.timedelta
    raised_by: str
    steps: tuple[_Step, ...] = ()


INCIDENTS = (
    _IncidentSpec(
        title="Refunds refused to customers with a valid warranty",
        what_happened="For four days the assistant read warranty dates as expired and refused "
        "refunds it should have granted; reviewers approved its proposals in the queue.",
        affected="About 60 customers who asked for a refund under warranty",
        incident_class=IncidentClass.OTHER,
        aware_ago=75 * DAY,
        raised_by="compliance",
        steps=(
            _Step(S.CONFIRMED, 6 * HOUR, "compliance"),
            _Step(S.REPORTED_TO_PROVIDER, 1 * DAY, "manager"),
            _Step(S.REPORTED_TO_AUTHORITY, 5 * DAY, "compliance", reference="MSA-2026-0311"),
            _Step(S.CLOSED, 25 * DAY, "compliance", "Final report sent; refunds re-issued."),
        ),
    ),
    _IncidentSpec(
        title="Identity checks locked out every customer with a new passport",
        what_happened="A document-reader update rejected all passports issued after a format "
        "change; accounts were frozen without a person looking.",
        affected="All customers verifying with a new passport (over 1,200 in two days)",
        incident_class=IncidentClass.WIDESPREAD,
        aware_ago=30 * DAY,
        raised_by="compliance",
        steps=(
            _Step(S.CONFIRMED, 2 * HOUR, "compliance"),
            _Step(S.REPORTED_TO_PROVIDER, 4 * HOUR, "lead"),
            _Step(S.REPORTED_TO_AUTHORITY, 30 * HOUR, "compliance", reference="MSA-2026-0577"),
        ),
    ),
    _IncidentSpec(
        title="Billing disputes closed with a wrong legal statement",
        what_happened="The assistant told customers that disputes after 30 days are barred, "
        "which is not the law; several dropped valid disputes.",
        affected="Customers who raised a billing dispute in one week (about 25)",
        incident_class=IncidentClass.OTHER,
        aware_ago=9 * DAY,
        raised_by="manager",
        steps=(
            _Step(S.CONFIRMED, 12 * HOUR, "compliance"),
            _Step(S.REPORTED_TO_PROVIDER, 1 * DAY, "compliance"),
        ),
    ),
    _IncidentSpec(
        title="Refund amounts doubled for split orders",
        what_happened="Orders shipped in two parcels were refunded in full twice.",
        affected="14 customers, and the company's accounts",
        incident_class=IncidentClass.OTHER,
        aware_ago=2 * DAY,
        raised_by="compliance",
        steps=(_Step(S.CONFIRMED, 1 * DAY, "compliance"),),
    ),
    _IncidentSpec(
        title="Vulnerable customer's complaint answered with a threat of account closure",
        what_happened="A reply drafted for a customer in financial hardship warned of closure; "
        "it was sent automatically.",
        affected="One customer in financial hardship; possibly others (under review)",
        incident_class=IncidentClass.WIDESPREAD,
        aware_ago=5 * HOUR,
        raised_by="compliance",
    ),
)


def _related_case(run: _Run, before: datetime.datetime) -> Case | None:
    return (
        Case.objects.filter(journey__ai_system=run.system, opened_at__lte=before)
        .order_by("-opened_at")
        .first()
    )


def _one(run: _Run, spec: _IncidentSpec) -> None:
    if Incident.objects.filter(ai_system=run.system, title=spec.title).exists():
        run.result.count("incidents", created=False)
        return
    aware = run.now - spec.aware_ago
    case = _related_case(run, aware)
    if case is None:
        return  # a story without cases that early: nothing to anchor the incident to
    incident = raise_incident(
        by=run.users[spec.raised_by],
        ai_system=run.system,
        title=spec.title,
        what_happened=spec.what_happened,
        affected=spec.affected,
        incident_class=spec.incident_class,
        source=IncidentSource.CASE,
        case=case,
        became_aware_at=aware,
        at=aware + HOUR if aware + HOUR < run.now else aware,
    )
    for step in spec.steps:
        incident = advance_incident(
            incident=incident,
            by=run.users[step.by],
            to_state=step.state,
            note=step.note,
            authority_reference=step.reference,
            at=aware + step.after,
        )
    run.result.count("incidents", created=True)


def _suggestion(run: _Run) -> None:
    """A reversal with a complaint on an automated answer, and the product's suggestion."""
    evaluation = GateEvaluation.objects.filter(id=demo_id(f"evaluation:{SUGGESTION_EVALUATION}"))
    evaluation = evaluation.first()
    outcome_id = demo_id(f"outcome:{SUGGESTION_EVALUATION}:reversed")
    if evaluation is None or Outcome.objects.filter(id=outcome_id).exists():
        return
    outcome = Outcome(
        id=outcome_id,
        evaluation=evaluation,
        reversed=True,
        complaint=True,
        note="The customer disputed the proration; the charge was refunded.",
        reported_at=run.now - 10 * HOUR,
        reported_by=run.system,
    )
    outcome._change_reason = f"Demo data: reported by seed_demo for AI system {run.system.slug}"
    save_dated(outcome, by=None, at=outcome.reported_at)
    run.result.count("outcomes", created=True)
    append_event(
        actor=Actor.system("seed_demo"),
        action="outcome.recorded",
        obj=outcome,
        payload={"evaluation": str(evaluation.pk), "complaint": True, "reversed": True},
    )
    run.result.count("incidents", created=True, number=len(suggest_incidents(now=run.now)))


def _incidents(run: _Run) -> None:
    """The incidents belong to the 90-day story: on a database seeded before the story they are
    not added (as the story is not), so a re-run there creates nothing."""
    if not story_exists():
        return
    for spec in INCIDENTS:
        _one(run, spec)
    _suggestion(run)
