"""Every write endpoint refuses a body field it does not read, naming it.

A silently ignored `"status": "decided"` or `"ai_system": "other"` would look accepted; the
refusal names each unknown field, nested ones with their path, and changes nothing.
"""

import pytest
from rest_framework import serializers

from audit.models import AuditEvent
from oversight.api.serializers import RefuseUnknownFields
from oversight.models import Case, GateEvaluation, IdempotencyRecord, Outcome
from tests.oversight.api.conftest import gate_body


def counts():
    return (
        GateEvaluation.objects.count(),
        Case.objects.count(),
        Outcome.objects.count(),
        AuditEvent.objects.count(),
        IdempotencyRecord.objects.count(),
    )


def refused_naming(response, *fields):
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert sorted(error["fields"]) == sorted(fields)
    for field in fields:
        assert error["fields"][field] == [error["fields"][field][0]]
        assert error["fields"][field][0].startswith("Unknown field: this API does not read it.")
        assert f"{field}: Unknown field" in error["message"]
    return error


@pytest.mark.parametrize(
    ("url", "body", "fields"),
    [
        ("/api/v1/gate/", gate_body(ai_system="other-system"), ["ai_system"]),
        ("/api/v1/gate/", gate_body(status="decided", id="x"), ["id", "status"]),
        ("/api/v1/gate/", gate_body(reason="system_unsure"), ["reason"]),
        ("/api/v1/gate/", gate_body(callbak_url="https://bot.example.com/"), ["callbak_url"]),
        (
            "/api/v1/gate/",
            gate_body(action={"type": "refund", "approved": True}),
            ["action.approved"],
        ),
        (
            "/api/v1/cases/",
            gate_body(reason="system_unsure", status="decided", decided_by="lee"),
            ["decided_by", "status"],
        ),
        (
            "/api/v1/outcomes/",
            {"evaluation": "6a1d9c3e-8f2b-4b7a-a0c4-1e5d2f8b7c90", "reversed": True, "id": 1},
            ["id"],
        ),
    ],
)
def test_an_unknown_field_is_refused_naming_it_and_nothing_changes(
    client, refunds, url, body, fields
):
    before = counts()
    response = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    refused_naming(response, *fields)
    assert counts() == before


def test_an_unknown_field_is_named_even_when_it_is_not_printable(client, refunds):
    response = client.post("/api/v1/gate/", gate_body(**{"extra\n": 1}), format="json")
    refused_naming(response, "extra\\n")


def test_the_message_lists_the_fields_that_are_read(client, refunds):
    response = client.post("/api/v1/outcomes/", {"case": None, "colour": "red"}, format="json")
    message = response.json()["error"]["fields"]["colour"][0]
    assert message == (
        "Unknown field: this API does not read it. Fields: evaluation, case, customer_effort, "
        "repeat_contact, complaint, reversed, note."
    )


def test_the_documented_fields_are_still_accepted(client, refunds):
    body = gate_body(callback_url="https://bot.example.com/hitl")
    body["action"]["irreversible"] = False
    assert client.post("/api/v1/gate/", body, format="json").status_code == 200


class _Probe(RefuseUnknownFields, serializers.Serializer):
    name = serializers.CharField()
    ignored_fields = ("$schema",)


def test_a_field_listed_as_ignored_is_accepted_and_dropped():
    probe = _Probe(data={"name": "x", "$schema": "https://example.com/s.json"})
    assert probe.is_valid(), probe.errors
    assert probe.validated_data == {"name": "x"}
    other = _Probe(data={"name": "x", "schema": "y"})
    assert not other.is_valid()
    assert list(other.errors) == ["schema"]


def test_every_serializer_that_reads_a_body_refuses_unknown_fields():
    """New write endpoints get the rule too: each view's request serializer has the mixin."""
    from oversight.api import urls

    checked = []
    for pattern in urls.urlpatterns:
        view = pattern.callback.view_class
        if "post" in view.http_method_names and hasattr(view, "post"):
            serializer = view.serializer_class
            assert issubclass(serializer, RefuseUnknownFields), view.__name__
            nested = [
                f for f in serializer().fields.values() if isinstance(f, serializers.Serializer)
            ]
            assert all(isinstance(f, RefuseUnknownFields) for f in nested), view.__name__
            checked.append(view.__name__)
    assert sorted(checked) == ["CaseListView", "GateView", "OutcomeView", "PrecedentsView"]
