"""Site-level pages: the favicon, the front door, and the project's own error pages."""

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db


def test_the_favicon_is_served_as_an_icon():
    response = Client().get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"  # ICO magic


def test_the_front_door_leads_to_the_admin():
    response = Client().get("/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_admin_pages_link_the_favicon_and_no_missing_public_site(admin_client):
    page = admin_client.get("/admin/").content.decode()

    assert 'rel="icon"' in page and "favicon.ico" in page
    assert "View site" not in page


@override_settings(DEBUG=False)
def test_an_unknown_page_answers_the_projects_own_404():
    response = Client().get("/no-such-page/")

    assert response.status_code == 404
    page = response.content.decode()
    assert "does not exist, or is not yours to see" in page
    assert "URLconf" not in page  # never Django's debug list of URL patterns


def test_the_500_page_needs_no_context():
    from django.template.loader import render_to_string

    page = render_to_string("500.html")

    assert "Something went wrong on our side" in page
