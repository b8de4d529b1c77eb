"""Request validation and response documents of the public API.

Everything an AI system sends is untrusted: types, sizes and shapes are checked here, at the
edge, before any service sees them.
"""

import re
from collections.abc import Mapping
from decimal import Decimal

from drf_spectacular.utils import OpenApiExample, extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from oversight.json_guard import field_path
from oversight.models import CaseStatus, Journey, JourneyMode, RouteReason
from oversight.services.callback_policy import CallbackRefused, check_callback_url
from oversight.services.gate import DIRECT_REASONS, GateRequest, ProposedAction

SIGNAL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_SIGNALS = 100
MAX_TEXT = 2000
MAX_LIST_ITEMS = 100


class RefuseUnknownFields:
    """For every serializer that reads a request body: a field it does not read is refused.

    A silently ignored field is a misunderstanding waiting to happen (`"status": "decided"`,
    `"ai_system": "other"` or a misspelt `"callbak_url"` would look accepted). Each unknown
    field is named in the 400. A field listed in `ignored_fields` is accepted and ignored; every
    such field must be documented in docs/api.md.
    """

    ignored_fields: tuple[str, ...] = ()

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            known = [field.field_name for field in self._writable_fields]
            unknown = [key for key in data if key not in known and key not in self.ignored_fields]
            if unknown:
                message = f"Unknown field: this API does not read it. Fields: {', '.join(known)}."
                raise serializers.ValidationError(
                    {field_path("", str(key)) or '""': [message] for key in unknown}
                )
        return super().to_internal_value(data)


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {
            "oneOf": [
                {"type": "number"},
                {"type": "boolean"},
                {"type": "string"},
                {"type": "array", "items": {"type": "string"}},
            ]
        },
        "example": {
            "confidence": 0.62,
            "sentiment": -0.7,
            "identity_mismatch": False,
            "recent_fraud_attempts": 0,
            "policy_terms": ["chargeback"],
        },
    }
)
class SignalsField(serializers.JSONField):
    """A flat object: snake_case names → number, boolean, text or list of texts."""

    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        if not isinstance(data, dict):
            raise serializers.ValidationError("Send signals as a flat JSON object.")
        if len(data) > MAX_SIGNALS:
            raise serializers.ValidationError(f"At most {MAX_SIGNALS} signals per call.")
        errors = signal_problems(data)
        if errors:
            raise serializers.ValidationError(errors)
        return data


def signal_problems(data: dict) -> list[str]:
    """What is wrong with each signal of a flat object (names, types, sizes); [] if nothing."""
    errors = []
    for name, value in data.items():
        if not SIGNAL_NAME.match(name):
            errors.append(f"{name!r}: names are snake_case, e.g. recent_fraud_attempts.")
        elif isinstance(value, bool | int | float):
            if isinstance(value, float) and value != value:  # NaN never reaches here
                errors.append(f"{name}: not a number.")
        elif isinstance(value, str):
            if len(value) > MAX_TEXT:
                errors.append(f"{name}: texts are at most {MAX_TEXT} characters.")
        elif isinstance(value, list):
            if len(value) > MAX_LIST_ITEMS or not all(
                isinstance(item, str) and len(item) <= MAX_TEXT for item in value
            ):
                errors.append(f"{name}: lists hold at most {MAX_LIST_ITEMS} texts.")
        else:
            errors.append(f"{name}: use a number, true/false, a text or a list of texts.")
    return errors


class ObjectField(serializers.JSONField):
    """A JSON object (what the system saw)."""

    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        if not isinstance(data, dict):
            raise serializers.ValidationError("Send a JSON object.")
        return data


class ActionSerializer(RefuseUnknownFields, serializers.Serializer):
    type = serializers.CharField(
        max_length=100, help_text="What the system intends to do, e.g. `refund`, `close_account`."
    )
    amount = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
        allow_null=True,
        help_text="Money involved, if any.",
    )
    currency = serializers.RegexField(
        r"^[A-Z]{3}$",
        required=False,
        allow_blank=True,
        help_text="ISO 4217 code, e.g. EUR.",
        error_messages={"invalid": "Use a three-letter ISO 4217 code, e.g. EUR."},
    )
    irreversible = serializers.BooleanField(
        default=False, help_text="True if the action cannot be undone."
    )

    def validate(self, attrs):
        if attrs.get("amount") is not None and not attrs.get("currency"):
            raise serializers.ValidationError({"currency": "Give the currency of the amount."})
        return attrs


