"""The four roles of DESIGN.md as Django groups, with their model permissions.

No role holds a delete permission: evidence is never deleted. Object-level authority (who may
decide which journey) comes from authority grants, not from these groups.
"""

REVIEWER = "Reviewer"
MANAGER = "Manager"
COMPLIANCE_OFFICER = "Compliance officer"
TRAINER = "Trainer"

_OVERSIGHT_READ = [
    "oversight.view_aisystem",
    "oversight.view_journey",
    "oversight.view_judgementpoint",
    "oversight.view_triggercondition",
    "oversight.view_authoritylevel",
    "oversight.view_overridereason",
    "oversight.view_case",
    "oversight.view_decision",
    "oversight.view_gateevaluation",
    "oversight.view_outcome",
]
_LITERACY_READ = [
    "literacy.view_trainingmodule",
    "literacy.view_trainingmoduleversion",
    "literacy.view_trainingcompletion",
    "literacy.view_trainingrequirement",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    REVIEWER: [
        *_OVERSIGHT_READ,
        "literacy.view_trainingmodule",
        "literacy.view_trainingmoduleversion",
    ],
    MANAGER: [
        *_OVERSIGHT_READ,
        *_LITERACY_READ,
        "auth.view_user",
        "oversight.view_authoritygrant",
        "oversight.add_authoritygrant",
        "oversight.change_authoritygrant",
        "oversight.change_journey",
        "oversight.add_judgementpoint",
        "oversight.change_judgementpoint",
        "oversight.add_triggercondition",
        "oversight.change_triggercondition",
        "oversight.add_overridereason",
        "oversight.change_overridereason",
    ],
    COMPLIANCE_OFFICER: [
        *_OVERSIGHT_READ,
        *_LITERACY_READ,
        "auth.view_user",
        "oversight.view_authoritygrant",
        "audit.view_auditevent",
    ],
    TRAINER: [
        *_LITERACY_READ,
        "auth.view_user",
        "oversight.view_authoritylevel",
        "literacy.add_trainingmodule",
        "literacy.change_trainingmodule",
        "literacy.add_trainingmoduleversion",
        "literacy.change_trainingmoduleversion",
        "literacy.add_trainingcompletion",
        "literacy.change_trainingcompletion",
        "literacy.add_trainingrequirement",
        "literacy.change_trainingrequirement",
    ],
}

# Login lock-outs (django-axes): who may see and lift them. Kept apart from ROLE_PERMISSIONS
# because axes' permissions exist only after its migrations; audit/migrations grants them.
SIGN_IN_UNLOCK_PERMISSIONS: dict[str, list[str]] = {
    MANAGER: ["axes.view_accessattempt", "axes.change_accessattempt"],
}

# What each role's admin index and nav sidebar link to: the lists of its daily work. Hiding a link
# is not a permission change (a hidden list still opens for whoever may view it); it keeps a
# person's home free of tables they never use. A person holds a role when their groups give
# every permission of it (oversight.admin.navigation.roles_of); in several roles they see the
# union; a superuser or a person in no role sees every list their permissions allow.
# The compliance officer audits every record, so every list they may read stays linked.
ROLE_ADMIN_LINKS: dict[str, frozenset[str]] = {
    REVIEWER: frozenset({"oversight.Case", "oversight.Decision", "literacy.TrainingModule"}),
    MANAGER: frozenset(
        {
            "oversight.Journey",
            "oversight.AuthorityGrant",
            "oversight.AISystem",
            "oversight.AuthorityLevel",
            "oversight.JudgementPoint",
            "oversight.TriggerCondition",
            "oversight.OverrideReason",
            "oversight.Guardrail",
            "oversight.Case",
            "oversight.Decision",
            "oversight.Incident",
            "literacy.TrainingCompletion",
            "literacy.TrainingRequirement",
            "auth.User",
            "axes.AccessAttempt",
        }
    ),
    COMPLIANCE_OFFICER: frozenset(
        {
            "oversight.ReportRequest",
            "oversight.IssuedReport",
            "oversight.Incident",
            "audit.AuditEvent",
            "oversight.AuthorityGrant",
            "oversight.Case",
            "oversight.Decision",
            "oversight.Outcome",
            "oversight.GateEvaluation",
            "oversight.Guardrail",
            "oversight.GuardrailEvaluation",
            "oversight.AISystem",
            "oversight.Journey",
            "oversight.JudgementPoint",
            "oversight.TriggerCondition",
            "oversight.AuthorityLevel",
            "oversight.OverrideReason",
            "literacy.TrainingModule",
            "literacy.TrainingModuleVersion",
            "literacy.TrainingCompletion",
            "literacy.TrainingRequirement",
            "literacy.SystemBriefing",
            "literacy.BriefingRequirement",
            "literacy.BriefingAcknowledgement",
            "auth.User",
        }
    ),
    TRAINER: frozenset(
        {
            "literacy.TrainingModule",
            "literacy.TrainingModuleVersion",
            "literacy.TrainingCompletion",
            "literacy.TrainingRequirement",
            "literacy.SystemBriefing",
            "literacy.BriefingRequirement",
            "literacy.BriefingAcknowledgement",
            "literacy.TrainingReminder",
            "auth.User",
        }
    ),
}
