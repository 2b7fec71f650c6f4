"""Helpers for the places tests (tests/test_places*.py): services with street addresses, and
a local HTTP server that plays an external geocoder."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PEMBROKE = (45.8262, -77.1103)  # (lat, lon) of downtown Pembroke, Ontario


def addressed_service(
    name: str,
    lat: float,
    lon: float,
    *,
    address_1: str,
    city: str,
    postal_code: str,
    province: str = "ON",
    private: bool = False,
) -> dict:
    """One HSDS 3 compiled service at one location with one physical address."""
    ids = {part: str(uuid.uuid5(uuid.NAMESPACE_URL, f"places-test/{name}/{part}")) for part in ("s", "sal", "loc", "a")}
    return {
        "id": ids["s"],
        "name": name,
        "status": "active",
        "service_at_locations": [
            {
                "id": ids["sal"],
                "location": {
                    "id": ids["loc"],
                    "location_type": "physical",
                    "name": name,
                    "latitude": lat,
                    "longitude": lon,
                    "address_private": private,
                    "addresses": [
                        {
                            "id": ids["a"],
                            "address_1": address_1,
                            "city": city,
                            "state_province": province,
                            "postal_code": postal_code,
                            "country": "CA",
                            "address_type": "physical",
                        }
                    ],
                },
            }
        ],
    }


@dataclass
class GeocoderStandIn:
    """How the stand-in geocoder answers the next requests: ``mode`` is one of "good",
    "slow" (answers after ``delay_s``), "error" (500), "invalid" (a body that is not JSON),
    "wrong" (JSON of another shape), "drip" (a valid answer, one byte every 0.1 s)."""

    mode: str = "good"
    delay_s: float = 5.0
    kind: str = "nominatim"
    requests: list[str] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, path: str) -> tuple[int, bytes]:
        self.requests.append(path)
        if self.mode == "slow":
            time.sleep(self.delay_s)
        if self.mode == "error":
            return 500, b'{"error": "internal"}'
        if self.mode == "invalid":
            return 200, b"<html>not json"
        if self.mode == "wrong":
            return 200, b'{"unexpected": true}'
        if self.kind == "pelias":
            body = {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [-77.0, 45.9]},
                        "properties": {
                            "label": "Far Away Street, Elsewhere, ON",
                            "name": "Far Away Street",
                            "layer": "street",
                        },
                    }
                ],
            }
        else:
            body = [
                {
                    "lat": "45.90000",
                    "lon": "-77.00000",
                    "display_name": "Far Away Street, Elsewhere, Ontario, Canada",
                    "name": "Far Away Street",
                    "addresstype": "road",
                    "type": "residential",
                }
            ]
        return 200, json.dumps(body).encode()


@contextmanager
def geocoder_stand_in(stand_in: GeocoderStandIn) -> Iterator[GeocoderStandIn]:
    """``stand_in`` served on a free local port by a thread of this process."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = stand_in.answer(self.path)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if stand_in.mode == "drip":
                    for i in range(len(body)):
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                        time.sleep(0.1)
                else:
                    self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting: what the slow mode is for

        def log_message(self, format: str, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    stand_in.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
