"""Metrics, JSON logs and request ids on a real server."""

from __future__ import annotations

import json
import re

from tests.support.servers import start_server, stop_server

POINT = {"lat": 43.65111, "lon": -79.38222}


def test_metrics_count_requests_by_route_template(demo_database_url):
    server = start_server(demo_database_url, workers=2)
    try:
        with server.client() as client:
            for _ in range(6):
                assert client.get("/v1/services/nearest", params=POINT).status_code == 200
            assert client.get("/v1/services/not-a-uuid").status_code == 422
            text = client.get("/metrics").text
        nearest = re.search(
            r'fieldnav_http_requests_total\{method="GET",route="/v1/services/nearest",status="200"\} (\d+)', text
        )
        assert nearest and float(nearest.group(1)) == 6, "both workers' counts are added up"
        assert 'route="/v1/services/{service_id}",status="422"' in text
        assert "fieldnav_http_request_duration_seconds_bucket" in text
        assert "fieldnav_db_pool_size" in text
    finally:
        stop_server(server)


def test_logs_are_json_with_request_ids_and_no_query_strings(demo_database_url):
    server = start_server(demo_database_url)
    try:
        with server.client() as client:
            response = client.get("/v1/services/nearest", params=POINT, headers={"X-Request-ID": "phone-req-12345"})
            assert response.headers["x-request-id"] == "phone-req-12345"
            generated = client.get("/healthz").headers["x-request-id"]
            assert re.fullmatch(r"[0-9a-f]{32}", generated)
            hostile = client.get("/healthz", headers={"X-Request-ID": 'x" injected'}).headers["x-request-id"]
            assert hostile != 'x" injected'
    finally:
        output = stop_server(server)
    entries = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    access = [e for e in entries if e.get("logger") == "fieldnav.access"]
    assert any(
        e.get("request_id") == "phone-req-12345" and e["route"] == "/v1/services/nearest" and e["status"] == 200
        for e in access
    )
    assert "43.65111" not in output and "79.38222" not in output, "where a person stands never reaches the logs"
