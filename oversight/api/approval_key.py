"""GET /api/v1/approval-key/: the public key that checks approval tokens offline."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.response import Response

from oversight.api.views import AISystemAPIView
from oversight.approvals import public_key_document


class ApprovalKeyView(AISystemAPIView):
    @extend_schema(
        summary="The key that signs approval tokens",
        description="The Ed25519 public key (base64 of its 32 raw bytes) that signs the "
        "`approval_token` of decided cases. Fetch it once and keep it: tokens are then checked "
        "without calling the product. `key_id` names the key a token was signed with.",
        responses={200: OpenApiResponse(description="format, algorithm, key_id, public_key")},
        examples=[
            OpenApiExample(
                "The key",
                response_only=True,
                value={
                    "format": "hitl-approval/1",
                    "algorithm": "Ed25519",
                    "key_id": "3f9a1c0d5e7b2a64",
                    "public_key": "p3Qm0mS3qL0yq1b2Qk9h8l1e4m6w1o2d3x4c5v6b7n8=",
                },
            )
        ],
    )
    def get(self, request):
        return Response(public_key_document())
