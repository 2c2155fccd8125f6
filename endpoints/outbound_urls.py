"""Which URLs the app may call for an admin (callbacks): public addresses over https, or listed.

A callback URL is typed by an admin and called by the workers with agent text and a valid
signature, so it must not reach this server's own network (server-side request forgery):
loopback, private, link-local, shared (CGNAT), multicast, reserved and unspecified
addresses, their IPv4-in-IPv6 forms and the clouds' metadata services are refused unless
``CALLBACK_ALLOWED_HOSTS`` lists them. The URL is checked when it is saved and again before
every request (``check``), whose ``Target`` holds the addresses checked: the caller connects
to one of them, never to the name again (``endpoints.safe_http``).

``CALLBACK_ALLOWED_HOSTS`` entries (see the README):

- an IP address (``10.0.0.5``, ``::1``) or network (``10.20.0.0/16``, ``fd12:3456::/48``):
  URLs may reach these addresses, over http too when every address of the host is listed;
  a cloud metadata address is reached only when listed by itself, never through a network;
- a host name (``receiver.corp.example``): its URLs may use http. Its addresses must still be
  public or listed: listing a name never lets it reach an internal address.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import idna
from django.conf import settings
from django.core import checks
from django.core.exceptions import ValidationError
from django.core.signals import setting_changed
from django.dispatch import receiver

from endpoints.validators import printable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SETTING = "CALLBACK_ALLOWED_HOSTS"
SCHEMES = ("https", "http")
DEFAULT_PORTS = {"https": 443, "http": 80}
#: Below 1024 only the web's own ports: the others are mail, SSH, databases' admin ports…
ALLOWED_LOW_PORTS = frozenset({80, 443})
FIRST_FREE_PORT = 1024

#: The instance metadata services (AWS, AWS ECS, AWS over IPv6, Alibaba): credentials.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")  # 0.x.y.z reaches this host on Linux
_IETF_PROTOCOL = ipaddress.ip_network("192.0.0.0/24")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_PRIVATE = tuple(
    ipaddress.ip_network(network)
    for network in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fec0::/10")
)

_INTERNAL = "callbacks cannot go to internal networks"
_OWN = "callbacks cannot go to this server's own network"
_PUBLIC_ONLY = "callbacks go to public addresses only"
#: Why an address is refused: (its kind, with the article; why that matters).
KINDS: dict[str, tuple[str, str]] = {
    "metadata": ("a cloud metadata address", "callbacks cannot go to the metadata service"),
    "unspecified": ("an unspecified address", _OWN),
    "loopback": ("a loopback address", _OWN),
    "link_local": ("a link-local address", _INTERNAL),
    "private": ("a private address", _INTERNAL),
    "shared": ("a shared (carrier-grade NAT) address", _INTERNAL),
    "multicast": ("a multicast address", _PUBLIC_ONLY),
    "reserved": ("a reserved address", _PUBLIC_ONLY),
}

_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_NUMBER = re.compile(r"[0-9]+|0x[0-9a-f]*")  # what a URL parser reads as part of an IPv4
_FORBIDDEN = re.compile(r"[\x00-\x20\x7f\\]")  # control characters, spaces, backslashes


class URLRefused(Exception):
    """Why a URL may not be called: for the admin, naming only what they typed."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Target:
    """A checked URL: what to connect to (``addresses``) and what to say once connected."""

    scheme: str
    host: str  # ASCII, lower case, no brackets, no trailing dot
    port: int
    path: str  # the request target: path and query
    addresses: tuple[IPAddress, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


@dataclass(frozen=True)
class Allowlist:
    """``CALLBACK_ALLOWED_HOSTS``, parsed."""

    names: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    def permits(self, address: IPAddress) -> bool:
        """Whether ``address`` is listed (a metadata address only by itself)."""
        embedded = _embedded_ipv4(address)
        for candidate in (address, embedded):
            if candidate in METADATA_ADDRESSES:
                return any(net.num_addresses == 1 and candidate in net for net in self.networks)
        return any(
            address in net or (embedded is not None and embedded in net) for net in self.networks
        )


def parse_allowlist(entries: Iterable[str]) -> Allowlist:
    """Parse ``CALLBACK_ALLOWED_HOSTS``; ``ValueError`` names the first bad entry."""
    names: set[str] = set()
    networks: list[IPNetwork] = []
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=True))
            continue
        except ValueError as error:
            if "/" in entry:
                raise ValueError(f"{printable(entry)!r} is not a network: {error}") from None
        name = _host_name(entry)
        if name is None:
            raise ValueError(
                f"{printable(entry)!r} is neither a host name, an IP address nor a network"
            )
        names.add(name)
    return Allowlist(frozenset(names), tuple(networks))


