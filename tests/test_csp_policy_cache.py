"""The Content-Security-Policy header is built once per policy, not on every response
(hitl_project/content_security_policy.py): django-csp rebuilt the same string twice per request
(the policy and the report-only one), about a tenth of an API ping's CPU. A response whose policy
depends on the request (a nonce a page used, a view's own policy) is still built as before."""

import re

import pytest
from csp import middleware as csp_middleware
from csp.constants import NONE, SELF
from csp.utils import build_policy
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from audit.services.ledger import Actor
from oversight.services.credentials import create_api_key
from tests.factories import AISystemFactory

pytestmark = pytest.mark.django_db

HEADER = "Content-Security-Policy"


@pytest.fixture(autouse=True)
def production_like(settings):
    settings.DEBUG = False


@pytest.fixture
def api_client():
    system = AISystemFactory(slug="support-assistant")
    client = APIClient()
    key = create_api_key(ai_system=system, name="t", actor=Actor.system("t"))[1]
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.fixture
def builds(monkeypatch):
    """How many times django-csp's build_policy runs."""
    calls = []

    def counting(*args, **kwargs):
        calls.append(kwargs)
        return build_policy(*args, **kwargs)

    monkeypatch.setattr(csp_middleware, "build_policy", counting)
    return calls


def test_api_answers_carry_exactly_the_policy_django_csp_builds(api_client):
    for response in (api_client.get("/api/v1/ping/"), APIClient().get("/api/v1/ping/")):
        assert response[HEADER] == build_policy()
        assert "Content-Security-Policy-Report-Only" not in response


def test_the_policy_is_not_rebuilt_for_every_api_answer(api_client, builds):
    for _ in range(5):
        assert api_client.get("/api/v1/ping/").status_code == 200
    assert len(builds) <= 2  # at most once each: the policy, the report-only policy


def test_a_changed_setting_changes_the_header(api_client, settings):
    first = api_client.get("/api/v1/ping/")[HEADER]
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": [NONE]}}
    assert api_client.get("/api/v1/ping/")[HEADER] == "default-src 'none'"
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": {"default-src": [SELF]}}
    response = api_client.get("/api/v1/ping/")
    assert response["Content-Security-Policy-Report-Only"] == "default-src 'self'"
    assert first != response[HEADER]


def test_a_page_that_uses_a_nonce_gets_its_own_every_time(settings):
    settings.API_DOCS_PUBLIC = True  # the docs page writes a <style> with the nonce
    nonces = set()
    for _ in range(2):
        response = Client().get("/api/docs/")
        assert response.status_code == 200
        [nonce] = set(re.findall(r"'nonce-([^']+)'", response[HEADER]))
        assert f'nonce="{nonce}"' in response.content.decode()
        nonces.add(nonce)
    assert len(nonces) == 2


def test_the_login_page_carries_the_same_policy_as_before():
    response = Client().get(reverse("admin:login"))
    assert response[HEADER] == build_policy()


def test_excluded_prefixes_still_get_no_header(api_client, settings):
    settings.CONTENT_SECURITY_POLICY = {
        **settings.CONTENT_SECURITY_POLICY,
        "EXCLUDE_URL_PREFIXES": ["/api/v1/"],
    }
    assert HEADER not in api_client.get("/api/v1/ping/")
