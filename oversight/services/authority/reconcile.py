"""Guardian permissions derived from grants, and their reconciliation as time passes.

Grants are the evidence; django-guardian object permissions are derived from them so queues
and APIs can filter with one query."""

import datetime
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.models import Schedule

from audit.models import AuditEvent, LedgerHead
from audit.services.ledger import Actor, append_event
from oversight.models import (
    AuthorityGrant,
    Case,
    CaseStatus,
    Journey,
    JourneyUserObjectPermission,
)
from oversight.services.authority.claims import release_claims_beyond_authority
from oversight.services.authority.effective import (
    DECIDE,
    OVERRIDE,
    effective_in_bulk,
    in_force_filter,
)
from oversight.services.authority.wording import moment_label

SYNC_TASK = "oversight.tasks.sync_user_authority"


def _queue_permission_ids() -> dict[str, int]:
    return dict(
        Permission.objects.filter(
            content_type__app_label="oversight", codename__in=[DECIDE, OVERRIDE]
        ).values_list("codename", "id")
    )


def wanted_permissions(*, at: datetime.datetime, user_ids=None) -> set[tuple]:
    """The (user id, journey id, permission codename) rows the grants call for at `at`.

    Effective grants only (in date, not revoked, active holder, training current) whose level
    may decide: `decide_journey` on each journey covered (every journey of an AI system for a
    system-wide grant), and `override_journey` too when the level may override. A fixed
    number of queries for any number of grants; `user_ids` limits it to some people.
    """
    grants = AuthorityGrant.objects.filter(
        in_force_filter(at), user__is_active=True, level__may_decide=True
    ).select_related("level", "journey")
    if user_ids is not None:
        grants = grants.filter(user_id__in=user_ids)
    effective = effective_in_bulk(list(grants), at)
    journeys_of: dict = {}
    system_ids = {g.ai_system_id for g in effective if g.ai_system_id}
    if system_ids:
        for journey_id, system_id in Journey.objects.filter(
            ai_system_id__in=system_ids
        ).values_list("id", "ai_system_id"):
            journeys_of.setdefault(system_id, []).append(journey_id)
    wanted = set()
    for grant in effective:
        journey_ids = (
            [grant.journey_id] if grant.journey_id else journeys_of.get(grant.ai_system_id, [])
        )
        for journey_id in journey_ids:
            wanted.add((grant.user_id, journey_id, DECIDE))
            if grant.level.may_override:
                wanted.add((grant.user_id, journey_id, OVERRIDE))
    return wanted


@dataclass
class PermissionChanges:
    added: list[tuple] = field(default_factory=list)
    removed: list[tuple] = field(default_factory=list)


def _sync_permissions(*, at: datetime.datetime, user_ids=None) -> PermissionChanges:
    """Add the missing and delete the stray decide/override rows, in bulk."""
    permission_ids = _queue_permission_ids()
    codenames = {pk: codename for codename, pk in permission_ids.items()}
    wanted = wanted_permissions(at=at, user_ids=user_ids)
    rows = JourneyUserObjectPermission.objects.filter(permission_id__in=codenames)
    if user_ids is not None:
        rows = rows.filter(user_id__in=user_ids)
    present = {
        (user_id, journey_id, codenames[permission_id]): row_id
        for row_id, user_id, journey_id, permission_id in rows.values_list(
            "id", "user_id", "content_object_id", "permission_id"
        )
    }
    missing = sorted(wanted - present.keys(), key=str)
    stray = sorted(present.keys() - wanted, key=str)
    if missing:
        JourneyUserObjectPermission.objects.bulk_create(
            [
                JourneyUserObjectPermission(
                    user_id=user_id,
                    content_object_id=journey_id,
                    permission_id=permission_ids[codename],
                )
                for user_id, journey_id, codename in missing
            ],
            ignore_conflicts=True,
        )
    if stray:
        JourneyUserObjectPermission.objects.filter(id__in=[present[key] for key in stray]).delete()
    return PermissionChanges(added=missing, removed=stray)


def sync_authority_permissions(*, user, now: datetime.datetime | None = None) -> PermissionChanges:
    """Bring one person's decide/override object permissions in step with their grants now.

    Called by every service that changes a grant, inside its transaction; safe to run again.
    """
    return _sync_permissions(at=now or timezone.now(), user_ids=[user.pk])


def schedule_sync(grant: AuthorityGrant, *, now: datetime.datetime) -> None:
    """Re-derive the holder's permissions when the grant starts (if later) and when it ends.

    ONCE schedules with negative `repeats`: django-q2 runs each at its moment and deletes it.
    A schedule made stale by a later change only re-derives what is already in step.
    """
    for moment in (grant.valid_from, grant.valid_until):
        if moment is not None and moment > now:
            Schedule.objects.create(
                name=f"Authority of user {grant.user_id} at {moment.isoformat()}",
                func=SYNC_TASK,
                args=repr(grant.user_id),
                schedule_type=Schedule.ONCE,
                repeats=-1,
                next_run=moment,
            )


