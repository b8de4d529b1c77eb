"""Who may decide what, at any moment: effective authority from grants and current training.

A grant is effective at a moment when, as its history recorded it then, it is in date and not
revoked, its holder is active, holds current training for every module its level required then,
and has acknowledged the system briefing its level required and that was published by then. A
lapsed training makes the grant ineffective (it is not deleted) until renewed; claims on cases
follow authority (`claims`).

Managing authority (invariant 4). A person manages authority on a scope when they hold the
object permission `oversight.manage_authority_ai_system` on an AI system (which covers every
journey of it) or `oversight.manage_authority_journey` on one journey. Only a superuser gives
or takes that permission, with `assign_manager` / `unassign_manager`, to members of the Manager
role; both are audited. Superusers manage every scope. A manager grants at most the level they
themselves hold effectively on that scope (superusers are exempt), never to themselves, and
only to active people whose training for the level is current when the grant starts.

Grants are the evidence; django-guardian object permissions are derived from them so queues
and APIs can filter with one query: whoever holds an effective grant whose level may decide
holds `oversight.decide_journey` on each journey it covers, and `oversight.override_journey`
too when the level may override. Grant, extend and revoke update the holder's rows at once;
time (a grant starting or ending, training lapsing) is caught by `reconcile_authority`, run
daily and at each grant's start and end.

The package, by concern: `moment` (the one rule: could P decide at instant T, and why not,
from history; `verdicts` holds its codes and wording), `decisions` (recorded decisions judged
by that rule, one by one or a group at a time), `effective` (the grants that count at a
moment, decidable cases), `scope` (who manages which scope), `grants` (grant, extend, revoke,
assign managers), `reconcile` (guardian permissions derived from grants), `claims` (claims
released when authority ends), `explain` (why a grant does or does not count). Callers import
from the package: `from oversight.services.authority import X`.
"""

from oversight.services.authority.claims import (
    release_claims_beyond_authority,
)
from oversight.services.authority.decisions import GroupJudge, judge_decisions
from oversight.services.authority.effective import (
    DECIDE,
    OVERRIDE,
    IneffectiveGrant,
    decidable_cases,
    decidable_cases_filter,
    effective_grant,
    effective_grants,
    effective_in_bulk,
    effective_level,
    grants_in_force,
    in_force_filter,
    journeys_decidable_by,
    level_on_scope,
    split_by_training,
)
from oversight.services.authority.explain import (
    GrantStatus,
    explain_grants,
)
from oversight.services.authority.grants import (
    START_TOLERANCE,
    GrantOptions,
    assign_manager,
    extend_grant,
    grant_authority,
    grant_options,
    revoke_grant,
    unassign_manager,
)
from oversight.services.authority.moment import (
    LIVE_WINDOW,
    AuthorityRecord,
    authority_at,
    grant_as_recorded,
)
from oversight.services.authority.reconcile import (
    SYNC_TASK,
    PermissionChanges,
    ReconcileReport,
    reconcile_authority,
    schedule_sync,
    sync_authority_permissions,
    sync_journey_holders,
    wanted_permissions,
)
from oversight.services.authority.scope import (
    MANAGE_AI_SYSTEM,
    MANAGE_JOURNEY,
    ai_systems_managed_by,
    is_manager,
    journeys_managed_by,
    managers_of_journey,
    manages_scope,
)
from oversight.services.authority.verdicts import (
    BELOW_REQUIRED_LEVEL,
    BRIEFING_MISSING,
    DECISION_SHORTFALLS,
    INACTIVE,
    MAY_NOT_DECIDE,
    NO_GRANT,
    NOT_IN_FORCE,
    OTHER_PERSON,
    OTHER_SCOPE,
    TRAINING_MISSING,
    GrantJudgement,
    Shortfall,
    Verdict,
    briefing_published_at,
    utc_day,
    utc_start,
)

__all__ = [
    "AuthorityRecord",
    "BELOW_REQUIRED_LEVEL",
    "BRIEFING_MISSING",
    "DECIDE",
    "DECISION_SHORTFALLS",
    "GrantJudgement",
    "GrantOptions",
    "GrantStatus",
    "INACTIVE",
    "IneffectiveGrant",
    "LIVE_WINDOW",
    "MANAGE_AI_SYSTEM",
    "MANAGE_JOURNEY",
    "MAY_NOT_DECIDE",
    "NOT_IN_FORCE",
    "NO_GRANT",
    "OTHER_PERSON",
    "OTHER_SCOPE",
    "OVERRIDE",
    "PermissionChanges",
    "ReconcileReport",
    "START_TOLERANCE",
    "SYNC_TASK",
    "Shortfall",
    "TRAINING_MISSING",
    "Verdict",
    "ai_systems_managed_by",
    "assign_manager",
    "authority_at",
    "briefing_published_at",
    "decidable_cases",
    "decidable_cases_filter",
    "effective_grant",
    "effective_grants",
    "effective_in_bulk",
    "effective_level",
    "explain_grants",
    "extend_grant",
    "grant_as_recorded",
    "grant_authority",
    "grant_options",
    "grants_in_force",
    "in_force_filter",
    "is_manager",
    "journeys_decidable_by",
    "journeys_managed_by",
    "judge_decisions",
    "GroupJudge",
    "level_on_scope",
    "managers_of_journey",
    "manages_scope",
    "reconcile_authority",
    "release_claims_beyond_authority",
    "revoke_grant",
    "schedule_sync",
    "split_by_training",
    "sync_authority_permissions",
    "sync_journey_holders",
    "unassign_manager",
    "utc_day",
    "utc_start",
    "wanted_permissions",
]
