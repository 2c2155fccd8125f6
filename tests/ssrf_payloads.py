"""Server-side request forgery payloads: callback URLs that must never be called.

``HOSTS`` generates hosts of URLs that must never be called (hypothesis): internal
addresses in every spelling, local and planted names.

``{port}`` is the port of the test's ``Trap`` (which listens on every local address); each
payload comes with the code of the refusal expected (``endpoints.outbound_urls``). Names
ending in ``.test`` are planted in the test resolver by ``plant``.
"""

from __future__ import annotations

import ipaddress
import string

from hypothesis import strategies as st

from tests.outbound import FakeDNS

PAYLOADS: list[tuple[str, str]] = [
    # Loopback, plainly and in every spelling a URL parser or inet_aton accepts.
    ("http://127.0.0.1:{port}/", "loopback"),
    ("http://127.0.0.2:{port}/", "loopback"),
    ("http://127.255.255.254:{port}/cb", "loopback"),
    ("HTTP://127.0.0.1:{port}/", "loopback"),
    ("http://127.0.0.1.:{port}/", "loopback"),
    ("http://2130706433:{port}/", "invalid_host"),  # decimal
    ("http://017700000001:{port}/", "invalid_host"),  # octal
    ("http://0177.0.0.1:{port}/", "invalid_host"),
    ("http://0x7f000001:{port}/", "invalid_host"),  # hex
    ("http://0X7F000001:{port}/", "invalid_host"),
    ("http://0x7f.0x0.0x0.0x1:{port}/", "invalid_host"),
    ("http://0x7f.1:{port}/", "invalid_host"),
    ("http://127.1:{port}/", "invalid_host"),  # short forms
    ("http://127.0.1:{port}/", "invalid_host"),
    ("http://127.000.000.001:{port}/", "invalid_host"),  # leading zeros
    ("http://0:{port}/", "invalid_host"),
    ("http://0.0.0.0:{port}/", "unspecified"),
    # IPv6 and IPv4-in-IPv6.
    ("http://[::1]:{port}/", "loopback"),
    ("http://[0:0:0:0:0:0:0:1]:{port}/", "loopback"),
    ("http://[::ffff:127.0.0.1]:{port}/", "loopback"),
    ("http://[0:0:0:0:0:ffff:7f00:1]:{port}/", "loopback"),
    ("http://[::FFFF:7F00:1]:{port}/", "loopback"),
    ("http://[::127.0.0.1]:{port}/", "loopback"),  # IPv4-compatible
    ("http://[2002:7f00:1::]:{port}/", "loopback"),  # 6to4
    ("http://[64:ff9b::127.0.0.1]:{port}/", "loopback"),  # NAT64
    ("http://[::]:{port}/", "unspecified"),
    ("http://[::ffff:0.0.0.0]:{port}/", "unspecified"),
    ("http://[fe80::1%25lo]:{port}/", "invalid_host"),  # a zone
    # Names that mean this machine.
    ("http://localhost:{port}/", "loopback"),
    ("http://LOCALHOST:{port}/", "loopback"),
    ("http://localhost.:{port}/", "loopback"),
    ("http://LocalHost.:{port}/", "loopback"),
    ("http://api.localhost:{port}/", "loopback"),
    ("http://localhost:6379/", "loopback"),  # Redis
    # "localhost" in fullwidth letters (IDN mapping makes it plain).
    ("http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54:{port}/", "loopback"),
    ("http://lo\u200bcalhost:{port}/", "loopback"),  # a zero-width space, mapped away
    ("http://\uff11\uff12\uff17.\uff10.\uff10.\uff11:{port}/", "loopback"),  # fullwidth digits
    ("http://127。0。0。1:{port}/", "loopback"),  # ideographic full stops
    ("http://①②⑦.0.0.1:{port}/", "loopback"),  # circled digits
    ("http://%6c%6f%63%61%6c%68%6f%73%74:{port}/", "invalid_host"),  # percent-encoded
    ("http://%31%32%37.0.0.1:{port}/", "invalid_host"),
    # Userinfo, fragments and other ways to make parsers disagree about the host.
    ("http://good.com@127.0.0.1:{port}/", "userinfo"),
    ("http://user:pass@localhost:{port}/", "userinfo"),
    ("http://good.com:443@127.0.0.1:{port}/", "userinfo"),
    ("http://127.0.0.1:{port}%2f@good.com/", "userinfo"),
    ("http://[::1]:{port}@good.com/", "userinfo"),
    ("http://127.0.0.1:{port}#@good.com/", "fragment"),
    ("http://127.0.0.1:{port}?@good.com/", "loopback"),
    ("http://127.0.0.1:{port}\\@good.com/", "invalid"),
    ("http://127.0.0.1:{port}\t/", "invalid"),
    ("http://127.0.0.1:{port} /", "invalid"),
    # Other schemes.
    ("gopher://127.0.0.1:{port}/_PING", "scheme"),
    ("dict://127.0.0.1:6379/info", "scheme"),
    ("file:///etc/passwd", "scheme"),
    ("//127.0.0.1:{port}/", "scheme"),
    ("http:/127.0.0.1:{port}/", "scheme"),
    # Cloud metadata services.
    ("http://169.254.169.254/latest/meta-data/", "metadata"),
    ("http://[::ffff:169.254.169.254]/latest/meta-data/", "metadata"),
    ("http://[::ffff:a9fe:a9fe]/latest/meta-data/", "metadata"),
    ("http://169.254.170.2/v2/credentials", "metadata"),
    ("http://[fd00:ec2::254]/latest/meta-data/", "metadata"),
    ("http://100.100.100.200/latest/meta-data/", "metadata"),
    ("http://metadata.google.test/computeMetadata/v1/", "metadata"),
    # Internal networks, including this machine's own addresses.
    ("http://10.0.0.5/", "private"),
    ("http://172.16.0.1/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://[fc00::1]/", "private"),
    ("http://[fd00::2]:{port}/", "private"),
    ("http://[fec0::1]/", "private"),  # site-local
    ("http://169.254.0.1/", "link_local"),
    ("http://[fe80::1]/", "link_local"),
    ("http://100.64.0.1/", "shared"),
    ("http://224.0.0.1/", "multicast"),
    ("http://[ff02::1]/", "multicast"),
    ("http://255.255.255.255/", "reserved"),
    ("http://240.0.0.1/", "reserved"),
    ("http://192.0.2.2:{port}/", "reserved"),
    ("http://198.18.0.1/", "reserved"),
    ("http://[2001:db8::1]/", "reserved"),
    ("http://127.0.0.1:22/", "port"),
    # Names that resolve inward (planted).
    ("http://loopback.test:{port}/", "loopback"),
    ("http://LOOPBACK.TEST.:{port}/", "loopback"),
    ("http://mixed.test:{port}/", "loopback"),
    ("http://v6-loopback.test:{port}/", "loopback"),
    ("http://mapped.test:{port}/", "loopback"),
    ("http://internal.test/", "private"),
    ("http://bücher.test:{port}/", "private"),  # looked up as its punycode
]


