"""The memory: what people decided on cases like this one.

`find_precedents` answers an AI system that asks "what happened last time?" with the most
similar decided cases of the same journey: what the AI proposed, what the person decided, why,
and how it turned out (the correction records of `oversight.correction_selectors`, rationale
masked). Similarity has three parts, each explained per result:

- judgement points: the points these signals would fire now against the points that fired on
  the precedent (Jaccard overlap), weight `WEIGHTS["points"]`;
- signals: sent values against the precedent's, per signal both sent (numbers by relative
  distance, other values equal or not), weight `WEIGHTS["signals"]`;
- text: the words of the context and proposal against the precedent's, by PostgreSQL full-text
  rank (normalised by the best candidate) or, on SQLite, word-set overlap; `WEIGHTS["text"]`.

Only the `CANDIDATES` most recent decided cases of the journey are ranked, in a fixed number of
queries.
"""

import re
from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import TextField, Value
from django.db.models.functions import Cast

from oversight.correction_selectors import correction_records, final_decisions
from oversight.services.gate import find_journey
from oversight.services.pii import texts_in
from oversight.services.rulebook import rules_for
from oversight.services.triggers import evaluate_trigger

CANDIDATES = 500
WEIGHTS = {"points": 0.5, "signals": 0.3, "text": 0.2}
WORD = re.compile(r"[^\W_]{3,}", re.UNICODE)
QUERY_WORDS = 32


@dataclass(frozen=True)
class Precedent:
    score: float
    why: dict
    record: dict

    def as_dict(self) -> dict:
        return {"score": round(self.score, 4), "why": self.why, **self.record}


def words(*values) -> set[str]:
    return {w.lower() for value in values for text in texts_in(value) for w in WORD.findall(text)}


def find_precedents(
    *, ai_system, journey: str, signals: dict, context: dict, proposal=None, limit: int = 5
) -> tuple[list[str], list[Precedent]]:
    """(the points these signals would fire, the `limit` most similar precedents, best first).
    UnknownJourney for a journey that is not the AI system's."""
    found = find_journey(ai_system=ai_system, slug=journey)
    firing = sorted(
        rule.slug
        for rule in rules_for(found)
        if evaluate_trigger(rule.combinator, list(rule.conditions), signals)
    )
    query_words = words(context, proposal)
    candidates = _candidates(ai_system, found, query_words)
    best_rank = max((getattr(d, "text_rank", 0.0) or 0.0 for d in candidates), default=0.0)
    scored = sorted(
        (_score(d, set(firing), signals, query_words, best_rank) for d in candidates),
        key=lambda item: (-item[0], item[2].decided_at),
    )[:limit]
    records = correction_records([decision for _, _, decision in scored])
    return firing, [
        Precedent(score, why, record)
        for (score, why, _), record in zip(scored, records, strict=True)
    ]


def _candidates(ai_system, journey, query_words: set[str]) -> list:
    decisions = (
        final_decisions(ai_system)
        .filter(case__journey=journey)
        .prefetch_related("case__judgement_points")
        .order_by("-decided_at", "-id")
    )
    if connection.vendor == "postgresql" and query_words:
        terms = sorted(query_words)[:QUERY_WORDS]
        query = reduce(or_, (SearchQuery(Value(t), config="simple") for t in terms))
        vector = SearchVector(
            Cast("case__context", TextField()),
            Cast("case__proposal", TextField()),
            config="simple",
        )
        decisions = decisions.annotate(text_rank=SearchRank(vector, query))
    return list(decisions[:CANDIDATES])


def _score(decision, firing: set[str], signals: dict, query_words: set[str], best_rank: float):
    case = decision.case
    theirs = {point.slug for point in case.judgement_points.all()}
    union = firing | theirs
    points = len(firing & theirs) / len(union) if union else 1.0
    their_signals = dict(case.evaluation.signals) if case.evaluation else {}
    if case.confidence is not None:
        their_signals.setdefault("confidence", case.confidence)
    signal_parts = {
        name: {"yours": signals[name], "theirs": their_signals[name]}
        for name in sorted(set(signals) & set(their_signals))
    }
    signal_score = (
        sum(_closeness(v["yours"], v["theirs"]) for v in signal_parts.values()) / len(signal_parts)
        if signal_parts
        else 0.0
    )
    if hasattr(decision, "text_rank"):
        text = (decision.text_rank or 0.0) / best_rank if best_rank else 0.0
    else:
        theirs_words = words(case.context, case.proposal)
        both = query_words | theirs_words
        text = len(query_words & theirs_words) / len(both) if both else 0.0
    score = WEIGHTS["points"] * points + WEIGHTS["signals"] * signal_score + WEIGHTS["text"] * text
    why = {
        "shared_points": sorted(firing & theirs),
        "points_only_yours": sorted(firing - theirs),
        "points_only_theirs": sorted(theirs - firing),
        "signals": signal_parts,
        "parts": {
            "points": round(points, 4),
            "signals": round(signal_score, 4),
            "text": round(text, 4),
        },
        "weights": WEIGHTS,
    }
    return score, why, decision


def _closeness(yours, theirs) -> float:
    """1 for equal values; numbers by relative distance; any other difference 0."""
    numbers = (int, float)
    if isinstance(yours, numbers) and isinstance(theirs, numbers):
        if isinstance(yours, bool) or isinstance(theirs, bool):
            return 1.0 if yours == theirs else 0.0
        scale = max(abs(yours), abs(theirs), 1.0)
        return max(0.0, 1.0 - abs(yours - theirs) / scale)
    return 1.0 if yours == theirs else 0.0
