"""The callback SSRF policy: checked when a URL is given and again, after DNS, when it is sent."""

import ipaddress

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from audit.services.ledger import Actor
from oversight.models import Case, DeliveryStatus, GateEvaluation, WebhookAttempt
from oversight.services import callback_policy
from oversight.services.callback_policy import (
    CallbackRefused,
    check_callback_url,
    resolve_callback,
)
from oversight.services.credentials import rotate_webhook_secret
from oversight.services.gate import GateRequest, ProposedAction, evaluate_gate
from oversight.services.webhooks import attempt_delivery, enqueue_decision_webhook
from tests.factories import CaseFactory, DecisionFactory, JourneyFactory

pytestmark = pytest.mark.django_db

PUBLIC = ipaddress.ip_address("93.184.215.14")
LOOPBACK = ipaddress.ip_address("127.0.0.1")


@pytest.fixture
def resolver(monkeypatch):
    """Replaces DNS: `answers[name]` is what the name resolves to; `calls` counts lookups."""

    class FakeResolver:
        answers: dict[str, list] = {}
        calls: list[str] = []

        def __call__(self, host, port):
            self.calls.append(host)
            return list(self.answers[host])

    fake = FakeResolver()
    fake.answers, fake.calls = {}, []
    monkeypatch.setattr(callback_policy, "resolve_host", fake)
    return fake


def delivery_to(url: str):
    case = CaseFactory(status="decided", decided_at=timezone.now(), callback_url=url)
    DecisionFactory(case=case, decided_at=case.decided_at)
    rotate_webhook_secret(ai_system=case.journey.ai_system, actor=Actor.system("test"))
    return enqueue_decision_webhook(case=case)


# When the URL is given ---------------------------------------------------------------------


def test_the_gate_service_refuses_a_loopback_callback_and_stores_nothing():
    journey = JourneyFactory()
    request = GateRequest(
        journey=journey.slug,
        action=ProposedAction(type="refund"),
        callback_url="http://[::1]:8080/hook",
    )
    before = (GateEvaluation.objects.count(), Case.objects.count(), AuditEvent.objects.count())
    with pytest.raises(CallbackRefused, match="loopback"):
        evaluate_gate(ai_system=journey.ai_system, request=request)
    assert (
        GateEvaluation.objects.count(),
        Case.objects.count(),
        AuditEvent.objects.count(),
    ) == before


def test_the_model_field_refuses_an_internal_callback_on_full_clean():
    case = CaseFactory(callback_url="https://bot.example.com/hook")
    case.full_clean()
    case.callback_url = "http://169.254.169.254/latest/meta-data/"
    with pytest.raises(ValidationError, match="cloud metadata"):
        case.full_clean()


def test_host_names_are_not_resolved_when_given(resolver):
    check_callback_url("https://bot.example.com/hook")
    assert resolver.calls == []


@pytest.mark.parametrize(
    "url",
    ["http://[::ffff:a00:1]/", "http://[64:ff9b::7f00:1]/", "http://[2002:7f00:1::]/"],
)
def test_ipv4_inside_ipv6_forms_are_refused(url):
    with pytest.raises(CallbackRefused, match="inside an IPv6 address"):
        check_callback_url(url)


@pytest.mark.parametrize("url", ["http://2130706433/", "http://0x7f.0.0.1/", "http://0177.0.0.1/"])
def test_legacy_ipv4_spellings_are_read_as_the_address_they_mean(url, resolver):
    # The API's URL field already refuses these; the service and model checks must too.
    with pytest.raises(CallbackRefused, match=r"loopback address \("):
        check_callback_url(url)
    assert resolver.calls == []


def test_the_allow_list_takes_hosts_and_cidrs_but_never_userinfo(settings):
    settings.WEBHOOK_ALLOWED_TARGETS = ["127.0.0.0/8", "hooks.internal"]
    check_callback_url("http://127.0.0.5:9000/hook")
    check_callback_url("http://HOOKS.internal/hook")
    with pytest.raises(CallbackRefused, match="user name or password"):
        check_callback_url("http://example.com@127.0.0.1/")
    with pytest.raises(CallbackRefused, match="private"):
        check_callback_url("http://10.0.0.1/hook")


