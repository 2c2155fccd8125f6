"""Test parts for outbound requests: a resolver with planted names, a listener that must stay
untouched.

``FakeDNS`` replaces ``socket.getaddrinfo`` in this process (the edge where a name becomes
addresses): planted names answer what a test says, in turn; everything else goes to the real
resolver. Every query is recorded, so a test sees which names and addresses were looked up,
including the address literal urllib3 hands to ``getaddrinfo`` when it connects.

``TLSReceiver`` is an https receiver with a certificate for a chosen name.

``Trap`` listens on every address of this machine, IPv4 and IPv6 (loopback, 0.0.0.0, the
machine's own private addresses), and tells every TCP connection made to it.
"""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


class FakeDNS:
    def __init__(self, real: Any) -> None:
        self._real = real
        self._answers: dict[str, list[list[str] | None]] = {}
        self.queries: list[str] = []
        self._lock = threading.Lock()

    def add(self, name: str, *answers: list[str]) -> None:
        """Plant ``name``: each query takes the next answer (a list of addresses); the last
        one repeats."""
        self._answers[name.lower()] = [list(answer) for answer in answers]

    def getaddrinfo(
        self, host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
    ) -> list[tuple[Any, ...]]:
        with self._lock:
            self.queries.append(str(host))
            answers = self._answers.get(str(host).lower().rstrip("."), [None])
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if answer is None:
            return self._real(host, port, family, type, proto, flags)
        if not answer:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        results = []
        for address in answer:
            if ":" in address:
                results.append(
                    (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, int(port), 0, 0))
                )
            else:
                results.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port))))
        return results

    def count(self, name: str) -> int:
        return sum(1 for query in self.queries if query.lower().rstrip(".") == name.lower())


class Trap:
    """A TCP listener on every local address that never answers.

    The kernel completes a caller's handshake into the listen queue whether or not anything
    accepts it, so ``connections()`` (which takes what is queued) sees every connection made
    so far, without a thread or a wait.
    """

    def __init__(self) -> None:
        self._accepted: list[tuple[Any, ...]] = []
        try:
            self._socket = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            self._socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            self._socket.bind(("::", 0))
        except OSError:  # no IPv6 here: IPv4 only
            self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._socket.bind(("0.0.0.0", 0))  # noqa: S104 (the point: every address)
        self._socket.listen(128)
        self._socket.setblocking(False)

    @property
    def port(self) -> int:
        return self._socket.getsockname()[1]

    def connections(self) -> list[tuple[Any, ...]]:
        """The peers that connected so far."""
        while True:
            try:
                connection, peer = self._socket.accept()
            except BlockingIOError:
                return list(self._accepted)
            self._accepted.append(peer)
            connection.close()

    def close(self) -> None:
        self._socket.close()


class TLSReceiver:
    """An https callback receiver on 127.0.0.1 whose certificate names ``certificate_name``,
    issued by a CA of its own (``ca_file``); it records each request and the SNI it got."""

    def __init__(self, directory: Path, certificate_name: str) -> None:
        self.ca_file, cert_file, key_file = _issue(directory, certificate_name)
        self.received: list[dict[str, Any]] = []
        self.server_names: list[str | None] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append({"headers": dict(self.headers.items()), "body": body})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that refuses the certificate is what some tests want

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        context.sni_callback = lambda _sock, name, _context: self.server_names.append(name)
        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> TLSReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


_CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)


def _issue(directory: Path, name: str) -> tuple[str, str, str]:
    """A CA certificate, and a server certificate and key for ``name`` signed by it."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test callback CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_CA_KEY_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = (directory / "ca.pem", directory / "cert.pem", directory / "key.pem")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return tuple(str(path) for path in paths)  # type: ignore[return-value]
