"""POST /api/v1/precedents/: the memory. The most similar decided cases of the calling AI
system's journey, with what people decided and why, ranked and explained."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from oversight.api.schema_examples import CORRECTION
from oversight.api.serializers import ObjectField, RefuseUnknownFields, SignalsField
from oversight.api.views import AISystemAPIView
from oversight.memory import find_precedents
from oversight.refusal_selectors import foreign_journey
from oversight.services.gate import UnknownJourney

MAX_RESULTS = 20


class PrecedentQuerySerializer(RefuseUnknownFields, serializers.Serializer):
    journey = serializers.SlugField(max_length=80, help_text="Journey slug, e.g. `refunds`.")
    signals = SignalsField(required=False, default=dict, help_text="Signals as for the gate.")
    context = ObjectField(required=False, default=dict, help_text="What the system sees now.")
    proposal = serializers.JSONField(
        required=False, allow_null=True, default=None, help_text="What it would do or say."
    )
    limit = serializers.IntegerField(
        min_value=1,
        max_value=MAX_RESULTS,
        default=5,
        help_text=f"1 to {MAX_RESULTS}; 5 by default.",
    )


class PrecedentsView(AISystemAPIView):
    serializer_class = PrecedentQuerySerializer

    @extend_schema(
        summary="What did people decide on cases like this?",
        description="The most similar decided cases of this journey (this AI system's only): "
        "what the AI proposed, what the person decided, the override reason, the rationale "
        "with personal data masked and the outcome if reported. Ranked by the judgement points "
        "these signals would fire now against those that fired then, by signal distance and by "
        "text similarity of context and proposal; `why` explains each result's score. Reads "
        "only: nothing is stored and no Idempotency-Key is needed.",
        responses={200: OpenApiResponse(description="`would_fire` and `results`, best first.")},
        examples=[
            OpenApiExample(
                "Ask",
                request_only=True,
                value={
                    "journey": "refunds",
                    "signals": {"confidence": 0.55},
                    "context": {"order_id": "A-10023", "reason": "parcel arrived damaged"},
                    "proposal": {"reply": "We have refunded your order in full."},
                    "limit": 3,
                },
            ),
            OpenApiExample(
                "Answer",
                response_only=True,
                value={
                    "would_fire": ["low-confidence"],
                    "results": [
                        {
                            "score": 0.8133,
                            "why": {
                                "shared_points": ["low-confidence"],
                                "points_only_yours": [],
                                "points_only_theirs": [],
                                "signals": {"confidence": {"yours": 0.55, "theirs": 0.58}},
                                "parts": {"points": 1.0, "signals": 0.97, "text": 0.33},
                                "weights": {"points": 0.5, "signals": 0.3, "text": 0.2},
                            },
                            **CORRECTION,
                        }
                    ],
                },
            ),
        ],
    )
    def post(self, request):
        query = self.get_serializer(data=request.data)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        try:
            firing, precedents = find_precedents(
                ai_system=self.ai_system,
                journey=data["journey"],
                signals=data["signals"],
                context=data["context"],
                proposal=data["proposal"],
                limit=data["limit"],
            )
        except UnknownJourney:
            self.refused_object = foreign_journey(self.ai_system, data["journey"])
            raise
        return Response(
            {"would_fire": firing, "results": [precedent.as_dict() for precedent in precedents]}
        )
