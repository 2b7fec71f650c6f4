"""An SMS provider's HTTP API on 127.0.0.1, in Twilio's format (service/shares/sms.py): it
keeps every message (form fields To, From, Body and the Basic credentials) and answers 201,
or 503 for the next ``fail_next(n)`` requests. The provider is outside our control, so the
tests use this stand-in for it; fieldnav's side (the HTTP request) is real."""

from __future__ import annotations

import base64
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

ACCOUNT = "ACtest0000000000000000000000000000"
TOKEN = "sms-test-token"
SENDER = "+15005550006"


class SmsReceiver:
    def __init__(self):
        self.messages: list[dict] = []
        self.requests = 0
        self._failures: list[int] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
                credentials = base64.b64decode(self.headers.get("Authorization", "Basic ").split(" ", 1)[1] or b"")
                with receiver._lock:
                    receiver.requests += 1
                    status = receiver._failures.pop(0) if receiver._failures else 201
                    if status == 201:
                        receiver.messages.append({**form, "path": self.path, "credentials": credentials.decode()})
                body = b'{"sid":"SMtest","status":"queued"}' if status == 201 else b'{"code":20500}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{port}/2010-04-01/Accounts/{{account}}/Messages.json"
        self.env = {
            "FIELDNAV_SMS_URL": self.url,
            "FIELDNAV_SMS_ACCOUNT": ACCOUNT,
            "FIELDNAV_SMS_TOKEN": TOKEN,
            "FIELDNAV_SMS_FROM": SENDER,
        }
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def fail_next(self, count: int, status: int = 503) -> None:
        with self._lock:
            self._failures.extend([status] * count)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SmsReceiver:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
