"""The words of authority verdicts: shortfall codes, and what a judgement at a moment holds.

Shared by the rule (`moment.AuthorityRecord`) and its readers (decision service, register,
reports), so a reason has one code and one wording everywhere. Days are UTC days: `TIME_ZONE`
only changes how moments are displayed, never a verdict.
"""

import datetime
from dataclasses import dataclass

# Shortfall codes: why a grant gives no authority at a moment.
NO_GRANT = "no_grant"
OTHER_PERSON = "other_person"
OTHER_SCOPE = "other_scope"
MAY_NOT_DECIDE = "may_not_decide"
NOT_IN_FORCE = "not_in_force"
INACTIVE = "inactive"
TRAINING_MISSING = "training_missing"
BRIEFING_MISSING = "briefing_missing"
BELOW_REQUIRED_LEVEL = "below_required_level"


def utc_day(at: datetime.datetime) -> datetime.date:
    """The UTC calendar day of an instant: the day a stored date is compared with."""
    return at.astimezone(datetime.UTC).date()


def utc_start(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)


def briefing_published_at(briefing) -> datetime.datetime:
    """The instant a briefing counts as published: when it was on record, and never before the
    start of its publication day (a briefing entered ahead of its day waits for it)."""
    return max(briefing.created_at, utc_start(briefing.published_on))


@dataclass(frozen=True)
class Shortfall:
    """One reason a grant gives no authority at a moment: a code for reports, words for people."""

    code: str
    text: str
    subject: str = ""  # what is missing, short (a module title, a briefing), for registers


@dataclass(frozen=True)
class GrantJudgement:
    """One grant judged at a moment: its version then (None: not on record) and the shortfalls."""

    grant_id: object
    version: object  # the historical row in force at the moment, or None
    shortfalls: tuple[Shortfall, ...]

    @property
    def effective(self) -> bool:
        return not self.shortfalls

    @property
    def level(self):
        return self.version.level if self.version is not None else None

    def has(self, code: str) -> bool:
        return any(s.code == code for s in self.shortfalls)


@dataclass(frozen=True)
class Verdict:
    """Whether a person could decide a case of a journey at a moment, with the grant that
    allowed it, or every reason they could not."""

    at: datetime.datetime
    grant: GrantJudgement | None  # the highest effective grant covering the journey
    shortfalls: tuple[Shortfall, ...]
    judgements: tuple[GrantJudgement, ...] = ()

    @property
    def may_decide(self) -> bool:
        return self.grant is not None and not self.shortfalls

    def has(self, code: str) -> bool:
        return any(s.code == code for s in self.shortfalls)


# Shortfalls a recorded decision can have; whether the account is active now says nothing
# about a past decision.
DECISION_SHORTFALLS = (
    NO_GRANT,
    OTHER_PERSON,
    OTHER_SCOPE,
    MAY_NOT_DECIDE,
    NOT_IN_FORCE,
    TRAINING_MISSING,
    BRIEFING_MISSING,
)
