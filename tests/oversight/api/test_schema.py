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
