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