def plant(dns: FakeDNS) -> None:
    """The planted names of ``PAYLOADS``."""
    dns.add("loopback.test", ["127.0.0.1"])
    dns.add("mixed.test", ["8.8.8.8", "127.0.0.1"])
    dns.add("v6-loopback.test", ["::1"])
    dns.add("mapped.test", ["::ffff:127.0.0.1"])
    dns.add("internal.test", ["10.1.2.3"])
    dns.add("xn--bcher-kva.test", ["10.1.2.4"])
    dns.add("metadata.google.test", ["169.254.169.254"])


# Hosts for generated URLs: internal addresses in the spellings parsers and resolvers accept.

INTERNAL = [
    "127.0.0.0/8",
    "0.0.0.0/8",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "169.254.0.0/16",
    "100.64.0.0/10",
    "192.0.2.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
]


def _ipv4_spellings(value: int) -> st.SearchStrategy[str]:
    octets = value.to_bytes(4, "big")
    return st.sampled_from(
        [
            ".".join(str(octet) for octet in octets),
            str(value),
            hex(value),
            hex(value).upper().replace("X", "x"),
            "0" + oct(value)[2:],
            ".".join("0" + oct(octet)[2:] for octet in octets),
            ".".join(hex(octet) for octet in octets),
            f"{octets[0]}.{int.from_bytes(octets[1:], 'big')}",
            f"{octets[0]}.{octets[1]}.{int.from_bytes(octets[2:], 'big')}",
            ".".join(f"{octet:03d}" for octet in octets),
            ".".join(str(octet) for octet in octets) + ".",
            f"[::ffff:{'.'.join(str(octet) for octet in octets)}]",
            f"[::ffff:{value >> 16:x}:{value & 0xFFFF:x}]",
            f"[0:0:0:0:0:ffff:{value >> 16:X}:{value & 0xFFFF:X}]",
            f"[::{'.'.join(str(octet) for octet in octets)}]",
            f"[2002:{value >> 16:x}:{value & 0xFFFF:x}::1]",
            f"[64:ff9b::{'.'.join(str(octet) for octet in octets)}]",
        ]
    )


def _internal_ipv4() -> st.SearchStrategy[int]:
    networks = [ipaddress.ip_network(network) for network in INTERNAL]
    return st.sampled_from(networks).flatmap(
        lambda net: st.integers(int(net.network_address), int(net.broadcast_address))
    )


_IPV6_HOSTS = st.sampled_from(
    ["[::1]", "[::]", "[fd00::2]", "[fe80::1]", "[fc00::9]", "[ff02::1]", "[fd00:ec2::254]"]
)
_LOCAL_NAMES = st.tuples(
    st.text(string.ascii_lowercase + string.digits, min_size=0, max_size=8),
    st.sampled_from(["localhost", "LOCALHOST", "LocalHost", "loopback.test", "internal.test"]),
    st.booleans(),
).map(lambda t: (f"{t[0]}." if t[0] and "localhost" in t[1].lower() else "") + t[1] + ("." * t[2]))
HOSTS = st.one_of(_internal_ipv4().flatmap(_ipv4_spellings), _IPV6_HOSTS, _LOCAL_NAMES)
