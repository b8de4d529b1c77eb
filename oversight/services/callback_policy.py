"""Which callback URLs the product may call: the guard against server-side request forgery.

An AI system names a `callback_url`; our worker later POSTs a signed case document there. Left
unchecked, anyone holding an API key could make the worker call addresses only the server can
reach (loopback, the private network, a cloud's metadata service, our own admin). So a URL is
checked twice:

1. when it is given (`check_callback_url`: the API serializer, the gate service, the model
   field's validator): scheme, no userinfo, a host, not our own host, and, when the host is an
   address literal, the address ranges below. Names are not resolved then: an answer then says
   nothing about the answer at send time.
2. when it is sent (`resolve_callback`): the host name is resolved once, every address it
   resolves to is checked, and the request is made to that checked address (`post_pinned`), so
   a DNS answer that changes between the check and the connection (DNS rebinding) cannot
   switch the target. Redirects are never followed; proxies from the environment are ignored.

Refused by default: loopback, private (RFC 1918, unique-local), link-local, multicast, reserved,
unspecified, shared (CGNAT) and cloud-metadata addresses, and IPv4-mapped / NAT64 / 6to4 IPv6
forms of them. `WEBHOOK_ALLOWED_TARGETS` (host names or CIDRs) lets a deployment call internal
receivers on purpose: an entry there is the operator's decision and wins over the range and
own-host checks, never over the scheme and userinfo rules.
"""

import ipaddress
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import requests
from django.conf import settings
from django.http.request import validate_host
from requests.adapters import HTTPAdapter

from oversight.exceptions import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}

# Addresses the `is_global` flag of Python's ipaddress does not already exclude, or that we want
# named in the message: the metadata services of the big clouds and the shared (CGNAT) space.
METADATA_NETWORKS = (
    ipaddress.ip_network("169.254.169.254/32"),  # AWS, GCP, Azure, OpenStack, ...
    ipaddress.ip_network("169.254.170.2/32"),  # AWS ECS task metadata
    ipaddress.ip_network("100.100.100.200/32"),  # Alibaba Cloud
    ipaddress.ip_network("fd00:ec2::254/128"),  # AWS over IPv6
)
SHARED_NETWORK = ipaddress.ip_network("100.64.0.0/10")

# Names that mean "this machine" without going through DNS.
LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


class CallbackRefused(InvalidInput):
    """A callback URL the policy refuses; the message says why, fit for an integrator."""

    code = "callback_refused"


@dataclass(frozen=True)
class CallbackTarget:
    """A checked callback URL and the one address the request will connect to."""

    url: str
    scheme: str
    host: str
    port: int
    address: IPAddress

    @property
    def pinned_url(self) -> str:
        """The URL with its host replaced by the checked address (bracketed for IPv6)."""
        parts = urlsplit(self.url)
        literal = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return urlunsplit(parts._replace(netloc=f"{literal}:{self.port}"))

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


# The allow-list -----------------------------------------------------------------------------------


def _allowed_targets() -> tuple[set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    hosts: set[str] = set()
    networks = []
    for entry in getattr(settings, "WEBHOOK_ALLOWED_TARGETS", []):
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            hosts.add(entry.strip().lower().rstrip("."))
    return hosts, networks


def _host_allowed(host: str) -> bool:
    return host in _allowed_targets()[0]


def _address_allowed(address: IPAddress) -> bool:
    return any(address in network for network in _allowed_targets()[1])


# The checks -------------------------------------------------------------------------------------


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, NAT64 well-known prefix, 6to4), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in ipaddress.ip_network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    return None


