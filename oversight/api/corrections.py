"""GET /api/v1/corrections/: the final human decisions on this AI system's cases, for training
and evaluation, in a stable order with cursor pagination. Each page taken is a ledger event."""

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from audit.services.ledger import Actor
from oversight.api.query_parameters import check_page_number, parse_updated_since
from oversight.api.schema_examples import CORRECTION as EXAMPLE
from oversight.api.views import AISystemAPIView
from oversight.correction_selectors import ORDERING, correction_records, final_decisions
from oversight.services.corrections import record_corrections_export


class CorrectionsPagination(CursorPagination):
    ordering = ORDERING
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500


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
        try:
            page = self.paginate_queryset(decisions)
        except NotFound:  # DRF's answer to a cursor it cannot read
            raise ValidationError(
                {"cursor": ["Not a cursor of this list: follow `next` or `previous` as given."]}
            ) from None
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
