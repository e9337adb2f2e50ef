"""Real local servers for tests that deliver alerts: an SMTP server (with STARTTLS when given
a certificate) and an HTTP server that records the JSON POSTed to it.

Each runs in a thread on 127.0.0.1 and a free port; the ``serving`` context manager starts
one and stops it.
"""

from __future__ import annotations

import base64
import json
import socket
import socketserver
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, TypeVar


@dataclass
class Mailbox:
    """What the SMTP server received; ``refuse`` makes it refuse every recipient."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    refuse: bool = False
    tls_sessions: int = 0


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: EHLO, STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA, QUIT."""

    server: SMTPServer

    def _say(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def _start_tls(self, tls: ssl.SSLContext) -> None:
        self._say("220 ready to start TLS")
        self.request = tls.wrap_socket(self.request, server_side=True)
        self.rfile = self.request.makefile("rb")
        self.wfile = self.request.makefile("wb", buffering=0)
        self.server.mailbox.tls_sessions += 1

    def finish(self) -> None:
        super().finish()
        if isinstance(self.request, ssl.SSLSocket):  # the server closes only the plain socket
            self.request.close()

    def handle(self) -> None:
        box, tls = self.server.mailbox, self.server.tls
        self._say("220 test.local ESMTP")
        sender, recipients, secure = "", [], False
        while line := self.rfile.readline().decode().rstrip("\r\n"):
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self._say("250-test.local")
                if tls is not None and not secure:
                    self._say("250-STARTTLS")
                self._say("250 AUTH PLAIN")
            elif verb == "STARTTLS" and tls is not None:
                self._start_tls(tls)
                secure = True
            elif verb == "AUTH":
                box.logins.append(base64.b64decode(line.split()[2]).decode().split("\0")[1])
                self._say("235 2.7.0 Authentication successful")
            elif verb == "MAIL":
                sender = line.split(":", 1)[1].strip(" <>")
                self._say("250 OK")
            elif verb == "RCPT":
                if box.refuse:
                    self._say("550 5.7.1 relaying denied")
                    continue
                recipients.append(line.split(":", 1)[1].strip(" <>"))
                self._say("250 OK")
            elif verb == "DATA":
                self._say("354 end with .")
                body = []
                while (data := self.rfile.readline().decode()) not in (".\r\n", ""):
                    body.append(data)
                box.messages.append({"from": sender, "to": recipients, "data": "".join(body)})
                self._say("250 queued")
            elif verb == "QUIT":
                self._say("221 bye")
                return
            else:
                self._say("250 OK")


class SMTPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _SMTPHandler)
        self.mailbox = Mailbox()
        self.tls = tls

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _Webhook(BaseHTTPRequestHandler):
    server: WebhookServer

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.server.received.append((dict(self.headers), json.loads(self.rfile.read(length))))
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        return


class WebhookServer(HTTPServer):
    """Records each POST's headers and JSON body; answers with ``status``."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Webhook)
        self.received: list[tuple[dict[str, str], Any]] = []
        self.status = 204

    @property
    def port(self) -> int:
        return int(self.server_address[1])


_Server = TypeVar("_Server", bound=socketserver.BaseServer)


@contextmanager
def serving(server: _Server) -> Iterator[_Server]:
    """Serve ``server`` in a thread until the block ends."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made with the openssl command."""
    cert, key = folder / "localhost.crt", folder / "localhost.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def server_tls(cert: Path, key: Path) -> ssl.SSLContext:
    """The server side of TLS with that certificate (clients trust it via SSL_CERT_FILE)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def free_port() -> int:
    """A port nothing listens on (for servers that cannot be reached)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
