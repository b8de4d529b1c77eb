"""API views: parse and validate, call a service, render. No business rules here."""

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from oversight.api.authentication import AISystemKeyAuthentication, IsAISystem
from oversight.api.errors import PayloadTooLarge
from oversight.api.idempotency import idempotent
from oversight.api.key_lookup import journey_slug_in
from oversight.api.negotiation import JSONFirstNegotiation
from oversight.api.parsers import GuardedJSONParser
from oversight.api.plain_gate_body import plain_gate_request
from oversight.api.query_parameters import (
    check_page_number,
    check_query_parameters,
    parse_updated_since,
)
from oversight.api.serializers import (
    CaseCreateSerializer,
    CaseStateSerializer,
    GateAnswerSerializer,
    GateRequestSerializer,
    JourneySerializer,
    OutcomeCreatedSerializer,
    OutcomeSerializer,
)
from oversight.models import AISystemAPIKey, CaseStatus, Journey
from oversight.refusal_selectors import foreign_case, foreign_evaluation, foreign_journey
from oversight.selectors import case_state, cases_for_api
from oversight.services.gate import UnknownJourney, evaluate_gate, open_direct_case
from oversight.services.outcomes import UnknownSubject, record_outcome
from oversight.services.refusals import record_refusal_safely

CASE_ID = "0b7e2f4c-5a0e-4f51-9a5e-2b1f7d3c9e11"
EVALUATION_ID = "6a1d9c3e-8f2b-4b7a-a0c4-1e5d2f8b7c90"
DECIDED_CASE_EXAMPLE = OpenApiExample(
    "A decided case",
    response_only=True,
    value={
        "id": CASE_ID,
        "journey": "refunds",
        "status": "decided",
        "route_reason": "trigger",
        "opened_at": "2026-03-03T09:12:00Z",
        "updated_at": "2026-03-03T09:40:12Z",
        "sla_deadline": "2026-03-03T11:12:00Z",
        "subject_ref": "cust-4821",
        "evaluation": EVALUATION_ID,
        "decision": {
            "outcome": "modify",
            "final_action": {"type": "refund", "amount": "60.00", "currency": "EUR"},
            "overridden": True,
            "override_reason": "policy-exception",
            "decided_at": "2026-03-03T09:40:12Z",
        },
        "next_step": {
            "instruction": "proceed_with_changes",
            "may_proceed": True,
            "action": {"type": "refund", "amount": "60.00", "currency": "EUR"},
        },
    },
)

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    location=OpenApiParameter.HEADER,
    required=False,
    description="Any unique string (e.g. a UUID). Retrying with the same key and body returns "
    "the first answer and creates nothing; the same key with another body is a 409.",
)


class AISystemAPIView(GenericAPIView):
    """Base for every API view: API-key auth, JSON only, bounded body size, known parameters.

    A view lists the query parameters it reads in `query_parameters`; any other is refused, as
    is a NUL in any name or value (PostgreSQL refuses it in a query). A view that refuses a
    reference to another AI system's object sets `refused_object`, and the refusal is written
    to the ledger (rate-bounded, oversight.services.refusals), as is any 403.
    """

    authentication_classes = [AISystemKeyAuthentication]
    permission_classes = [IsAISystem]
    parser_classes = [GuardedJSONParser]
    # DRF's negotiation, with its answer for the usual Accept headers taken without parsing.
    content_negotiation_class = JSONFirstNegotiation
    query_parameters: tuple[str, ...] = ()
    refused_object: tuple[str, str] | None = None

    @property
    def ai_system(self):
        return self.request.user.ai_system

    def initial(self, request, *args, **kwargs):
        limit = settings.API_MAX_BODY_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit or len(request.body) > limit:
            raise PayloadTooLarge(f"The request body is over the limit of {limit} bytes.")
        super().initial(request, *args, **kwargs)
        check_query_parameters(request.query_params, allowed=self.query_parameters)

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        # The authenticated key, if authentication ran (reading request.auth would run it).
        api_key = getattr(self.request, "_auth", None)
        refused = response.status_code == status.HTTP_403_FORBIDDEN or self.refused_object
        if isinstance(api_key, AISystemAPIKey) and refused:
            object_type, object_id = self.refused_object or ("", "")
            record_refusal_safely(
                api_key=api_key,
                method=self.request.method,
                path=self.request.path,
                status=response.status_code,
                code=response.data.get("error", {}).get("code", ""),
                object_type=object_type,
                object_id=object_id,
            )
        return response

    def case_url(self, case) -> str:
        return self.request.build_absolute_uri(reverse("api:case-detail", args=[case.id]))


