"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps every message it accepts, for the
share emails (service/shares/mail.py)."""

from __future__ import annotations

import email
import email.policy
import threading
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from tests.support.servers import free_port

SENDER = "fieldnav <no-reply@fieldnav.example.org>"


class _Keep:
    def __init__(self, server: SmtpServer):
        self._server = server

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._server.lock:
            self._server.envelopes.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos)})
            self._server.messages.append(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.envelopes: list[dict] = []
        self.lock = threading.Lock()
        self.port = free_port()
        self._controller = Controller(_Keep(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        self.env = {
            "FIELDNAV_SMTP_HOST": "127.0.0.1",
            "FIELDNAV_SMTP_PORT": str(self.port),
            "FIELDNAV_SMTP_SECURITY": "none",
            "FIELDNAV_SMTP_FROM": SENDER,
        }

    def close(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
