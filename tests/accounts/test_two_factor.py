"""Two-factor sign-in (django-otp): enrolment, the second step at login, backup codes."""

import datetime
import io
import re

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent
from tests.factories import StaffUserFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # the factories' password
SETUP = "/admin/two-factor/setup/"
VERIFY = "/admin/two-factor/verify/"


@pytest.fixture(autouse=True)
def otp_required(settings):
    settings.OTP_REQUIRED = True


def password_login(client, username):
    response = client.post(
        reverse("admin:login"), {"username": username, "password": PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302, "the password step itself succeeds"
    return response


def code_for(device: TOTPDevice) -> str:
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits).token():06d}"


def enrolled(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


# Without a device: enrolment first, nothing else -------------------------------------------


@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/oversight/case/", "/admin/audit/auditevent/", "/api/docs/"]
)
def test_staff_without_a_device_reach_only_enrolment_after_the_password(client, path):
    StaffUserFactory(username="cora")
    password_login(client, "cora")

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith(SETUP + "?next=")


def test_enrolment_shows_a_local_qr_code_the_setup_link_and_the_secret(client):
    user = StaffUserFactory(username="cora")
    password_login(client, "cora")

    page = client.get(SETUP).content.decode()

    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert "<svg" in page and "<script" not in page.split("<svg", 1)[1].split("</svg>")[0]
    assert "otpauth://totp/HITL%20Oversight%3Acora?secret=" in page
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page).group(1)
    assert device.config_url.split("secret=")[1].startswith(secret.replace(" ", ""))
    # Reloading keeps the same secret (the app may have scanned it already).
    client.get(SETUP)
    assert TOTPDevice.objects.filter(user=user).count() == 1


def test_a_wrong_enrolment_code_is_refused_and_nothing_is_enrolled(client):
    user = StaffUserFactory(username="cora")
    password_login(client, "cora")
    client.get(SETUP)
    before = AuditEvent.objects.count()

    response = client.post(SETUP, {"token": "000000"})

    assert "That code is not right" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    assert AuditEvent.objects.count() == before
    assert client.get("/admin/").status_code == 302


def test_enrolment_with_a_right_code_gives_backup_codes_and_opens_the_admin(client):
    user = StaffUserFactory(username="cora")
    password_login(client, "cora")
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=user)

    response = client.post(SETUP, {"token": code_for(device), "next": "/admin/"})

    assert response.status_code == 200
    codes = re.findall(r"<li><code>(\w+)</code></li>", response.content.decode())
    assert len(codes) == 10
    assert sorted(StaticToken.objects.values_list("token", flat=True)) == sorted(codes)
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/admin/").status_code == 200
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions[-2:] == ["auth.two_factor_enrolled", "auth.backup_codes_issued"]
    assert not any(code in str(AuditEvent.objects.values_list("payload")) for code in codes)


# With a device: the second step at login --------------------------------------------------


def test_login_with_a_valid_code_opens_the_admin(client):
    user = StaffUserFactory(username="cora")
    device = enrolled(user)
    password_login(client, "cora")
    assert client.get("/admin/")["Location"].startswith(VERIFY)

    response = client.post(VERIFY, {"token": code_for(device), "next": "/admin/"})

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_login_with_an_invalid_code_is_refused_and_the_admin_stays_closed(client):
    enrolled(StaffUserFactory(username="cora"))
    password_login(client, "cora")

    response = client.post(VERIFY, {"token": "123456", "next": "/admin/"})

    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert client.get("/admin/")["Location"].startswith(VERIFY)


def test_after_a_wrong_code_the_next_one_waits_a_moment(client):
    """django-otp's throttle: guessing 10^6 codes online is not an option."""
    device = enrolled(StaffUserFactory(username="cora"))
    password_login(client, "cora")
    start = datetime.datetime(2026, 3, 2, 9, 0, 10, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False):
        client.post(VERIFY, {"token": "000000"})
        right_too_soon = client.post(VERIFY, {"token": code_for(device)})
        assert "each wrong code doubles the wait" in right_too_soon.content.decode()
    with time_machine.travel(start + datetime.timedelta(seconds=5), tick=False):
        assert client.post(VERIFY, {"token": code_for(device)}).status_code == 302
        assert client.get("/admin/").status_code == 200


def test_a_backup_code_works_once(client):
    user = StaffUserFactory(username="cora")
    enrolled(user)
    backup = StaticDevice.objects.create(user=user, name="Backup codes", confirmed=True)
    backup.token_set.create(token="abcd1234")

    password_login(client, "cora")
    assert client.post(VERIFY, {"token": "abcd1234"}).status_code == 302
    assert client.get("/admin/").status_code == 200

    client.post(reverse("admin:logout"))
    password_login(client, "cora")
    response = client.post(VERIFY, {"token": "abcd1234"})
    assert "That code is not right" in response.content.decode()
    assert client.get("/admin/")["Location"].startswith(VERIFY)


def test_a_password_alone_cannot_enrol_a_new_authenticator(client):
    user = StaffUserFactory(username="cora")
    enrolled(user)
    password_login(client, "cora")

    assert client.get(SETUP)["Location"].startswith(VERIFY)
    assert client.post(SETUP, {"token": "123456"})["Location"].startswith(VERIFY)
    assert TOTPDevice.objects.filter(user=user).count() == 1


def test_a_verified_person_may_replace_the_app_and_the_old_one_stops(client):
    user = StaffUserFactory(username="cora")
    old = enrolled(user)
    password_login(client, "cora")
    client.post(VERIFY, {"token": code_for(old)})

    client.get(SETUP + "?replace=1")
    new = TOTPDevice.objects.get(user=user, confirmed=False)
    client.post(SETUP, {"token": code_for(new)})

    assert list(TOTPDevice.objects.filter(user=user).values_list("pk", flat=True)) == [new.pk]


# When it is not required ------------------------------------------------------------------


def test_without_otp_required_staff_sign_in_with_the_password_alone(client, settings):
    settings.OTP_REQUIRED = False
    StaffUserFactory(username="cora")
    password_login(client, "cora")
    assert client.get("/admin/").status_code == 200


def test_people_who_are_not_staff_are_not_sent_to_enrol(client):
    client.force_login(UserFactory())
    assert client.get(SETUP).status_code == 302  # to the admin login, as any staff page
    assert client.get(SETUP)["Location"].startswith(reverse("admin:login"))


def test_createsuperuser_explains_enrolment():
    out = io.StringIO()
    call_command(
        "createsuperuser",
        interactive=False,
        username="root",
        email="root@example.com",
        stdout=out,
    )
    assert "/admin/two-factor/setup/" in out.getvalue()
    assert "Two-factor sign-in is required" in out.getvalue()