@cache
def allowlist() -> Allowlist:
    """The configured allowlist; bad entries are left out (the system check reports them)."""
    entries = []
    for entry in configured_entries():
        try:
            parse_allowlist([entry])
        except ValueError:
            continue
        entries.append(entry)
    return parse_allowlist(entries)


def configured_entries() -> list[str]:
    """The setting's entries (a comma-separated string is accepted too)."""
    value = getattr(settings, SETTING, [])
    return value.split(",") if isinstance(value, str) else list(value)


@receiver(setting_changed)
def _reset_allowlist(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTING:
        allowlist.cache_clear()


def check(url: str, *, unresolved_ok: bool = False) -> Target:
    """The checked target of ``url``, or ``URLRefused`` saying why it may not be called.

    A host name is resolved here, and every address it resolves to must be allowed.
    ``unresolved_ok`` (validation only) lets a name that does not resolve (yet) pass with no
    addresses: it is checked again before every request, where it must resolve.
    """
    scheme, host, port, path, literal = _split(url)
    allowed = allowlist()
    if literal is not None:
        addresses: tuple[IPAddress, ...] = (literal,)
    elif host == "localhost" or host.endswith(".localhost"):
        addresses = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))
    else:
        addresses = _resolve(host, port, unresolved_ok=unresolved_ok)
    for address in addresses:
        kind = classify(address)
        if kind is not None and not allowed.permits(address):
            raise URLRefused(_address_refusal(host, address, kind, literal is not None), kind)
    listed = host in allowed.names or (
        bool(addresses) and all(allowed.permits(address) for address in addresses)
    )
    if scheme == "http" and not (settings.DEBUG or listed):
        raise URLRefused(
            f"Use https: plain http goes only to hosts listed in {SETTING} (or with DEBUG on).",
            "https_required",
        )
    return Target(scheme, host, port, path, addresses)


def validate_callback_url(value: str) -> None:
    """Django validator: ``value`` is a URL the callbacks may call (resolved now)."""
    try:
        check(value, unresolved_ok=True)
    except URLRefused as refused:
        raise ValidationError(refused.message, code=refused.code) from None


def classify(address: IPAddress) -> str | None:
    """Why ``address`` is internal (a key of ``KINDS``), or ``None`` for a public address."""
    if address in METADATA_ADDRESSES:
        return "metadata"
    embedded = _embedded_ipv4(address)
    if embedded is not None and (kind := classify(embedded)) is not None:
        return kind
    if address.is_unspecified or address in _THIS_NETWORK:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link_local"
    if address.is_multicast:
        return "multicast"
    if address in _SHARED:
        return "shared"
    if any(address in network for network in _PRIVATE if network.version == address.version):
        return "private"
    if not address.is_global or address.is_reserved or address in _IETF_PROTOCOL:
        return "reserved"  # documentation, benchmarking, broadcast, 240/4, 2001::/23…
    return None


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv6 one (mapped, compatible, 6to4, NAT64), if any."""
    if address.version == 4:
        return None
    assert isinstance(address, ipaddress.IPv6Address)  # noqa: S101 (narrows the type)
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    value = int(address)
    if value >> 32 == 0 and value > 1:  # ::a.b.c.d (deprecated "compatible"); not :: or ::1
        return ipaddress.IPv4Address(value)
    if address in _NAT64:
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    return None


def _address_refusal(host: str, address: IPAddress, kind: str, literal: bool) -> str:
    article_kind, why = KINDS[kind]
    if literal:
        embedded = _embedded_ipv4(address)
        listed = embedded if embedded is not None else address
        written = f"{address} ({embedded})" if embedded is not None else str(address)
        fix = f"list {listed} in {SETTING}"
        return f"{written} is {article_kind}: {why}. Use a public https URL, or {fix}."
    if kind == "metadata":
        fix = f"list that exact address in {SETTING}"
    else:
        fix = f"list the receiver's addresses (or network) in {SETTING}"
    return f"{printable(host)} resolves to {article_kind}: {why}. Use a public https URL, or {fix}."


def _split(url: str) -> tuple[str, str, int, str, IPAddress | None]:
    """Scheme, host, port, request target, and the host's address if it is an IP literal."""
    if not isinstance(url, str) or not url:
        raise URLRefused("Enter a URL.", "invalid")
    if _FORBIDDEN.search(url):
        raise URLRefused(
            "Remove the spaces, backslashes and control characters from the URL.", "invalid"
        )
    scheme, separator, rest = url.partition("://")
    scheme = scheme.lower()
    if not separator or scheme not in SCHEMES:
        raise URLRefused("Enter an https URL (https://host/path).", "scheme")
    end = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=-1)
    authority, target = (rest, "") if end < 0 else (rest[:end], rest[end:])
    if "@" in authority:
        raise URLRefused(
            "Remove the user name and password (the part before “@”): callbacks are "
            "authenticated by their signature, and “@” can hide the URL's real host.",
            "userinfo",
        )
    if "#" in target:
        raise URLRefused("Remove the “#” fragment: it is never sent.", "fragment")
    if not target.isascii():
        raise URLRefused("Percent-encode the non-ASCII characters of the path.", "invalid")
    host, port = _host_and_port(authority, scheme)
    literal = _ip_literal(host)
    if literal is None:
        name = _host_name(host)
        if name is None:
            raise _invalid_host(host)
        literal = _ip_literal(name)  # an internationalised spelling of an address
        host = str(literal) if literal is not None else name
    else:
        host = str(literal)
    if not target.startswith("/"):
        target = "/" + target
    return scheme, host, port, target, literal