@dataclass
class ReconcileReport:
    """What `reconcile_authority` found out of step and put right."""

    at: datetime.datetime
    added: list[tuple[str, str, str]] = field(default_factory=list)
    removed: list[tuple[str, str, str]] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.expired or self.released)

    def lines(self) -> list[str]:
        lines = [
            f"Authority reconciled as at {moment_label(self.at)}: {len(self.added)} permission(s) "
            f"added, {len(self.removed)} removed, {len(self.expired)} grant(s) recorded as "
            "expired."
        ]
        if not self.changed:
            lines.append("Nothing was out of step.")
        lines += [f"  added:   {who} — {perm} on {journey}" for who, journey, perm in self.added]
        lines += [f"  removed: {who} — {perm} on {journey}" for who, journey, perm in self.removed]
        lines += [f"  expired: {grant}" for grant in self.expired]
        if self.released:
            lines.append(f"{len(self.released)} claim(s) released: authority ended.")
        lines += [f"  released: {case}" for case in self.released]
        return lines

    def __str__(self) -> str:
        return "\n".join(self.lines())


def _labelled(rows: list[tuple]) -> list[tuple[str, str, str]]:
    """(username, journey, codename) for report lines: two queries, only when rows changed."""
    if not rows:
        return []
    names = dict(
        get_user_model()
        .objects.filter(pk__in={user_id for user_id, _, _ in rows})
        .values_list("pk", "username")
    )
    journeys = {
        journey.pk: str(journey)
        for journey in Journey.objects.filter(pk__in={j for _, j, _ in rows}).select_related(
            "ai_system"
        )
    }
    return [(names[u], journeys[j], codename) for u, j, codename in rows]


def _record_expiries(*, at: datetime.datetime, user_ids=None) -> list[str]:
    """Append "grant.expired" once for every grant whose end has passed (unless revoked first).

    The ledger itself says which were already recorded, so no field is needed and running
    again records nothing. The ledger head is locked first, so two runs at once queue up and
    the second finds the first's events.
    """
    candidates = AuthorityGrant.objects.filter(valid_until__lte=at).filter(
        Q(revoked_at__isnull=True) | Q(revoked_at__gt=F("valid_until"))
    )
    if user_ids is not None:
        candidates = candidates.filter(user_id__in=user_ids)
    candidate_ids = {str(pk) for pk in candidates.values_list("pk", flat=True)}
    if not candidate_ids:
        return []
    LedgerHead.objects.select_for_update().filter(singleton=1).first()
    reported = set(
        AuditEvent.objects.filter(
            action="grant.expired", object_type=AuthorityGrant._meta.label_lower
        ).values_list("object_id", flat=True)
    )
    unreported = candidate_ids - reported
    if not unreported:
        return []
    expired = []
    actor = Actor.system("reconcile_authority")
    for grant in (
        AuthorityGrant.objects.filter(pk__in=unreported)
        .select_related("user", "level", "journey__ai_system", "ai_system")
        .order_by("valid_until", "pk")
    ):
        append_event(
            actor=actor,
            action="grant.expired",
            obj=grant,
            payload={
                "user": grant.user.get_username(),
                "level": grant.level.name,
                "scope": str(grant.journey or grant.ai_system),
                "valid_until": grant.valid_until,
            },
        )
        expired.append(f"{grant} (ended {moment_label(grant.valid_until)})")
    return expired


def reconcile_authority(*, now: datetime.datetime | None = None, users=None) -> ReconcileReport:
    """Put guardian's decide/override permissions back in step with the grants, and record
    grants that have expired.

    Grants are the truth; permission rows drift as time passes (a grant starts or ends, a
    training lapses or is renewed) or if anyone edits them by hand. For everyone (or only
    `users`): adds the rows effective grants call for, deletes every other decide/override row
    (also of people with no grant at all), appends "grant.expired" once per grant whose end has
    passed, and releases live claims on cases their holders may no longer decide
    (`release_claims_beyond_authority`). One transaction, bulk writes, a fixed number of queries
    apart from one ledger append per newly expired grant. Safe to run again: a second run finds
    nothing to do.
    """
    at = now or timezone.now()
    user_ids = None if users is None else [user.pk for user in users]
    with transaction.atomic():
        changes = _sync_permissions(at=at, user_ids=user_ids)
        expired = _record_expiries(at=at, user_ids=user_ids)
        claimants = Case.objects.filter(claim_expires_at__gt=at).exclude(status=CaseStatus.DECIDED)
        if user_ids is not None:
            claimants = claimants.filter(claimed_by_id__in=user_ids)
        released = release_claims_beyond_authority(
            user_ids=set(claimants.values_list("claimed_by_id", flat=True)),
            at=at,
            actor=Actor.system("reconcile_authority"),
            why="authority ended (grant expired, training lapsed or briefing not acknowledged)",
        )
        return ReconcileReport(
            at=at,
            added=_labelled(changes.added),
            removed=_labelled(changes.removed),
            expired=expired,
            released=[str(case) for case in released],
        )


def sync_journey_holders(*, journey: Journey, now: datetime.datetime | None = None) -> None:
    """A new journey falls under every grant on its AI system at once, not at the nightly
    reconcile: bring those holders' permissions in step."""
    holder_ids = set(
        AuthorityGrant.objects.filter(ai_system_id=journey.ai_system_id).values_list(
            "user_id", flat=True
        )
    )
    if holder_ids:
        _sync_permissions(at=now or timezone.now(), user_ids=sorted(holder_ids))
