"""Content-Security-Policy on every page; the API docs behind staff sign-in unless public."""

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import StaffUserFactory, SuperUserFactory, UserFactory
from tests.processes import run_django

pytestmark = pytest.mark.django_db

HEADER = "Content-Security-Policy"
PROJECT_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def production_like(settings):
    settings.DEBUG = False


def directives(response) -> dict[str, list[str]]:
    policy = response[HEADER]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def nonce_of(response) -> str:
    [nonce] = [s for s in directives(response)["style-src"] if s.startswith("'nonce-")]
    return nonce[len("'nonce-") : -1]


def test_the_login_page_carries_the_policy():
    response = Client().get(reverse("admin:login"))
    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"][0] == "'self'"
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-inline'" not in policy["style-src"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/oversight/case/",
        "/admin/audit/auditevent/",
        "/admin/oversight/dashboard/",
    ],
)
def test_admin_pages_carry_the_policy(client, url):
    client.force_login(SuperUserFactory())
    response = client.get(url)
    assert response.status_code == 200
    assert "default-src 'self'" in response[HEADER]


def test_the_api_carries_the_policy_too(client):
    response = client.get("/api/v1/cases/")
    assert "default-src 'self'" in response[HEADER]


def test_the_changelist_inline_style_carries_the_headers_nonce(client):
    """The one <style> Django's change list writes (a list without actions) gets the nonce."""
    client.force_login(SuperUserFactory())
    response = client.get(reverse("admin:axes_accessattempt_changelist"))
    html = response.content.decode()
    for tag in re.findall(r"<style[^>]*>", html):
        assert f'nonce="{nonce_of(response)}"' in tag


# API docs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/docs/", "/api/schema/"])
def test_the_api_docs_need_a_staff_sign_in_when_not_public(settings, url):
    settings.API_DOCS_PUBLIC = False
    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("admin:login") + "?next=")

    customer = Client()
    customer.force_login(UserFactory())
    assert customer.get(url).status_code == 302

    staff = Client()
    staff.force_login(StaffUserFactory())
    assert staff.get(url).status_code == 200


def test_the_api_docs_are_open_when_public(settings):
    settings.API_DOCS_PUBLIC = True
    assert Client().get("/api/docs/").status_code == 200
    assert Client().get("/api/schema/").status_code == 200


def test_the_docs_page_has_no_inline_script_and_a_nonced_style(settings):
    settings.API_DOCS_PUBLIC = True
    response = Client().get("/api/docs/")
    html = response.content.decode()
    assert re.findall(r"<script>", html) == []
    [style] = re.findall(r"<style[^>]*>", html)
    assert f'nonce="{nonce_of(response)}"' in style
    script = re.search(r'<script src="(/api/docs/\?script=[^"]*)"', html).group(1)
    init = Client().get(script.replace("&amp;", "&"))
    assert init.status_code == 200
    assert init["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in init.content.decode()


@pytest.mark.parametrize(("debug", "public"), [("0", "False"), ("1", "True")])
def test_the_docs_default_follows_debug(debug, public):
    production = {
        "DEBUG": debug,
        "SECRET_KEY": "x7Lq2-a-long-random-production-secret-9f3kZp0vR8sT1uW4yB6nD5mC",
        "ALLOWED_HOSTS": "oversight.example.com",
    }
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.API_DOCS_PUBLIC, settings.OTP_REQUIRED)"
    )
    result = run_django(production, code)
    assert result.returncode == 0, result.stderr
    otp_required = "True" if debug == "0" else "False"
    assert result.stdout.split() == [public, otp_required]


# Our templates -------------------------------------------------------------------------------


def our_templates():
    folders = [PROJECT_DIR / "templates"]
    folders += [
        PROJECT_DIR / app / "templates" for app in ("oversight", "audit", "literacy", "accounts")
    ]
    for folder in folders:
        if folder.exists():
            yield from (path for path in folder.rglob("*.html") if "reports" not in path.parts)


def test_our_page_templates_have_no_inline_script_style_element_or_handler():
    """Pages stay CSP-clean: scripts from static files, <style> only with the nonce, no on*=.

    PDF report templates (templates/reports) are rendered by WeasyPrint, not a browser.
    """
    offences = []
    for path in our_templates():
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and "application/json" not in tag:
                offences.append(f"{path.name}: {tag}")
        for tag in re.findall(r"<style\b[^>]*>", text):
            if "csp_nonce" not in tag:
                offences.append(f"{path.name}: {tag}")
        offences += [f"{path.name}: {m}" for m in re.findall(r"\son[a-z]+=\"", text)]
        offences += [f"{path.name}: {m}" for m in re.findall(r"\sstyle=\"", text)]
    assert offences == []
