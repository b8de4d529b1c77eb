"""Recording and correcting training completions."""

import datetime
import hashlib
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from audit.services.ledger import Actor, append_event
from literacy.expiry import add_months
from literacy.models import TrainingCompletion, TrainingModuleVersion
from oversight.exceptions import InvalidInput, NotAllowed
from oversight.services.authority import sync_authority_permissions

CENTS = Decimal("0.01")


def _sha256_of(uploaded_file) -> str:
    digest = hashlib.sha256()
    for chunk in uploaded_file.chunks():
        digest.update(chunk)
    uploaded_file.seek(0)
    return digest.hexdigest()


def check_completion(*, completed_on: datetime.date, score: Decimal | None) -> None:
    """Refuse a completion dated in the future or scored outside 0–100 (forms call this too)."""
    if completed_on > timezone.localdate():
        raise InvalidInput(f"The completion date {completed_on} is in the future.")
    if score is not None and not (0 <= score <= 100):
        raise InvalidInput(f"The score {score} is out of range: it must be between 0 and 100.")


def derive_passed(
    module_version: TrainingModuleVersion, score: Decimal | None, passed: bool | None
) -> bool:
    """Passed or not: decided by the pass mark when there is a score, else as stated."""
    if score is not None:
        derived = score >= module_version.pass_mark
        if passed is not None and passed != derived:
            raise InvalidInput(
                f"A score of {score} against a pass mark of {module_version.pass_mark} "
                f"means passed={derived}, not {passed}."
            )
        return derived
    if passed is None:
        raise InvalidInput("Give a score, or say whether the training was passed.")
    return passed


def _snapshot(completion: TrainingCompletion) -> dict:
    return {
        "user": completion.user.get_username(),
        "module_version": str(completion.module_version),
        "completed_on": completion.completed_on,
        # As stored (two decimals), whatever precision the caller passed.
        "score": None if completion.score is None else Decimal(completion.score).quantize(CENTS),
        "passed": completion.passed,
        "expires_on": completion.expires_on,
        "evidence_sha256": completion.evidence_sha256,
    }


def record_completion(
    *,
    user,
    module_version: TrainingModuleVersion,
    completed_on: datetime.date,
    recorded_by,
    score: Decimal | None = None,
    passed: bool | None = None,
    evidence=None,
) -> TrainingCompletion:
    """Record that a person completed a module version.

    Rules: the recorder needs the add-completion permission; the date may not be in the future;
    the score is 0–100 and decides `passed` against the version's pass mark; expiry is derived
    from the version's validity; an evidence file is stored with its SHA-256.
    """
    if not recorded_by.has_perm("literacy.add_trainingcompletion"):
        raise NotAllowed("You may not record training completions.")
    check_completion(completed_on=completed_on, score=score)
    completion = TrainingCompletion(
        user=user,
        module_version=module_version,
        completed_on=completed_on,
        score=score,
        passed=derive_passed(module_version, score, passed),
        expires_on=add_months(completed_on, module_version.validity_months),
        recorded_by=recorded_by,
    )
    if evidence:
        completion.evidence_sha256 = _sha256_of(evidence)
        completion.evidence = evidence
    with transaction.atomic():
        completion._history_user = recorded_by
        completion.save()
        append_event(
            actor=Actor.for_user(recorded_by),
            action="training.recorded",
            obj=completion,
            payload={"after": _snapshot(completion)},
        )
        # A renewed training can make a lapsed grant effective again: the queue follows now.
        sync_authority_permissions(user=user)
    return completion


def correct_completion(
    *,
    completion: TrainingCompletion,
    corrected_by,
    completed_on: datetime.date,
    score: Decimal | None = None,
    passed: bool | None = None,
    evidence=None,
) -> TrainingCompletion:
    """Correct a recorded completion: a new version in history, the old values kept.

    Same rules as recording; the correction is an audit event with before and after values.
    """
    if not corrected_by.has_perm("literacy.change_trainingcompletion"):
        raise NotAllowed("You may not correct training completions.")
    check_completion(completed_on=completed_on, score=score)
    with transaction.atomic():
        completion = TrainingCompletion.objects.select_for_update().get(pk=completion.pk)
        before = _snapshot(completion)
        completion.completed_on = completed_on
        completion.score = score
        completion.passed = derive_passed(completion.module_version, score, passed)
        completion.expires_on = add_months(completed_on, completion.module_version.validity_months)
        if evidence:
            completion.evidence_sha256 = _sha256_of(evidence)
            completion.evidence = evidence
        completion._history_user = corrected_by
        completion.save()
        append_event(
            actor=Actor.for_user(corrected_by),
            action="training.corrected",
            obj=completion,
            payload={"before": before, "after": _snapshot(completion)},
        )
        sync_authority_permissions(user=completion.user)
    return completion
