"""Idempotency-Key on POSTs: the same key and body replay the first answer, creating nothing.

The record is written in the same transaction as the work it answers for, so a crash leaves
neither. Two concurrent requests with one new key: the database's unique constraint lets one
commit; the other rolls back its work entirely and replays the winner's answer.
"""

import hashlib
import json
from collections.abc import Callable

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from oversight.api.errors import IdempotencyConflict
from oversight.models import AISystem, IdempotencyRecord

HEADER = "Idempotency-Key"
META_KEY = "HTTP_IDEMPOTENCY_KEY"  # how WSGI names it in request.META
MAX_KEY_LENGTH = 255


def _fingerprint(request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\0" + request.path.encode() + b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.request_fingerprint != fingerprint:
        raise IdempotencyConflict()
    return Response(
        record.response_body,
        status=record.response_status,
        headers={"Idempotent-Replayed": "true"},
    )


WARNING_HEADER = "X-HITL-Warning"
MISSING_KEY_WARNING = (
    "No Idempotency-Key: this request was carried out, but a retry of it would be carried out "
    "again. Send a unique Idempotency-Key on every POST."
)


def idempotent(request, ai_system: AISystem, handler: Callable[[], Response]) -> Response:
    """Run `handler` once per (AI system, Idempotency-Key); without the header, just run it."""
    key = request.META.get(META_KEY)  # request.headers[HEADER], without parsing every header
    if key is None:
        response = handler()
        response[WARNING_HEADER] = MISSING_KEY_WARNING
        return response
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationError(
            {HEADER: [f"Use 1 to {MAX_KEY_LENGTH} printable characters, e.g. a UUID."]}
        )
    fingerprint = _fingerprint(request)
    existing = IdempotencyRecord.objects.filter(ai_system=ai_system, key=key).first()
    if existing is not None:
        return _replay(existing, fingerprint)
    try:
        with transaction.atomic():
            response = handler()
            if 200 <= response.status_code < 300:
                IdempotencyRecord.objects.create(
                    ai_system=ai_system,
                    key=key,
                    request_fingerprint=fingerprint,
                    response_status=response.status_code,
                    response_body=json.loads(json.dumps(response.data, cls=DjangoJSONEncoder)),
                )
    except IntegrityError:
        winner = IdempotencyRecord.objects.filter(ai_system=ai_system, key=key).first()
        if winner is None:
            raise
        return _replay(winner, fingerprint)
    return response