def _host_and_port(authority: str, scheme: str) -> tuple[str, int]:
    if authority.startswith("["):
        host, bracket, after = authority[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            raise URLRefused("Close the IPv6 address with “]” before the port.", "invalid")
        host = f"[{host}]"
        port_text = after[1:] if after else None
    else:
        host, colon, port_text_or_empty = authority.rpartition(":")
        if not colon:
            host, port_text = authority, None
        else:
            port_text = port_text_or_empty
    if not host:
        raise URLRefused("Enter the URL's host.", "invalid")
    if port_text is None:
        return host, DEFAULT_PORTS[scheme]
    if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) <= 65535:
        raise URLRefused("The port must be a number from 1 to 65535.", "port")
    port = int(port_text)
    if port < FIRST_FREE_PORT and port not in ALLOWED_LOW_PORTS:
        raise URLRefused(
            f"Port {port} is not for web servers: use 443, 80, or a port from 1024 to 65535.",
            "port",
        )
    return host, port


def _ip_literal(host: str) -> IPAddress | None:
    """The address written in ``host`` (``[v6]`` or dotted-quad IPv4), else ``None``."""
    if host.startswith("["):
        if "%" in host:
            raise URLRefused("Remove the zone (“%…”) from the IPv6 address.", "invalid_host")
        try:
            return ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise URLRefused(
                f"“{printable(host)}” is not a valid IPv6 address.", "invalid_host"
            ) from None
    try:
        return ipaddress.IPv4Address(host.removesuffix("."))
    except ValueError:
        return None


def _host_name(host: str) -> str | None:
    """``host`` as a lower-case ASCII host name (IDN in punycode), or ``None`` if invalid.

    A name whose last label is a number (``2130706433``, ``0177.0.0.1``, ``127.1``,
    ``0x7f000001``) is refused: URL parsers read those as IPv4 addresses in other spellings.
    """
    if "%" in host:
        return None  # percent-encoded: parsers disagree on decoding it
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError:
            return None
    host = host.lower().removesuffix(".")
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        return None
    if _NUMBER.fullmatch(labels[-1]):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return None
    return host


def _invalid_host(host: str) -> URLRefused:
    labels = host.lower().removesuffix(".").split(".")
    if "%" in host:
        message = "Write the host without percent-encoding (“%”)."
    elif labels and _NUMBER.fullmatch(labels[-1]):
        message = (
            f"“{printable(host)}” is not a valid host: write an IPv4 address as four decimal "
            "numbers from 0 to 255, without leading zeros."
        )
    else:
        message = f"“{printable(host)}” is not a valid host name."
    return URLRefused(message, "invalid_host")


def _resolve(host: str, port: int, *, unresolved_ok: bool) -> tuple[IPAddress, ...]:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        found = []
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canonname, sockaddr in found:
        try:
            address = ipaddress.ip_address(str(sockaddr[0]).partition("%")[0])
        except ValueError:
            continue
        if address not in addresses:
            addresses.append(address)
    if not addresses and not unresolved_ok:
        raise URLRefused(f"{printable(host)} could not be resolved.", "unresolved")
    return tuple(addresses)


@checks.register()
def check_callback_allowed_hosts(app_configs: Any = None, **kwargs: Any) -> list[checks.Error]:
    try:
        parse_allowlist(configured_entries())
    except ValueError as error:
        return [
            checks.Error(
                f"{SETTING}: {error}.",
                hint=(
                    "List host names (receiver.corp.example), IP addresses (10.0.0.5) or "
                    "networks (10.20.0.0/16), comma-separated; no wildcards, ports or URLs."
                ),
                id="endpoints.E001",
            )
        ]
    return []