class PingView(AISystemAPIView):
    """Check a key: answers with the AI system it belongs to."""

    @extend_schema(
        summary="Check an API key",
        responses={200: OpenApiResponse(description='{"ai_system": "support-assistant"}')},
    )
    def get(self, request):
        return Response({"ai_system": self.ai_system.slug})


class JourneyListView(AISystemAPIView):
    serializer_class = JourneySerializer
    pagination_class = None

    def get_queryset(self):
        return (
            Journey.objects.filter(ai_system=self.ai_system)
            .prefetch_related("judgement_points__conditions")
            .order_by("slug")
        )

    @extend_schema(
        summary="List the journeys this key may use",
        description="With their judgement points and the signals each reads, so an integrator "
        "knows what to send.",
    )
    def get(self, request):
        return Response(self.get_serializer(self.get_queryset(), many=True).data)


class GateView(AISystemAPIView):
    """The gate. Its key and its journey (with the rules' stamp) are read in one query: the
    journey named in the body is handed to authentication as a hint (`key_lookup`), and used
    only if it is the slug the serializer then validates."""

    serializer_class = GateRequestSerializer

    def perform_authentication(self, request):
        request.journey_hint = journey_slug_in(request.body)
        super().perform_authentication(request)

    def _stamped_journey(self, slug: str):
        hint, journey = getattr(self.request, "stamped_journey", (None, None))
        return journey if hint == slug else None

    @extend_schema(
        summary="May I proceed?",
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            200: OpenApiResponse(GateAnswerSerializer, description="Automation may proceed."),
            202: OpenApiResponse(GateAnswerSerializer, description="Routed to a person."),
        },
        examples=[
            OpenApiExample(
                "Automation may proceed",
                response_only=True,
                status_codes=["200"],
                value={"route": "automate", "evaluation": EVALUATION_ID},
            ),
            OpenApiExample(
                "Routed to a person",
                response_only=True,
                status_codes=["202"],
                value={
                    "route": "human",
                    "evaluation": EVALUATION_ID,
                    "case": {
                        "id": CASE_ID,
                        "status": "open",
                        "url": f"https://oversight.example.com/api/v1/cases/{CASE_ID}/",
                    },
                    "matched": ["low-confidence"],
                    "reasons": ["Low confidence: confidence is below 0.7 (was 0.58)"],
                },
            ),
        ],
    )
    def post(self, request):
        return idempotent(request, self.ai_system, self._evaluate)

    def _evaluate(self) -> Response:
        gate_request = plain_gate_request(self.request.data)  # None: the serializer reads it
        if gate_request is None:
            serializer = self.get_serializer(data=self.request.data)
            serializer.is_valid(raise_exception=True)
            gate_request = serializer.to_gate_request()
        try:
            result = evaluate_gate(
                ai_system=self.ai_system,
                request=gate_request,
                journey=self._stamped_journey(gate_request.journey),
            )
        except UnknownJourney:
            self.refused_object = foreign_journey(self.ai_system, gate_request.journey)
            raise
        body = {"route": result.route, "evaluation": str(result.evaluation.id)}
        if result.route == "automate":
            return Response(body, status=status.HTTP_200_OK)
        body["case"] = {
            "id": str(result.case.id),
            "status": result.case.status,
            "url": self.case_url(result.case),
            "route_reason": result.case.route_reason,
        }
        body["matched"] = [m["slug"] for m in result.evaluation.matched]
        body["reasons"] = result.evaluation.reasons
        return Response(body, status=status.HTTP_202_ACCEPTED)


class CasePagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class CaseListView(AISystemAPIView):
    serializer_class = CaseCreateSerializer
    pagination_class = CasePagination
    query_parameters = ("status", "updated_since", "journey", "page", "page_size")

    def get_queryset(self):
        cases = cases_for_api().filter(journey__ai_system=self.ai_system)
        params = self.request.query_params
        check_page_number(params, "page", allow_last=True)
        check_page_number(params, "page_size")
        if status_filter := params.get("status"):
            wanted = [s.strip() for s in status_filter.split(",") if s.strip()]
            unknown = sorted(set(wanted) - set(CaseStatus.values))
            if unknown:
                raise ValidationError(
                    {"status": [f"Unknown status {', '.join(unknown)}; use {CaseStatus.values}."]}
                )
            cases = cases.filter(status__in=wanted)
        if since := params.get("updated_since"):
            cases = cases.filter(updated_at__gte=parse_updated_since(since))
        if journey := params.get("journey"):
            if not Journey.objects.filter(ai_system=self.ai_system, slug=journey).exists():
                self.refused_object = foreign_journey(self.ai_system, journey)
                raise ValidationError(
                    {"journey": ["No such journey for this AI system; GET /api/v1/journeys/."]}
                )
            cases = cases.filter(journey__slug=journey)
        return cases.order_by("updated_at", "id")

    @extend_schema(
        summary="List cases, for pollers",
        parameters=[
            OpenApiParameter("status", description="Comma-separated statuses, e.g. decided."),
            OpenApiParameter(
                "updated_since", description="ISO 8601 time: only cases changed since then."
            ),
            OpenApiParameter("journey", description="Journey slug."),
        ],
        responses={200: CaseStateSerializer(many=True)},
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([case_state(case) for case in page])

    @extend_schema(
        summary="Open a case for a person directly",
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: CaseStateSerializer},
        examples=[
            OpenApiExample(
                "The customer asked for a person",
                request_only=True,
                value={
                    "journey": "billing-disputes",
                    "reason": "customer_requested_human",
                    "action": {"type": "reply"},
                    "context": {"invoice_id": "INV-2026-0042"},
                    "proposal": "I have escalated your dispute to a colleague.",
                    "subject_ref": "cust-4821",
                },
            )
        ],
    )
    def post(self, request):
        return idempotent(request, self.ai_system, self._create)

    def _create(self) -> Response:
        serializer = self.get_serializer(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        try:
            case = open_direct_case(
                ai_system=self.ai_system,
                request=serializer.to_gate_request(),
                reason=serializer.validated_data["reason"],
            )
        except UnknownJourney:
            journey = serializer.validated_data["journey"]
            self.refused_object = foreign_journey(self.ai_system, journey)
            raise
        case = cases_for_api().get(pk=case.pk)
        return Response(
            case_state(case),
            status=status.HTTP_201_CREATED,
            headers={"Location": self.case_url(case)},
        )


class CaseDetailView(AISystemAPIView):
    serializer_class = CaseStateSerializer

    @extend_schema(
        summary="A case's state, decision, and what the automation may now do",
        examples=[DECIDED_CASE_EXAMPLE],
    )
    def get(self, request, case_id):
        case = cases_for_api().filter(journey__ai_system=self.ai_system, pk=case_id).first()
        if case is None:
            self.refused_object = foreign_case(self.ai_system, case_id)
            raise NotFound(f"No case {case_id} for this AI system.")
        return Response(case_state(case))


class OutcomeView(AISystemAPIView):
    serializer_class = OutcomeSerializer

    @extend_schema(
        summary="Report outcome signals for an evaluation or a case",
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: OutcomeCreatedSerializer},
        examples=[
            OpenApiExample(
                "Customer effort and repeat contact",
                request_only=True,
                value={"evaluation": EVALUATION_ID, "customer_effort": 2, "repeat_contact": False},
            )
        ],
    )
    def post(self, request):
        return idempotent(request, self.ai_system, self._record)

    def _record(self) -> Response:
        serializer = self.get_serializer(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            outcome = record_outcome(
                ai_system=self.ai_system,
                evaluation_id=data.get("evaluation"),
                case_id=data.get("case"),
                customer_effort=data.get("customer_effort"),
                repeat_contact=data.get("repeat_contact"),
                complaint=data.get("complaint"),
                reversed=data.get("reversed"),
                note=data.get("note", ""),
            )
        except UnknownSubject:
            self.refused_object = foreign_evaluation(
                self.ai_system, data.get("evaluation")
            ) or foreign_case(self.ai_system, data.get("case"))
            raise
        body = {
            "id": str(outcome.id),
            "evaluation": str(outcome.evaluation_id) if outcome.evaluation_id else None,
            "case": str(outcome.case_id) if outcome.case_id else None,
        }
        return Response(body, status=status.HTTP_201_CREATED)
