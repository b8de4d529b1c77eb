"""Moment-exact authority: could person P decide a case at instant T, and if not, why.

The one rule every caller uses (the decision service through `effective_grants`, the
effective-authority page, the authority register, reconciliation and the oversight report),
judged from the record as it stood at T:

- the grant as its history recorded it at T (simple-history rows: validity, revocation, level,
  scope). A grant recorded only after T was not on record at T; a grant revoked or extended
  after T is judged as it stood before that change;
- every training module the level required at T (the requirement's history as of T) held by a
  passed completion current on T's day, of a version no older than the newest version published
  by then that requires re-qualification;
- every system briefing the level required at T on the grant's AI system: the newest version
  *published as of T* (the instant it was on record, never earlier than the start of its
  publication day) acknowledged at or before T. A briefing published at 09:00 asks nothing of
  a decision at 00:34 the same day;
- for a judgement about now, an active account (the account's state has no history, so a
  later deactivation never rewrites the past).

Days (completion and expiry dates, version publication dates) are UTC days, as everything is
stored in UTC: `TIME_ZONE` only changes how moments are displayed, never a verdict.

`AuthorityRecord.load` reads what the rule needs for many people in a fixed number of queries;
`judge` answers from memory, so a report judges thousands of decisions without a query each.
"""

import datetime
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.utils import timezone

from oversight.models import AuthorityGrant, Journey
from oversight.services.authority import record_loading as loading
from oversight.services.authority.verdicts import (
    BELOW_REQUIRED_LEVEL,
    BRIEFING_MISSING,
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
)
from oversight.services.authority.wording import moment_label, person_name

# Judgements this close to now also require an active account: only now is that known.
LIVE_WINDOW = datetime.timedelta(minutes=1)


def _system_of(version) -> object:
    if version.ai_system_id:
        return version.ai_system_id
    return version.journey.ai_system_id if version.journey_id else None


