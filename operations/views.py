"""/health/live/ and /health/ready/: JSON, no login, nothing secret in the answer."""

from django.http import JsonResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_safe

from operations.health import readiness_checks, run_checks


def _answer(body: dict, status: int) -> JsonResponse:
    response = JsonResponse(body, status=status)
    add_never_cache_headers(response)
    return response


@require_safe
def live(request):
    """The process answers requests: 200, without touching the database."""
    return _answer({"status": "ok"}, 200)


@require_safe
def ready(request):
    """200 when every readiness check passes, else 503 naming the checks that failed."""
    results = run_checks(readiness_checks())
    ok = all(result.ok for result in results)
    body = {
        "status": "ok" if ok else "unavailable",
        "checks": {
            result.name: {
                "ok": result.ok,
                "message": result.message,
                "seconds": round(result.seconds, 4),
            }
            for result in results
        },
    }
    return _answer(body, 200 if ok else 503)
