"""API views: parse and validate, call a service, render. No business rules here."""

from django.conf import settings
from django.urls import reverse
from django.utils.dateparse import parse_datetime
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
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from oversight.api.authentication import AISystemKeyAuthentication, IsAISystem
from oversight.api.errors import PayloadTooLarge
from oversight.api.idempotency import idempotent
from oversight.api.serializers import (
    CaseCreateSerializer,
    CaseStateSerializer,
    GateAnswerSerializer,
    GateRequestSerializer,
    JourneySerializer,
    OutcomeCreatedSerializer,
    OutcomeSerializer,
)
from oversight.models import CaseStatus, Journey
from oversight.selectors import case_state, cases_for_api
from oversight.services.gate import evaluate_gate, open_direct_case
from oversight.services.outcomes import record_outcome

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
    """Base for every API view: API-key auth, JSON only, bounded body size."""

    authentication_classes = [AISystemKeyAuthentication]
    permission_classes = [IsAISystem]
    parser_classes = [JSONParser]

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
    serializer_class = GateRequestSerializer

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
        serializer = self.get_serializer(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        result = evaluate_gate(ai_system=self.ai_system, request=serializer.to_gate_request())
        body = {"route": result.route, "evaluation": str(result.evaluation.id)}
        if result.route == "automate":
            return Response(body, status=status.HTTP_200_OK)
        body["case"] = {
            "id": str(result.case.id),
            "status": result.case.status,
            "url": self.case_url(result.case),
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

    def get_queryset(self):
        cases = cases_for_api().filter(journey__ai_system=self.ai_system)
        params = self.request.query_params
        if status_filter := params.get("status"):
            wanted = [s.strip() for s in status_filter.split(",") if s.strip()]
            unknown = sorted(set(wanted) - set(CaseStatus.values))
            if unknown:
                raise ValidationError(
                    {"status": [f"Unknown status {', '.join(unknown)}; use {CaseStatus.values}."]}
                )
            cases = cases.filter(status__in=wanted)
        if since := params.get("updated_since"):
            moment = parse_datetime(since)
            if moment is None or moment.tzinfo is None:
                raise ValidationError(
                    {"updated_since": ["Use an ISO 8601 time with a zone, e.g. 2026-03-03T09:00Z."]}
                )
            cases = cases.filter(updated_at__gte=moment)
        if journey := params.get("journey"):
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
        case = open_direct_case(
            ai_system=self.ai_system,
            request=serializer.to_gate_request(),
            reason=serializer.validated_data["reason"],
        )
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
        body = {
            "id": str(outcome.id),
            "evaluation": str(outcome.evaluation_id) if outcome.evaluation_id else None,
            "case": str(outcome.case_id) if outcome.case_id else None,
        }
        return Response(body, status=status.HTTP_201_CREATED)
