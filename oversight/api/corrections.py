"""GET /api/v1/corrections/: the final human decisions on this AI system's cases, for training
and evaluation, in a stable order with cursor pagination. Each page taken is a ledger event."""

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from audit.services.ledger import Actor
from oversight.api.query_parameters import check_page_number, parse_updated_since
from oversight.api.views import AISystemAPIView
from oversight.correction_selectors import ORDERING, correction_records, final_decisions
from oversight.services.corrections import record_corrections_export


class CorrectionsPagination(CursorPagination):
    ordering = ORDERING
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500


EXAMPLE = {
    "decision": "5b1e0c7a-3f2d-4c9e-8a61-0d4f2b7e9c13",
    "case": "0b7e2f4c-5a0e-4f51-9a5e-2b1f7d3c9e11",
    "journey": "refunds",
    "route_reason": "trigger",
    "opened_at": "2026-03-03T09:12:00+00:00",
    "decided_at": "2026-03-03T09:40:12+00:00",
    "ai": {
        "action": {"type": "refund", "irreversible": False, "amount": "120.00", "currency": "EUR"},
        "proposal": {"reply": "We have refunded your order in full."},
        "confidence": 0.58,
        "signals": {"confidence": 0.58},
    },
    "human": {
        "outcome": "modify",
        "final_action": {"option": "partial refund", "amount": "60.00"},
        "overridden": True,
        "override_reason": "policy-exception",
        "rationale": "Opened item; customer reachable at [email]: half refund per policy.",
        "authority_level": "Senior reviewer",
        "review_round": 1,
    },
    "outcome": {
        "complaint": False,
        "reversed": False,
        "repeat_contact": None,
        "customer_effort": 2,
        "reports": 1,
    },
    "judgement_points_fired": [{"slug": "low-confidence", "version": 2}],
    "rule_versions": [
        {"slug": "irreversible-action", "version": 1},
        {"slug": "low-confidence", "version": 2},
    ],
}


class CorrectionsView(AISystemAPIView):
    pagination_class = CorrectionsPagination
    query_parameters = ("since", "cursor", "page_size")

    @extend_schema(
        summary="Corrections for training and evaluation",
        description="One record per final human decision on this AI system's cases: the AI's "
        "proposal, the person's final action, whether it was an override and why, the rationale "
        "with personal data masked, the outcomes reported, the judgement points that fired and "
        "the rule versions in force. Ordered by decision time; follow `next` until it is null. "
        "Each page taken is recorded in the audit ledger.",
        parameters=[
            OpenApiParameter(
                "since", str, description="Only decisions taken at or after this ISO 8601 time."
            ),
            OpenApiParameter("cursor", str, description="From `next` or `previous`."),
            OpenApiParameter("page_size", int, description="1 to 500; 100 by default."),
        ],
        responses={
            200: OpenApiResponse(
                description="`next` and `previous` (cursor URLs or null) and `results`, one "
                "record per final human decision."
            )
        },
        examples=[
            OpenApiExample(
                "A page",
                value={"next": None, "previous": None, "results": [EXAMPLE]},
                response_only=True,
            )
        ],
    )
    def get(self, request):
        params = request.query_params
        check_page_number(params, "page_size")
        since = parse_updated_since(params["since"], "since") if "since" in params else None
        decisions = final_decisions(self.ai_system, since)
        page = self.paginate_queryset(decisions)
        records = correction_records(page)
        record_corrections_export(
            actor=Actor.for_ai_system(self.ai_system),
            records=records,
            via="api",
            ai_system=self.ai_system,
            since=since,
        )
        return self.get_paginated_response(records)

    def get_paginated_response(self, data) -> Response:
        return self.paginator.get_paginated_response(data)