class _SubmissionSerializer(RefuseUnknownFields, serializers.Serializer):
    journey = serializers.SlugField(max_length=80, help_text="Journey slug, e.g. `refunds`.")
    action = ActionSerializer(help_text="The action the system intends to take.")
    signals = SignalsField(required=False, default=dict, help_text="Signals the system computed.")
    context = ObjectField(
        required=False, default=dict, help_text="What the system saw (order, customer tier...)."
    )
    proposal = serializers.JSONField(
        required=False,
        allow_null=True,
        default=None,
        help_text="What the system intends to do or say: a text or an object.",
    )
    subject_ref = serializers.CharField(
        max_length=128,
        required=False,
        allow_blank=True,
        default="",
        help_text="A pseudonymous customer reference (never a name or e-mail).",
    )
    callback_url = serializers.URLField(
        max_length=500,
        required=False,
        allow_blank=True,
        default="",
        help_text="http(s) URL that receives the signed decision webhook.",
    )

    def validate_callback_url(self, value: str) -> str:
        try:
            check_callback_url(value)
        except CallbackRefused as exc:
            raise serializers.ValidationError(exc.message) from None
        return value

    def to_gate_request(self) -> GateRequest:
        data = self.validated_data
        action = data.get("action") or {"type": "", "irreversible": False}
        return GateRequest(
            journey=data["journey"],
            action=ProposedAction(
                type=action["type"],
                irreversible=action["irreversible"],
                amount=action.get("amount"),
                currency=action.get("currency", ""),
            ),
            signals=data["signals"],
            context=data["context"],
            proposal=data["proposal"],
            subject_ref=data["subject_ref"],
            callback_url=data["callback_url"],
        )


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A refund with low confidence",
            value={
                "journey": "refunds",
                "action": {"type": "refund", "amount": "120.00", "currency": "EUR"},
                "signals": {"confidence": 0.58, "sentiment": -0.2},
                "context": {"order_id": "A-10023", "customer_tier": "gold"},
                "proposal": {"reply": "We have refunded your order in full."},
                "subject_ref": "cust-4821",
                "callback_url": "https://bot.example.com/hitl/decisions",
            },
            request_only=True,
        )
    ]
)
class GateRequestSerializer(_SubmissionSerializer):
    pass


class CaseCreateSerializer(_SubmissionSerializer):
    """A case opened directly. A customer who asks for a person is a hand-over: nothing is
    proposed, so journey, reason and context are enough. An unsure system names its action."""

    reason = serializers.ChoiceField(
        choices=[(r, RouteReason(r).label) for r in DIRECT_REASONS],
        help_text="Why a person is needed: the customer asked, or the system is unsure.",
    )
    action = ActionSerializer(
        required=False,
        help_text="The action the system intends to take. Required for `system_unsure`; "
        "optional for `customer_requested_human` (a hand-over proposes nothing).",
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if attrs["reason"] == RouteReason.SYSTEM_UNSURE and not attrs.get("action"):
            raise serializers.ValidationError(
                {"action": "Name the action the system is unsure about."}
            )
        return attrs


class CaseLinkSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="Case id.")
    status = serializers.ChoiceField(choices=CaseStatus.choices, help_text="Always open at first.")
    url = serializers.URLField(help_text="Poll this URL for the decision.")
    route_reason = serializers.ChoiceField(
        choices=RouteReason.choices,
        help_text='Why a person was asked; "shadow" while the journey is in shadow mode.',
    )


class GateAnswerSerializer(serializers.Serializer):
    route = serializers.ChoiceField(
        choices=["automate", "human"],
        help_text="automate: go ahead. human: wait for the case's decision.",
    )
    evaluation = serializers.UUIDField(help_text="Id of the stored gate evaluation.")
    case = CaseLinkSerializer(required=False, help_text="Only when routed to a human.")
    matched = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Slugs of the points that fired."
    )
    reasons = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Why a person is needed, in words a reviewer reads too.",
    )


class DecisionStateSerializer(serializers.Serializer):
    outcome = serializers.CharField(help_text="approve, modify, reject, agree or disagree.")
    final_action = serializers.JSONField(
        allow_null=True, help_text="The action as the person decided it (modify)."
    )
    overridden = serializers.BooleanField(help_text="The person overrode the AI's proposal.")
    override_reason = serializers.CharField(allow_null=True, help_text="Reason category code.")
    override_reason_label = serializers.CharField(
        allow_null=True, help_text="The reason category in words."
    )
    rationale = serializers.CharField(
        help_text="Why the person decided so, with personal data masked ([email], ...)."
    )
    decided_at = serializers.DateTimeField(help_text="When the decision was taken.")