# When it is sent ---------------------------------------------------------------------------


def test_a_name_that_resolves_to_loopback_at_send_time_is_refused_and_nothing_is_sent(
    receiver, resolver, settings
):
    port = receiver.url.split(":")[2].split("/")[0]
    delivery = delivery_to(f"http://hooks.example.com:{port}/hook")  # public when given
    settings.WEBHOOK_ALLOWED_TARGETS = []
    resolver.answers["hooks.example.com"] = [LOOPBACK]  # ... loopback when sent

    delivery = attempt_delivery(delivery_id=delivery.id)

    assert receiver.requests == []
    [attempt] = WebhookAttempt.objects.filter(delivery=delivery)
    assert "resolves to a loopback address (127.0.0.1)" in attempt.error
    assert delivery.status == DeliveryStatus.FAILED
    assert AuditEvent.objects.filter(action="webhook.failed").count() == 1


def test_one_refused_address_among_several_refuses_the_url(resolver):
    resolver.answers["hooks.example.com"] = [PUBLIC, ipaddress.ip_address("10.0.0.7")]
    with pytest.raises(CallbackRefused, match="private network address"):
        resolve_callback("https://hooks.example.com/hook")


def test_the_request_goes_to_the_checked_address_with_the_original_host_header(
    receiver, resolver, settings
):
    """`hooks.example.test` does not exist: the POST arrives only because it is pinned."""
    settings.WEBHOOK_ALLOWED_TARGETS = ["127.0.0.1/32"]
    port = receiver.url.split(":")[2].split("/")[0]
    resolver.answers["hooks.example.test"] = [LOOPBACK]
    delivery = delivery_to(f"http://hooks.example.test:{port}/hook?x=1")

    delivery = attempt_delivery(delivery_id=delivery.id)

    assert delivery.status == DeliveryStatus.DELIVERED
    [request] = receiver.requests
    assert request.path == "/hook?x=1"
    assert request.headers["Host"] == f"hooks.example.test:{port}"
    assert resolver.calls == ["hooks.example.test"]  # resolved once, by the policy


def test_a_rebinding_answer_after_the_check_is_never_used(resolver):
    """The target keeps the address that was checked, whatever DNS says afterwards."""
    resolver.answers["hooks.example.com"] = [PUBLIC]
    target = resolve_callback("https://hooks.example.com/hook")
    resolver.answers["hooks.example.com"] = [LOOPBACK]
    assert target.address == PUBLIC
    assert target.pinned_url == "https://93.184.215.14:443/hook"
    assert target.host_header == "hooks.example.com"


def test_https_connects_to_the_checked_address_but_checks_the_certificate_of_the_name():
    target = callback_policy.CallbackTarget(
        url="https://hooks.example.com/hook",
        scheme="https",
        host="hooks.example.com",
        port=443,
        address=PUBLIC,
    )
    pool = callback_policy._PinnedAdapter(target).poolmanager.connection_from_url(target.pinned_url)
    connection = pool._new_conn()
    assert connection.host == "93.184.215.14"
    assert connection.server_hostname == "hooks.example.com"  # SNI
    assert connection.assert_hostname == "hooks.example.com"  # certificate name


def test_a_name_that_does_not_resolve_is_retried_later(monkeypatch, receiver):
    def fail(host, port):
        raise OSError("Name or service not known")

    monkeypatch.setattr(callback_policy, "resolve_host", fail)
    delivery = delivery_to("http://hooks.example.com/hook")
    delivery = attempt_delivery(delivery_id=delivery.id)
    [attempt] = WebhookAttempt.objects.filter(delivery=delivery)
    assert attempt.error.startswith("DNS: Name or service not known")
    assert delivery.status == DeliveryStatus.PENDING


def test_redirects_are_not_followed(receiver):
    receiver.status = 302
    delivery = delivery_to(receiver.url)
    delivery = attempt_delivery(delivery_id=delivery.id)
    assert len(receiver.requests) == 1
    assert WebhookAttempt.objects.get(delivery=delivery).status_code == 302
    assert delivery.status == DeliveryStatus.PENDING
