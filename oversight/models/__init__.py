"""Oversight domain: one module per aggregate, re-exported here for Django and for callers."""

from oversight.models.authority import AuthorityGrant, AuthorityLevel
from oversight.models.cases import (
    Case,
    CaseStatus,
    Decision,
    DecisionOutcome,
    DecisionStage,
    Outcome,
    OverrideReason,
    RouteReason,
)
from oversight.models.gate import GateEvaluation, ImmutableRecordError, Route
from oversight.models.golive import GoLiveSignOff
from oversight.models.guardrails import (
    Guardrail,
    GuardrailBreachAction,
    GuardrailEvaluation,
    GuardrailKind,
)
from oversight.models.incidents import (
    Incident,
    IncidentClass,
    IncidentReminder,
    IncidentSource,
    IncidentState,
)
from oversight.models.integration import (
    AISystemAPIKey,
    DeliveryStatus,
    IdempotencyRecord,
    WebhookAttempt,
    WebhookDelivery,
)
from oversight.models.judgement import (
    Combinator,
    JudgementPoint,
    Operator,
    Priority,
    TriggerCondition,
)
from oversight.models.permissions import AISystemUserObjectPermission, JourneyUserObjectPermission
from oversight.models.refusals import APIRefusalWindow
from oversight.models.reports import (
    IssuedReport,
    ReportKind,
    ReportRequest,
    ReportStatus,
    RequestedVia,
)
from oversight.models.rollups import (
    DecidedCaseDay,
    DecisionDay,
    GateDay,
    GateRollup,
    OutcomeDay,
    StaleDecidedCaseDay,
    StaleDecisionDay,
    StaleOutcomeDay,
)
from oversight.models.systems import (
    AISystem,
    AutomationState,
    Journey,
    JourneyMode,
    RiskCategory,
)

__all__ = [
    "AISystem",
    "AISystemAPIKey",
    "APIRefusalWindow",
    "AISystemUserObjectPermission",
    "DeliveryStatus",
    "IdempotencyRecord",
    "WebhookAttempt",
    "WebhookDelivery",
    "AuthorityGrant",
    "AuthorityLevel",
    "AutomationState",
    "Case",
    "CaseStatus",
    "Combinator",
    "Decision",
    "DecisionOutcome",
    "DecisionStage",
    "DecidedCaseDay",
    "DecisionDay",
    "GateDay",
    "OutcomeDay",
    "StaleDecidedCaseDay",
    "StaleDecisionDay",
    "StaleOutcomeDay",
    "GateEvaluation",
    "GateRollup",
    "GoLiveSignOff",
    "Guardrail",
    "GuardrailBreachAction",
    "GuardrailEvaluation",
    "GuardrailKind",
    "ImmutableRecordError",
    "Incident",
    "IncidentClass",
    "IncidentReminder",
    "IncidentSource",
    "IncidentState",
    "IssuedReport",
    "Journey",
    "JourneyMode",
    "JourneyUserObjectPermission",
    "JudgementPoint",
    "Operator",
    "Outcome",
    "Priority",
    "OverrideReason",
    "ReportKind",
    "ReportRequest",
    "ReportStatus",
    "RequestedVia",
    "RiskCategory",
    "Route",
    "RouteReason",
    "TriggerCondition",
]
