"""Every admin page of our models renders, none can delete evidence, none lists N+1 queries."""

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEvent
from audit.services.ledger import Actor, append_event
from literacy.models import (
    BriefingAcknowledgement,
    BriefingRequirement,
    SystemBriefing,
    TrainingCompletion,
    TrainingModule,
    TrainingModuleVersion,
    TrainingReminder,
    TrainingRequirement,
)
from oversight.models import (
    AISystem,
    AISystemAPIKey,
    AuthorityGrant,
    AuthorityLevel,
    Case,
    Decision,
    GateEvaluation,
    Guardrail,
    GuardrailEvaluation,
    Incident,
    IssuedReport,
    Journey,
    JudgementPoint,
    Outcome,
    OverrideReason,
    ReportRequest,
    TriggerCondition,
    WebhookDelivery,
)
from tests import factories

pytestmark = pytest.mark.django_db

OUR_APPS = {"oversight", "audit", "literacy"}


def _audit_event():
    return append_event(actor=Actor.system(), action="smoke.test", payload={"note": "smoke"})


def _api_key():
    from oversight.services.credentials import create_api_key

    api_key, _ = create_api_key(
        ai_system=factories.AISystemFactory(), name="smoke", actor=Actor.system("smoke")
    )
    return api_key


def _webhook_delivery():
    case = factories.CaseFactory()
    return WebhookDelivery.objects.create(
        ai_system=case.journey.ai_system,
        case=case,
        event="case.decided",
        url="https://example.com/hook",
        body='{"case": "smoke"}',
    )


BUILDERS = {
    AISystem: factories.AISystemFactory,
    IssuedReport: factories.IssuedReportFactory,
    ReportRequest: factories.ReportRequestFactory,
    Journey: factories.JourneyFactory,
    JudgementPoint: factories.JudgementPointFactory,
    TriggerCondition: factories.TriggerConditionFactory,
    AuthorityLevel: factories.AuthorityLevelFactory,
    AuthorityGrant: factories.AuthorityGrantFactory,
    GateEvaluation: factories.GateEvaluationFactory,
    Case: factories.CaseFactory,
    Decision: factories.DecisionFactory,
    OverrideReason: factories.OverrideReasonFactory,
    Outcome: factories.OutcomeFactory,
    AuditEvent: _audit_event,
    TrainingModule: factories.TrainingModuleFactory,
    TrainingModuleVersion: factories.TrainingModuleVersionFactory,
    TrainingCompletion: factories.TrainingCompletionFactory,
    TrainingRequirement: factories.TrainingRequirementFactory,
    SystemBriefing: factories.SystemBriefingFactory,
    BriefingAcknowledgement: factories.BriefingAcknowledgementFactory,
    BriefingRequirement: factories.BriefingRequirementFactory,
    TrainingReminder: factories.TrainingReminderFactory,
    WebhookDelivery: _webhook_delivery,
    AISystemAPIKey: _api_key,
    Guardrail: factories.GuardrailFactory,
    GuardrailEvaluation: factories.GuardrailEvaluationFactory,
    Incident: factories.IncidentFactory,
}

# Written only by services and the API: the admin shows them and nothing more.
VIEW_ONLY = {
    AuthorityGrant,
    IssuedReport,
    ReportRequest,
    AuditEvent,
    Case,
    Decision,
    GateEvaluation,
    GuardrailEvaluation,
    Outcome,
    BriefingAcknowledgement,
    TrainingReminder,
    TriggerCondition,  # edited inside its judgement point, which raises the point's version
    WebhookDelivery,
    Incident,  # raised and moved through its own forms (the incident services)
}

# View-only records whose add page exists and calls the service (grants: grant_authority).
ADDED_THROUGH_A_SERVICE = {AuthorityGrant, ReportRequest}

REGISTERED = sorted(
    (model for model in admin.site._registry if model._meta.app_label in OUR_APPS),
    key=lambda model: model._meta.label,
)
WITH_HISTORY = [model for model in REGISTERED if hasattr(model, "history")]


def by_label(models):
    return pytest.mark.parametrize("model", models, ids=lambda model: model._meta.label)


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_registered_model_has_a_builder():
    # A newly registered model must get a builder here, or its pages go untested.
    assert set(REGISTERED) == set(BUILDERS)


@by_label(REGISTERED)
def test_changelist_renders(admin_client, model):
    BUILDERS[model]()

    response = admin_client.get(admin_url(model, "changelist"))

    assert response.status_code == 200


@by_label(REGISTERED)
def test_change_page_renders(admin_client, model):
    obj = BUILDERS[model]()

    response = admin_client.get(admin_url(model, "change", obj.pk))

    assert response.status_code == 200


@by_label(WITH_HISTORY)
def test_history_page_renders(admin_client, model):
    obj = BUILDERS[model]()

    response = admin_client.get(admin_url(model, "history", obj.pk))

    assert response.status_code == 200
    assert str(obj) in response.content.decode()


@by_label(REGISTERED)
def test_add_page_renders_only_where_adding_is_allowed(admin_client, model):
    response = admin_client.get(admin_url(model, "add"))

    refused = model in VIEW_ONLY and model not in ADDED_THROUGH_A_SERVICE
    assert response.status_code == (403 if refused else 200)


@by_label(REGISTERED)
def test_delete_view_is_refused_and_row_kept(admin_client, model):
    obj = BUILDERS[model]()
    url = admin_url(model, "delete", obj.pk)

    assert admin_client.get(url).status_code == 403
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


@by_label(REGISTERED)
def test_changelist_offers_no_delete_action(admin_client, model):
    obj = BUILDERS[model]()

    response = admin_client.get(admin_url(model, "changelist"))
    action_form = response.context["action_form"]
    choices = [name for name, _ in action_form.fields["action"].choices] if action_form else []
    assert "delete_selected" not in choices

    # Posting the action by hand does not delete either.
    admin_client.post(
        admin_url(model, "changelist"),
        {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"},
    )
    assert model.objects.filter(pk=obj.pk).exists()


@by_label([model for model in REGISTERED if model in VIEW_ONLY])
def test_view_only_change_page_refuses_a_post(admin_client, model):
    obj = BUILDERS[model]()

    response = admin_client.post(admin_url(model, "change", obj.pk), {})

    assert response.status_code == 403


@by_label(REGISTERED)
def test_changelist_query_count_does_not_grow_with_rows(admin_client, model):
    url = admin_url(model, "changelist")
    BUILDERS[model]()
    admin_client.get(url)  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as one_row:
        admin_client.get(url)

    BUILDERS[model]()
    BUILDERS[model]()
    with CaptureQueriesContext(connection) as three_rows:
        response = admin_client.get(url)

    assert response.context["cl"].result_count == 3
    assert len(three_rows) == len(one_row), [q["sql"] for q in three_rows.captured_queries]


@by_label(WITH_HISTORY)
def test_past_version_page_renders_but_reverting_is_refused(admin_client, model):
    obj = BUILDERS[model]()
    record = obj.history.latest()
    url = admin_url(model, "simple_history", obj.pk, record.history_id)
    history_rows = obj.history.count()

    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, {"_change_history": "1"}).status_code == 403
    assert obj.history.count() == history_rows
