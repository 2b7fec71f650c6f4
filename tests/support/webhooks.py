"""A navigator centre's webhook endpoint on 127.0.0.1, and the worker settings the webhook
tests run ``fieldnav worker`` with."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.handoffs import WEBHOOK_SECRET, WEBHOOK_SECRET_ENV

WORKER_ENV = {
    WEBHOOK_SECRET_ENV: WEBHOOK_SECRET,
    "FIELDNAV_HANDOFF_WEBHOOK_BACKOFF_BASE_S": "2",
    "FIELDNAV_HANDOFF_WEBHOOK_MAX_ATTEMPTS": "5",
}


class Receiver:
    """A centre's endpoint on 127.0.0.1: answers with the statuses it is given, in order
    (then 200), and keeps every request."""

    def __init__(self, statuses=(), delay_s: float = 0.0):
        self.statuses, self.delay_s = list(statuses), delay_s
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                time.sleep(receiver.delay_s)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/fieldnav-events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