class NextStepSerializer(serializers.Serializer):
    instruction = serializers.ChoiceField(
        choices=["wait", "proceed", "proceed_with_changes", "do_not_proceed", "already_automated"],
        help_text="Switch on this.",
    )
    may_proceed = serializers.BooleanField(help_text="True when the action may be carried out.")
    action = serializers.JSONField(required=False, help_text="The action to carry out, if any.")
    approval_token = serializers.CharField(
        required=False,
        help_text="With proceed and proceed_with_changes: a token signed by the product that "
        "binds this approval to the exact action and expires; check it with the public key of "
        "GET /api/v1/approval-key/ before acting (docs/agents.md).",
    )
    detail = serializers.CharField(required=False, help_text="Explanation for a person.")


class CaseStateSerializer(serializers.Serializer):
    """Documents oversight.selectors.case_state(), which builds the actual document."""

    id = serializers.UUIDField(help_text="Case id.")
    journey = serializers.SlugField(help_text="Journey slug.")
    status = serializers.ChoiceField(choices=CaseStatus.choices, help_text="Where the case is.")
    route_reason = serializers.ChoiceField(
        choices=RouteReason.choices, help_text="Why a person was asked."
    )
    opened_at = serializers.DateTimeField(help_text="When the case was opened.")
    updated_at = serializers.DateTimeField(help_text="Last change; use with ?updated_since=.")
    sla_deadline = serializers.DateTimeField(help_text="When a decision is due.")
    subject_ref = serializers.CharField(help_text="The pseudonymous customer reference sent.")
    evaluation = serializers.UUIDField(
        allow_null=True, help_text="The gate evaluation that opened it, if any."
    )
    decision = DecisionStateSerializer(
        allow_null=True, help_text="The decision that stands; null until decided."
    )
    next_step = NextStepSerializer(help_text="What the automation may do now.")


class OutcomeSerializer(RefuseUnknownFields, serializers.Serializer):
    evaluation = serializers.UUIDField(
        required=False, allow_null=True, help_text="Id of the gate evaluation (from /gate/)."
    )
    case = serializers.UUIDField(required=False, allow_null=True, help_text="Id of the case.")
    customer_effort = serializers.IntegerField(
        min_value=1,
        max_value=7,
        required=False,
        allow_null=True,
        help_text="Customer effort score: 1 very easy … 7 very hard.",
    )
    repeat_contact = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The customer contacted again about the same matter.",
    )
    complaint = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="The customer complained."
    )
    reversed = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The action was later undone (refund clawed back, account reopened...).",
    )
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        default="",
        help_text="Free text, at most 2,000 characters.",
    )

    def validate(self, attrs):
        if not attrs.get("evaluation") and not attrs.get("case"):
            raise serializers.ValidationError("Name the evaluation or the case.")
        return attrs


class OutcomeCreatedSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="Outcome id.")
    evaluation = serializers.UUIDField(allow_null=True, help_text="The evaluation it belongs to.")
    case = serializers.UUIDField(allow_null=True, help_text="The case it belongs to.")


class ConditionSerializer(serializers.Serializer):
    signal = serializers.CharField(help_text="Signal name to send.")
    operator = serializers.CharField(help_text="lt, lte, gt, gte, eq, ne, is_true, ...")
    value = serializers.JSONField(allow_null=True, help_text="Threshold or texts compared.")


class JudgementPointSerializer(serializers.Serializer):
    slug = serializers.SlugField(help_text="Judgement point slug.")
    name = serializers.CharField(help_text="Name shown to reviewers.")
    combinator = serializers.CharField(help_text="all (AND) or any (OR).")
    version = serializers.IntegerField(help_text="Rule version now in force.")
    signals = serializers.SerializerMethodField(help_text="Signal names this point reads.")
    conditions = ConditionSerializer(
        many=True, source="conditions.all", help_text="The trigger's conditions."
    )

    def get_signals(self, point) -> list[str]:
        return sorted({c.signal for c in point.conditions.all()})


class JourneySerializer(serializers.ModelSerializer):
    judgement_points = serializers.SerializerMethodField(
        help_text="Active judgement points and the signals each reads."
    )
    mode = serializers.ChoiceField(
        choices=JourneyMode.choices,
        read_only=True,
        help_text="shadow (every call goes to a person), live, or paused.",
    )

    class Meta:
        model = Journey
        fields = [
            "slug",
            "name",
            "automation_state",
            "mode",
            "required_context_keys",
            "allow_pii_in_proposal",
            "judgement_points",
        ]
        extra_kwargs = {
            "slug": {"help_text": "Send this as `journey`."},
            "name": {"help_text": "Journey name."},
        }

    @extend_schema_field(JudgementPointSerializer(many=True))
    def get_judgement_points(self, journey):
        points = [p for p in journey.judgement_points.all() if p.is_active]
        return JudgementPointSerializer(points, many=True).data
