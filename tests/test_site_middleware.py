"""The pages' middleware (sessions, sign-in, two-factor, messages, history user) is
skipped on the API's /api/v1/ paths and runs everywhere else (hitl_project/site_middleware.py)."""

import pytest
from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware
from django.urls import reverse
from django.utils.module_loading import import_string
from rest_framework.test import APIClient

from audit.services.ledger import Actor
from oversight.services.credentials import create_api_key
from tests.factories import AISystemFactory, StaffUserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # the factories' password


@pytest.fixture
def api_key():
    system = AISystemFactory(slug="support-assistant")
    return create_api_key(ai_system=system, name="t", actor=Actor.system("t"))[1]


@pytest.fixture
def half_signed_in(client, settings):
    """A staff member past the password step only, with two-factor sign-in required."""
    settings.OTP_REQUIRED = True
    StaffUserFactory(username="cora")
    response = client.post(
        reverse("admin:login"), {"username": "cora", "password": PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302
    return client


def test_the_pages_still_run_it_a_half_signed_in_person_is_sent_to_enrol(half_signed_in):
    response = half_signed_in.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/two-factor/setup/")
    assert half_signed_in.get("/api/docs/").status_code == 302  # the docs sign staff in too


def test_the_api_skips_it_a_session_cookie_changes_nothing_and_none_is_set(half_signed_in, api_key):
    response = half_signed_in.get("/api/v1/ping/", HTTP_AUTHORIZATION=f"Api-Key {api_key}")
    assert response.status_code == 200
    assert response.json() == {"ai_system": "support-assistant"}
    assert "Cookie" not in response.get("Vary", "")
    assert not response.cookies


def test_api_answers_keep_the_security_headers_and_request_id(api_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key}")
    for response in (client.get("/api/v1/ping/"), APIClient().get("/api/v1/ping/")):
        assert response["X-Frame-Options"] == "DENY"
        assert "default-src 'self'" in response["Content-Security-Policy"]
        assert response["X-Request-ID"]
        assert response["Content-Type"] == "application/json"


def test_an_api_post_needs_no_csrf_token_with_a_session_either(half_signed_in, api_key):
    half_signed_in.handler.enforce_csrf_checks = True
    response = half_signed_in.post(
        "/api/v1/gate/",
        {},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Api-Key {api_key}",
    )
    assert response.status_code == 400  # the body's validation answered, not a CSRF 403
    assert response.json()["error"]["code"] == "invalid_input"


def test_the_wrapped_classes_are_still_what_django_and_the_admin_check_for():
    wrapped = [path for path in settings.MIDDLEWARE if path.startswith("hitl_project.site_")]
    assert len(wrapped) == 6
    session = import_string("hitl_project.site_middleware.SessionMiddleware")
    assert issubclass(session, SessionMiddleware)