class AuthorityRecord:
    """What decides authority for some people, read once: grant history, requirement history,
    completions, module versions, briefings and acknowledgements. At most nine queries,
    whatever the number of people, grants or moments asked about."""

    def __init__(self) -> None:
        self.grants: dict = {}  # grant id -> Versions
        self.grants_of: dict = {}  # user id -> [grant id]
        self.active: dict = {}  # user id -> is_active
        self.module_requirements: dict = {}  # requirement id -> Versions
        self.module_titles: dict = {}
        self.requalifying: dict = {}  # module id -> [(published_on, version)]
        self.completions: dict = {}  # user id -> [(module id, version, completed_on, expires_on)]
        self.briefing_requirements: dict = {}  # requirement id -> Versions
        self.briefings: dict = {}  # ai system id -> [briefing], by version
        self.acknowledged: dict = {}  # (user id, briefing id) -> acknowledged_at

    @classmethod
    def load(cls, *, user_ids: Iterable, grant_ids: Iterable = ()) -> "AuthorityRecord":
        """Read the record for these people (and these grants, whoever holds them)."""
        record = cls()
        user_ids = set(user_ids)
        grant_ids = set(grant_ids)
        if not user_ids and not grant_ids:
            return record
        user_ids |= loading.load_grants(record, user_ids=user_ids, grant_ids=grant_ids)
        record.active = dict(
            get_user_model().objects.filter(pk__in=user_ids).values_list("pk", "is_active")
        )
        loading.load_training(record, user_ids)
        loading.load_briefings(record, user_ids)
        return record

    # --- the rule ------------------------------------------------------------------------------

    def required_modules(self, level_id, at: datetime.datetime) -> set:
        """Modules the level required at `at`, by the requirements' history."""
        required = set()
        for versions in self.module_requirements.values():
            row = versions.at(at)
            if row is not None and row.authority_level_id == level_id:
                required.add(row.module_id)
        return required

    def training_gaps(self, user_id, level_id, at: datetime.datetime) -> dict:
        """{module id: Shortfall} for each module the level required at `at` that `user_id`
        did not hold current on `at`'s UTC day, naming why (not completed, expired, or a
        newer version requires re-qualification)."""
        required = self.required_modules(level_id, at)
        if not required:
            return {}
        day = utc_day(at)
        gaps = {}
        for module_id in sorted(required, key=lambda m: (self.module_titles.get(m, ""), str(m))):
            requalify_from = max(
                (v for published, v in self.requalifying.get(module_id, ()) if published <= day),
                default=0,
            )
            latest = None
            current = False
            for m, version, completed_on, expires_on in self.completions.get(user_id, ()):
                if m != module_id or completed_on > day:
                    continue
                latest = (version, expires_on)
                if expires_on > day and version >= requalify_from:
                    current = True
            if current:
                continue
            if latest is None:
                why = "not completed"
            elif latest[1] <= day:
                why = f"expired on {latest[1]:%Y-%m-%d}"
            else:
                why = f"version {latest[0]} completed; a newer version requires re-qualification"
            title = self.module_titles.get(module_id, str(module_id))
            gaps[module_id] = Shortfall(
                TRAINING_MISSING, f"training missing — {title}: {why}", subject=title
            )
        return gaps

    def briefing_in_force(self, ai_system_id, at: datetime.datetime):
        """The newest briefing on the AI system published as of `at`, or None."""
        published = [
            b for b in self.briefings.get(ai_system_id, ()) if briefing_published_at(b) <= at
        ]
        return max(published, key=lambda b: b.version, default=None)

    def briefing_shortfall(
        self, user_id, level_id, ai_system_id, at: datetime.datetime
    ) -> Shortfall | None:
        """A shortfall when the level required, at `at`, the system's briefing then in force
        and `user_id` had not acknowledged that version by `at`."""
        if ai_system_id is None:
            return None
        required = any(
            row is not None
            and row.authority_level_id == level_id
            and row.ai_system_id == ai_system_id
            for row in (versions.at(at) for versions in self.briefing_requirements.values())
        )
        if not required:
            return None
        briefing = self.briefing_in_force(ai_system_id, at)
        if briefing is None:
            return None
        acknowledged_at = self.acknowledged.get((user_id, briefing.pk))
        if acknowledged_at is not None and acknowledged_at <= at:
            return None
        return Shortfall(
            BRIEFING_MISSING,
            f"briefing not acknowledged — version {briefing.version} of the "
            f"{briefing.ai_system} briefing",
            subject=f"{briefing} (not acknowledged)",
        )

    def judge_grant(self, grant_id, at: datetime.datetime, *, person_id=None) -> GrantJudgement:
        """One grant as it stood at `at`, and every reason it gave no authority then.

        Training and briefings are those of `person_id` when given (whoever decided under the
        grant), else of the grant's holder.
        """
        versions = self.grants.get(grant_id)
        version = versions.at(at) if versions is not None else None
        if version is None:
            return GrantJudgement(
                grant_id,
                None,
                (Shortfall(NOT_IN_FORCE, f"not on record at {moment_label(at)}"),),
            )
        shortfalls = []
        if version.valid_from > at:
            shortfalls.append(
                Shortfall(
                    NOT_IN_FORCE, f"not yet in force: starts {moment_label(version.valid_from)}"
                )
            )
        if version.valid_until is not None and version.valid_until <= at:
            shortfalls.append(
                Shortfall(NOT_IN_FORCE, f"out of date: ended {moment_label(version.valid_until)}")
            )
        if version.revoked_at is not None and version.revoked_at <= at:
            by = person_name(version.revoked_by) if version.revoked_by else "the product"
            shortfalls.append(
                Shortfall(
                    NOT_IN_FORCE,
                    f"revoked {moment_label(version.revoked_at)} by {by}: "
                    f"{version.revocation_reason}",
                )
            )
        if abs(at - timezone.now()) <= LIVE_WINDOW and not self.active.get(version.user_id, False):
            shortfalls.append(Shortfall(INACTIVE, "the holder's account is inactive"))
        person_id = version.user_id if person_id is None else person_id
        shortfalls += self.training_gaps(person_id, version.level_id, at).values()
        briefing = self.briefing_shortfall(person_id, version.level_id, _system_of(version), at)
        if briefing is not None:
            shortfalls.append(briefing)
        return GrantJudgement(grant_id, version, tuple(shortfalls))

    def grants_on_record(self, user_id, at: datetime.datetime) -> list[GrantJudgement]:
        """Every grant of `user_id` on record at `at` (held by them then), judged at `at`."""
        judgements = []
        for grant_id in self.grants_of.get(user_id, ()):
            judgement = self.judge_grant(grant_id, at)
            if judgement.version is not None and judgement.version.user_id == user_id:
                judgements.append(judgement)
        return judgements

    def effective_grants(self, user_id, at: datetime.datetime) -> list[GrantJudgement]:
        """The grants of `user_id` that gave authority at `at`."""
        return [j for j in self.grants_on_record(user_id, at) if j.effective]

    def judge(
        self,
        *,
        user_id,
        journey: Journey,
        at: datetime.datetime,
        required_rank: int | None = None,
        grant_id=None,
    ) -> Verdict:
        """Could `user_id` decide a case of `journey` at `at`?

        With `grant_id` (a decision's recorded grant), that grant is judged: it must be the
        person's, cover the journey, be of a level that may decide, and be effective then.
        Without it, the person's highest effective grant covering the journey answers. With
        `required_rank`, the level must reach it.
        """
        if grant_id is not None:
            judgement = self.judge_grant(grant_id, at, person_id=user_id)
            shortfalls = list(judgement.shortfalls)
            version = judgement.version or self._latest(grant_id)
            if version is not None:
                if version.user_id != user_id:
                    shortfalls.insert(0, Shortfall(OTHER_PERSON, "grant of another person"))
                if not _covers(version, journey):
                    shortfalls.insert(0, Shortfall(OTHER_SCOPE, "grant does not cover the journey"))
                if not version.level.may_decide:
                    shortfalls.insert(0, Shortfall(MAY_NOT_DECIDE, "level may not decide"))
            return self._ranked(
                Verdict(at, judgement, tuple(shortfalls), (judgement,)), required_rank
            )
        judgements = [j for j in self.grants_on_record(user_id, at) if _covers(j.version, journey)]
        deciding = [j for j in judgements if j.effective and j.version.level.may_decide]
        best = max(deciding, key=lambda j: j.version.level.rank, default=None)
        if best is None:
            shortfalls = [s for j in judgements for s in j.shortfalls]
            if not judgements:
                shortfalls = [Shortfall(NO_GRANT, "no grant covering this journey")]
            elif not shortfalls:
                shortfalls = [Shortfall(MAY_NOT_DECIDE, "level may not decide")]
            return Verdict(at, None, tuple(shortfalls), tuple(judgements))
        return self._ranked(Verdict(at, best, (), tuple(judgements)), required_rank)

    def instants_of_change(self, user_id, grant_id) -> list:
        """The instants, sorted, at which the judgement of a decision by `user_id` under
        `grant_id` (`judge` with that grant) can change within one UTC day; between two of them
        every decision of the same journey on the same day gets the same shortfall codes.

        Read against every branch of the rule: the grant's history rows
        (`record_loading.Versions.at`) and each version's valid_from, valid_until and
        revoked_at (`judge_grant`); the history of
        every training and briefing requirement (`required_modules`, `briefing_shortfall`);
        the publication instants of every briefing (`briefing_in_force`); the person's
        acknowledgements (`briefing_shortfall`); now minus and plus `LIVE_WINDOW` (the
        inactive-account check). Training completions, expiries and re-qualifying versions
        are compared by UTC day only, so they never change a judgement inside one day. Any new
        input to the rule must be added here, or grouped judgements
        (`oversight.services.authority.decisions`) would count wrongly.
        """
        instants = set(self._shared_instants())
        versions = self.grants.get(grant_id)
        for row in versions.rows if versions is not None else ():
            instants.add(row.history_date)
            instants.update(
                t for t in (row.valid_from, row.valid_until, row.revoked_at) if t is not None
            )
        instants.update(
            at for (person, _), at in self.acknowledged.items() if person == user_id and at
        )
        now = timezone.now()
        instants.update((now - LIVE_WINDOW, now + LIVE_WINDOW))
        return sorted(instants)

    def _shared_instants(self) -> set:
        if not hasattr(self, "_shared"):
            requirements = (
                *self.module_requirements.values(),
                *self.briefing_requirements.values(),
            )
            self._shared = {row.history_date for versions in requirements for row in versions.rows}
            self._shared |= {
                briefing_published_at(b) for briefings in self.briefings.values() for b in briefings
            }
        return self._shared

    def _latest(self, grant_id):
        versions = self.grants.get(grant_id)
        return versions.rows[-1] if versions and versions.rows else None

    @staticmethod
    def _ranked(verdict: Verdict, required_rank: int | None) -> Verdict:
        level = verdict.grant.level if verdict.grant is not None else None
        if required_rank is None or level is None or level.rank >= required_rank:
            return verdict
        return Verdict(
            verdict.at,
            verdict.grant,
            (*verdict.shortfalls, Shortfall(BELOW_REQUIRED_LEVEL, f"holds {level.name}")),
            verdict.judgements,
        )


def _covers(version, journey: Journey) -> bool:
    return version.journey_id == journey.pk or version.ai_system_id == journey.ai_system_id


def authority_at(*, user, journey: Journey, at: datetime.datetime, required_rank=None) -> Verdict:
    """Could `user` decide a case of `journey` (needing `required_rank`) at instant `at`, and if
    not, why. At most nine queries. The single-person form of `AuthorityRecord.judge`."""
    record = AuthorityRecord.load(user_ids=[user.pk])
    return record.judge(user_id=user.pk, journey=journey, at=at, required_rank=required_rank)


def grant_as_recorded(version) -> AuthorityGrant:
    """The grant with the values its history row held (no query): level, journey and AI system
    as they stood at the moment judged."""
    grant = version.instance
    grant._state.adding = False
    grant._state.db = version._state.db
    grant.level = version.level
    grant.journey = version.journey
    grant.ai_system = version.ai_system
    return grant
