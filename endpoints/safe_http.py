"""One POST to an admin-entered URL, connected to the very address that was checked.

``requests`` (and urllib3 given a URL) resolve the host name again to connect: a name that
answered a public address to the check could answer 127.0.0.1 to the connection (DNS
rebinding). Here the URL is checked (``endpoints.outbound_urls.check``) and the connection
goes to the first address the check approved, while the Host header, the TLS server name
(SNI) and the certificate verification use the URL's host name. No proxy is used
(``HTTPS_PROXY`` would resolve the name itself), and redirects are not followed: a 3xx is
the answer.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import urllib3
from requests.certs import where as default_ca_bundle
from urllib3 import exceptions

from endpoints.outbound_urls import Target, URLRefused, check


class SendFailed(Exception):
    """The request was not made or not answered; the message is safe to store and show."""


class Refused(SendFailed):
    """The URL may not be called (``outbound_urls``): nothing was sent."""


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    connect_timeout: float,
    read_timeout: float,
) -> int:
    """POST ``body`` to ``url``; the answer's status code, or ``SendFailed``."""
    try:
        target = check(url)
    except URLRefused as refused:
        raise Refused(refused.message) from None
    pool = _pool(target, urllib3.Timeout(connect=connect_timeout, read=read_timeout))
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": target.host_header},
            retries=False,
            redirect=False,
            assert_same_host=False,
            preload_content=False,  # only the status matters: the body is never read
        )
        response.close()
        return response.status
    except exceptions.HTTPError as error:
        raise SendFailed(_describe(error)) from None
    finally:
        pool.close()


def _pool(target: Target, timeout: urllib3.Timeout) -> urllib3.HTTPConnectionPool:
    address = str(target.addresses[0])
    if target.scheme == "http":
        return urllib3.HTTPConnectionPool(
            address, target.port, timeout=timeout, retries=False, maxsize=1
        )
    bundle = ca_bundle()
    return urllib3.HTTPSConnectionPool(
        address,
        target.port,
        timeout=timeout,
        retries=False,
        maxsize=1,
        server_hostname=target.host,  # SNI, and what the certificate must name
        cert_reqs="CERT_REQUIRED",
        ca_certs=None if os.path.isdir(bundle) else bundle,
        ca_cert_dir=bundle if os.path.isdir(bundle) else None,
    )


def ca_bundle() -> str:
    """The CA certificates ``requests`` would trust: ``REQUESTS_CA_BUNDLE``, else certifi's."""
    return (
        os.environ.get("REQUESTS_CA_BUNDLE")
        or os.environ.get("CURL_CA_BUNDLE")
        or default_ca_bundle()
    )


def _describe(error: exceptions.HTTPError) -> str:
    """What went wrong, without the exception's text (it may hold addresses and paths)."""
    if isinstance(error, exceptions.NewConnectionError):
        return "Could not connect to the callback URL."
    if isinstance(error, exceptions.ConnectTimeoutError):
        return "Connecting to the callback URL timed out."
    if isinstance(error, exceptions.ReadTimeoutError):
        return "The callback URL did not answer in time."
    if isinstance(error, exceptions.SSLError):
        return "TLS with the callback URL failed: an untrusted certificate, or not its host's."
    if isinstance(error, exceptions.ProtocolError):
        return "The callback URL closed the connection without an answer."
    return f"{type(error).__name__} calling the callback URL."
