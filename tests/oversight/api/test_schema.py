"""The OpenAPI schema and its docs page, served without any CDN."""

import pytest
from django.test import Client


@pytest.mark.django_db
def test_schema_describes_every_endpoint_with_the_api_key_scheme():
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert set(schema["paths"]) >= {
        "/api/v1/gate/",
        "/api/v1/journeys/",
        "/api/v1/cases/",
        "/api/v1/cases/{case_id}/",
        "/api/v1/outcomes/",
    }
    assert schema["components"]["securitySchemes"]["ApiKey"]["name"] == "Authorization"
    gate = schema["components"]["schemas"]["GateRequest"]
    assert all(prop.get("description") for prop in gate["properties"].values())


@pytest.mark.django_db
def test_docs_page_loads_its_assets_locally():
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn." not in html and "jsdelivr" not in html


@pytest.mark.django_db
def test_every_operation_has_its_own_words_and_documents_its_errors():
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    descriptions = []
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert operation.get("summary"), where
            description = operation.get("description", "")
            assert description and not description.startswith("Base for every API view"), where
            descriptions.append(description)
            responses = operation["responses"]
            assert {"401", "503"} <= set(responses), where
            if method == "post":
                assert {"400", "413", "415"} <= set(responses), where
            error = responses["401"]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/Error"}
            success = [code for code in responses if code.startswith("2")]
            assert any(
                responses[code].get("content", {}).get("application/json", {}).get("examples")
                for code in success
            ), f"{where}: no example of its answer"
            if "requestBody" in operation:
                body = operation["requestBody"]["content"]["application/json"]
                assert body.get("examples"), f"{where}: no example of its request"
    assert len(descriptions) == len(set(descriptions)) >= 10
    assert {"/api/v1/precedents/", "/api/v1/corrections/", "/api/v1/approval-key/"} <= set(
        schema["paths"]
    )


def test_the_schema_generates_without_errors_or_warnings():
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")
