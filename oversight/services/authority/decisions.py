"""Recorded decisions judged by the one rule of `moment` (`AuthorityRecord.judge`), one by one
or a group at a time.

A group is the decisions of one reviewer under one recorded grant (or none) on one journey in one
UTC day. Inside a day the rule changes its answer only at the instants
`AuthorityRecord.instants_of_change` lists, so a group with none of them between its first and
its last decision is judged once and counted whole; any other group is judged decision by
decision. No second form of the rule: every verdict comes from `AuthorityRecord.judge`.
"""

import bisect
import datetime

from oversight.models import Journey
from oversight.services.authority.moment import AuthorityRecord
from oversight.services.authority.verdicts import DECISION_SHORTFALLS, NO_GRANT


def shortfall_codes(
    record: AuthorityRecord, *, reviewer_id, grant_id, journey: Journey, at: datetime.datetime
) -> set:
    """The shortfall codes the report flags for one decision (empty: it had authority)."""
    if grant_id is None:
        return {NO_GRANT}
    verdict = record.judge(user_id=reviewer_id, journey=journey, at=at, grant_id=grant_id)
    return {s.code for s in verdict.shortfalls if s.code in DECISION_SHORTFALLS}


class GroupJudge:
    """Judges groups of decisions from one record, remembering each (reviewer, grant)'s
    instants of change."""

    def __init__(self, record: AuthorityRecord) -> None:
        self.record = record
        self._instants: dict = {}

    def uniform(self, reviewer_id, grant_id, first: datetime.datetime, last: datetime.datetime):
        """True when every decision of one group (same reviewer, grant, journey and UTC day),
        decided from `first` to `last`, gets the same verdict: no instant of change lies in
        [first, last] (a bound is included either way, whichever side a comparison of the
        rule puts it on)."""
        if grant_id is None or first == last:
            return True
        key = (reviewer_id, grant_id)
        if key not in self._instants:
            self._instants[key] = self.record.instants_of_change(reviewer_id, grant_id)
        instants = self._instants[key]
        i = bisect.bisect_left(instants, first)
        return i == len(instants) or instants[i] > last

    def codes(self, reviewer_id, grant_id, journey: Journey, at: datetime.datetime) -> set:
        return shortfall_codes(
            self.record, reviewer_id=reviewer_id, grant_id=grant_id, journey=journey, at=at
        )


def judge_decisions(decisions: list[tuple]) -> dict:
    """{decision id: set of shortfall codes} for recorded decisions taken without effective
    authority, each judged at its own instant by its recorded grant (`AuthorityRecord.judge`).

    `decisions` holds (decision id, reviewer id, grant id or None, decided_at, journey) tuples.
    One record is read for every reviewer and grant at once: a fixed number of queries however
    many decisions, instants and people.
    """
    record = AuthorityRecord.load(
        user_ids={reviewer_id for _, reviewer_id, _, _, _ in decisions},
        grant_ids={grant_id for _, _, grant_id, _, _ in decisions if grant_id is not None},
    )
    flagged: dict = {}
    for decision_id, reviewer_id, grant_id, decided_at, journey in decisions:
        codes = shortfall_codes(
            record, reviewer_id=reviewer_id, grant_id=grant_id, journey=journey, at=decided_at
        )
        if codes:
            flagged[decision_id] = codes
    return flagged