def address_refusal(address: IPAddress) -> str | None:
    """Why the policy refuses to connect to `address`, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return "an IPv6 address with a zone is a link-local address"
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = address_refusal(embedded)
            return f"{reason} (inside an IPv6 address)" if reason else None
    if any(address in network for network in METADATA_NETWORKS):
        return "a cloud metadata address"
    for refused, reason in (
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private network address"),
        (address in SHARED_NETWORK if address.version == 4 else False, "a shared (CGNAT) address"),
        (not address.is_global, "not a public address"),
    ):
        if refused:
            return reason
    return None


def _own_host(host: str) -> bool:
    """Whether `host` names this product (ALLOWED_HOSTS, a wildcard "*" aside)."""
    own = [pattern for pattern in settings.ALLOWED_HOSTS if pattern != "*"]
    return validate_host(host, own)


def _parse(url: str) -> tuple[str, str, int]:
    """Scheme, lower-case host and port of a URL, or CallbackRefused for a malformed one."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise CallbackRefused("The callback URL is not a valid URL.") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise CallbackRefused("Only http:// and https:// callback URLs are accepted.")
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise CallbackRefused(
            "The callback URL may not carry a user name or password (the part before '@')."
        )
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise CallbackRefused("The callback URL has no host.")
    return scheme, host, port or DEFAULT_PORTS[scheme]


# Legacy IPv4 spellings resolvers still accept: 2130706433, 0x7f.1, 0177.0.0.1 (all 127.0.0.1).
LEGACY_IPV4 = re.compile(r"^[0-9a-fx.]+$")


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if LEGACY_IPV4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def check_callback_url(url: str) -> None:
    """Refuse a callback URL the product must never call, when it is given (no DNS lookup).

    Raises CallbackRefused with the reason. An empty URL (no callback) passes.
    """
    if not url:
        return
    _scheme, host, _port = _parse(url)
    if _host_allowed(host):
        return
    address = _literal_address(host)
    if address is not None:
        if _address_allowed(address):
            return
        reason = address_refusal(address)
        if reason:
            raise CallbackRefused(f"The callback URL points to {reason} ({host}); refused.")
        return
    if host in LOCAL_NAMES or host.endswith(".localhost"):
        raise CallbackRefused(f"The callback URL points to this machine ({host}); refused.")
    if _own_host(host):
        raise CallbackRefused(
            f"The callback URL points to HITL Oversight itself ({host}); refused."
        )


def resolve_host(host: str, port: int) -> list[IPAddress]:
    """The addresses `host` resolves to now, in the resolver's order (tests replace this)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0].split("%")[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def resolve_callback(url: str) -> CallbackTarget:
    """Check a callback URL at send time and choose the one address to connect to.

    Every address the name resolves to must pass (one refused address refuses the URL: the
    connection could otherwise fall back to it). Raises CallbackRefused for a refused URL and
    OSError when the name does not resolve (a temporary failure: retry later).
    """
    check_callback_url(url)
    scheme, host, port = _parse(url)
    literal = _literal_address(host)
    addresses = [literal] if literal is not None else resolve_host(host, port)
    if not addresses:
        raise OSError(f"{host} resolved to no address.")
    if not _host_allowed(host):
        for address in addresses:
            if _address_allowed(address):
                continue
            reason = address_refusal(address)
            if reason:
                raise CallbackRefused(
                    f"The callback host {host} resolves to {reason} ({address}); refused."
                )
    return CallbackTarget(url=url, scheme=scheme, host=host, port=port, address=addresses[0])


# Sending to the pinned address --------------------------------------------------------------


class _PinnedAdapter(HTTPAdapter):
    """Connects to the checked address while TLS still checks the certificate of the host name."""

    def __init__(self, target: CallbackTarget):
        self._target = target
        super().__init__(max_retries=0)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        if self._target.scheme == "https" and _literal_address(self._target.host) is None:
            pool_kwargs["server_hostname"] = self._target.host  # SNI
            pool_kwargs["assert_hostname"] = self._target.host  # certificate name
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)


@contextmanager
def post_pinned(target: CallbackTarget, **kwargs) -> Iterator[requests.Response]:
    """POST to `target` over a connection to its checked address; never follows redirects.

    Takes requests' keyword arguments (data, headers, timeout, stream). The Host header is the
    original host, so virtual hosting and the receiver's view of the URL are unchanged.
    """
    headers = {**kwargs.pop("headers", {}), "Host": target.host_header}
    with requests.Session() as session:
        session.trust_env = False  # an HTTP(S)_PROXY from the environment would connect instead
        session.mount(f"{target.scheme}://", _PinnedAdapter(target))
        with session.post(
            target.pinned_url, headers=headers, allow_redirects=False, **kwargs
        ) as response:
            yield response
