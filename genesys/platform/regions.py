"""The Genesys Cloud regions, and the one place that turns what users type into them.

Every Genesys URL the server may call starts from a region in this table: that is the
SSRF guard. A host or URL that does not resolve to one of these regions is refused with
an error that says what is expected.

Source: the official SDK's ``purecloud_region_hosts.py`` (see ``../shared/GENESYS.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from endpoints.validators import printable
from genesys.platform.errors import GenesysError


@dataclass(frozen=True)
class Region:
    """A Genesys Cloud region: its base domain (the settings' Host) and where it runs."""

    host: str
    aws_region: str
    name: str

    @property
    def login_host(self) -> str:
        return f"login.{self.host}"

    @property
    def api_host(self) -> str:
        return f"api.{self.host}"

    @property
    def label(self) -> str:
        return f"{self.host} ({self.name}, {self.aws_region})"

    def __str__(self) -> str:
        return f"{self.name} ({self.host})"


REGIONS: tuple[Region, ...] = (
    Region("mypurecloud.com", "us-east-1", "Americas (US East)"),
    Region("use2.us-gov-pure.cloud", "us-east-2", "Americas (US Government)"),
    Region("usw2.pure.cloud", "us-west-2", "Americas (US West)"),
    Region("cac1.pure.cloud", "ca-central-1", "Americas (Canada)"),
    Region("sae1.pure.cloud", "sa-east-1", "Americas (São Paulo)"),
    Region("mxc1.pure.cloud", "mx-central-1", "Americas (Mexico)"),
    Region("mypurecloud.ie", "eu-west-1", "EMEA (Dublin)"),
    Region("euw2.pure.cloud", "eu-west-2", "EMEA (London)"),
    Region("mypurecloud.de", "eu-central-1", "EMEA (Frankfurt)"),
    Region("euc2.pure.cloud", "eu-central-2", "EMEA (Zurich)"),
    Region("edee1.eusc-pure.cloud", "eusc-de-east-1", "EMEA (EU Sovereign Cloud)"),
    Region("mec1.pure.cloud", "me-central-1", "EMEA (UAE)"),
    Region("aps1.pure.cloud", "ap-south-1", "Asia Pacific (Mumbai)"),
    Region("apse1.pure.cloud", "ap-southeast-1", "Asia Pacific (Singapore)"),
    Region("mypurecloud.com.au", "ap-southeast-2", "Asia Pacific (Sydney)"),
    Region("mypurecloud.jp", "ap-northeast-1", "Asia Pacific (Tokyo)"),
    Region("apne2.pure.cloud", "ap-northeast-2", "Asia Pacific (Seoul)"),
    Region("apne3.pure.cloud", "ap-northeast-3", "Asia Pacific (Osaka)"),
)

_BY_HOST = {region.host: region for region in REGIONS}
_SERVICE_PREFIXES = ("login.", "api.", "apps.")
MAX_INPUT_LENGTH = 2048


def region_choices() -> list[tuple[str, str]]:
    """Choices for a select of hosts, in the table's order."""
    return [(region.host, region.label) for region in REGIONS]


def get_region(host: str) -> Region:
    """The region whose base domain is ``host``; ``KeyError`` when there is none."""
    return _BY_HOST[host]


def _valid_hosts_text() -> str:
    return ", ".join(region.host for region in REGIONS)


def normalise_host(value: str) -> str:
    """Turn what a user pastes as Host into a region's base domain, or raise ``ValidationError``.

    Accepts the base domain itself, a service host (``login.mypurecloud.de``) or a URL on one
    (``https://apps.mypurecloud.de/directory/``).
    """
    text = (value or "").strip().lower()
    if len(text) > MAX_INPUT_LENGTH:
        text = text[:MAX_INPUT_LENGTH]
    candidate = text
    if "//" in candidate:
        try:
            candidate = urlsplit(candidate).hostname or ""
        except ValueError:
            candidate = ""
    else:
        candidate = candidate.split("/", 1)[0]
    candidate = candidate.rstrip(".")
    for prefix in _SERVICE_PREFIXES:
        if candidate.startswith(prefix) and candidate[len(prefix) :] in _BY_HOST:
            candidate = candidate[len(prefix) :]
            break
    if candidate in _BY_HOST:
        return candidate
    raise ValidationError(
        _("“%(value)s” is not a Genesys Cloud region host. Expected one of: %(hosts)s."),
        code="unknown_host",
        params={"value": printable(value), "hosts": _valid_hosts_text()},
    )


def region_for_oauth_url(url: str) -> Region:
    """The region of an OAuth token URL, which must be ``https://login.<host>/oauth/token``.

    Anything else (another scheme, host, port, path, credentials or query) raises
    ``ValidationError``: this is what keeps admin-entered URLs on Genesys Cloud.
    """
    expected = _("Expected https://login.<region host>/oauth/token, e.g. %(example)s.") % {
        "example": oauth_token_url(get_region("mypurecloud.de"))
    }
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError:
        parts, port = None, None
    host = (parts.hostname or "") if parts else ""
    region = None
    if host.startswith("login."):
        region = _BY_HOST.get(host[len("login.") :])
    if (
        parts is None
        or parts.scheme != "https"
        or region is None
        or port is not None
        or parts.username is not None
        or parts.password is not None
        or parts.path != "/oauth/token"
        or parts.query
        or parts.fragment
    ):
        raise ValidationError(
            _("“%(value)s” is not a Genesys Cloud OAuth token URL. %(expected)s"),
            code="invalid_oauth_url",
            params={"value": printable(url), "expected": expected},
        )
    return region


def oauth_token_url(region: Region) -> str:
    """The OAuth2 token URL of ``region`` as administrators enter it (never overridden)."""
    return f"https://{region.login_host}/oauth/token"


# Every URL the server calls is built below, from a region of the table or, when the
# operator sets GENESYS_API_BASE_URL (the sandbox, tests), from that one base instead.


def _override() -> str:
    return (getattr(settings, "GENESYS_API_BASE_URL", "") or "").rstrip("/")


def login_base_url(region: Region) -> str:
    """Where ``region``'s OAuth endpoints live."""
    return _override() or f"https://{region.login_host}"


def api_base_url(region: Region) -> str:
    """Where ``region``'s platform API (``/api/v2/...``) lives."""
    return _override() or f"https://{region.api_host}"


def token_url(region: Region) -> str:
    """The OAuth2 client-credentials token URL the server calls for ``region``."""
    return f"{login_base_url(region)}/oauth/token"


_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


def check_event_stream_uri(region: Region, uri: str) -> str:
    """``uri`` (a web chat ``eventStreamUri``, which comes from Genesys) if it is safe to open.

    It must be ``wss://`` on ``region``'s base domain or a subdomain of it (historically
    ``carrierpigeon.<host>``), on the default port; or, when ``GENESYS_API_BASE_URL`` is set,
    ``ws://``/``wss://`` on that base's host and port (only ``wss://`` for an ``https`` base).
    Anything else raises ``GenesysError``, whose message names the scheme, host and port but
    never the path or query, which may carry a token.
    """
    uri = (uri or "").strip()
    try:
        parts = urlsplit(uri)
        scheme, host, port = parts.scheme.lower(), (parts.hostname or "").rstrip("."), parts.port
    except ValueError:
        raise GenesysError("The event stream URI from Genesys Cloud is not a valid URL") from None
    port = port or _DEFAULT_PORTS.get(scheme)
    shown = f"{printable(scheme, limit=10)}://{printable(host, limit=100)}:{port}"
    override = _override()
    if override:
        base = urlsplit(override)
        schemes = ("wss",) if base.scheme == "https" else ("ws", "wss")
        base_port = base.port or _DEFAULT_PORTS.get(base.scheme)
        expected = f"{' or '.join(schemes)} on {base.hostname}:{base_port} (GENESYS_API_BASE_URL)"
        allowed = scheme in schemes and host == base.hostname and port == base_port
    else:
        expected = f"wss on {region.host} or a subdomain of it, port 443"
        allowed = (
            scheme == "wss"
            and (host == region.host or host.endswith("." + region.host))
            and port == 443
        )
    if parts.username is not None or parts.password is not None:
        allowed = False
    if not allowed:
        raise GenesysError(
            f"Refused to open the event stream at {shown} that Genesys Cloud returned: "
            f"expected {expected}"
        )
    return uri
