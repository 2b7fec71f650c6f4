"""The external geocoder of GET /v1/places (service/places/geocoder.py): tried first when
FIELDNAV_GEOCODER_URL is set, and the gazetteer answers within the deadline whenever it times
out, fails, or answers something unreadable.

The local HTTP server here (tests/support/places.py, run in a thread of the test) stands in
for an external service outside our control (Nominatim or Pelias): it is made to hang, drip,
fail with a 500, send invalid JSON, or answer well."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from service.places import geocoder
from service.platform.settings import GeocoderSettings
from tests.support.places import GeocoderStandIn, geocoder_stand_in
from tests.support.servers import LiveServer, start_server, stop_server

TIMEOUT_S = 0.6
# The deadline, plus what a request to the gazetteer and the HTTP round trip may take.
MARGIN_S = 0.5
FAILURES = ("slow", "drip", "error", "invalid", "wrong")


@pytest.fixture(scope="module")
def running_stand_in() -> Iterator[GeocoderStandIn]:
    with geocoder_stand_in(GeocoderStandIn()) as running:
        yield running


@pytest.fixture
def stand_in(running_stand_in: GeocoderStandIn) -> GeocoderStandIn:
    """The module's stand-in, answering well again and with no requests seen."""
    running_stand_in.mode, running_stand_in.kind = "good", "nominatim"
    running_stand_in.requests.clear()
    return running_stand_in


@pytest.fixture(scope="module")
def server_with_geocoder(pg_server, template_db, running_stand_in: GeocoderStandIn) -> Iterator[LiveServer]:
    name = f"fieldnav_geocoder_{uuid.uuid4().hex[:12]}"
    url = pg_server.create_database(name, template=template_db)
    server = start_server(
        url,
        env={
            "FIELDNAV_GEOCODER_URL": running_stand_in.url,
            "FIELDNAV_GEOCODER_KIND": "nominatim",
            "FIELDNAV_GEOCODER_TIMEOUT_S": str(TIMEOUT_S),
        },
    )
    yield server
    stop_server(server)
    pg_server.drop_database(name)


def test_a_good_answer_is_used(server_with_geocoder: LiveServer, stand_in: GeocoderStandIn) -> None:
    with server_with_geocoder.client() as client:
        response = client.get("/v1/places", params={"q": "Far Away Street", "limit": 3})
    assert response.status_code == 200
    assert response.json() == [
        {
            "name": "Far Away Street",
            "label": "Far Away Street, Elsewhere, Ontario, Canada",
            "kind": "road",
            "lat": 45.9,
            "lon": -77.0,
            "source": "nominatim",
        }
    ]
    (path,) = stand_in.requests
    assert path.startswith("/search?") and "format=jsonv2" in path and "q=Far+Away+Street" in path
    assert "countrycodes=ca" in path and "limit=3" in path


@pytest.mark.parametrize("mode", FAILURES)
def test_the_gazetteer_answers_within_the_deadline(
    server_with_geocoder: LiveServer, stand_in: GeocoderStandIn, mode: str
) -> None:
    stand_in.mode = mode
    with server_with_geocoder.client() as client:
        client.get("/healthz")  # the connection is open before the clock starts
        started = time.monotonic()
        response = client.get("/v1/places", params={"q": "Pembroke", "limit": 1})
        elapsed_s = time.monotonic() - started
    assert response.status_code == 200, response.text
    assert elapsed_s < TIMEOUT_S + MARGIN_S, elapsed_s
    (first,) = response.json()
    assert first["label"] == "Pembroke, ON" and first["source"] in ("geonames", "fieldnav")
    assert stand_in.requests, "the geocoder was asked first"


@pytest.mark.parametrize("mode", FAILURES)
def test_each_failure_is_geocoder_failed_in_time(stand_in: GeocoderStandIn, mode: str) -> None:
    stand_in.mode = mode
    for kind in ("nominatim", "pelias"):
        stand_in.kind = kind
        settings = GeocoderSettings(url=stand_in.url, kind=kind, timeout_s=TIMEOUT_S)
        started = time.monotonic()
        with pytest.raises(geocoder.GeocoderFailed):
            geocoder.geocode(settings, "Pembroke", 5)
        assert time.monotonic() - started < TIMEOUT_S + MARGIN_S


def test_a_pelias_answer(stand_in: GeocoderStandIn) -> None:
    stand_in.kind = "pelias"
    settings = GeocoderSettings(url=stand_in.url, kind="pelias", timeout_s=TIMEOUT_S)
    (place,) = geocoder.geocode(settings, "Far Away Street", 5)
    assert place.as_json() == {
        "name": "Far Away Street",
        "label": "Far Away Street, Elsewhere, ON",
        "kind": "street",
        "lat": 45.9,
        "lon": -77.0,
        "source": "pelias",
    }
    (path,) = stand_in.requests
    assert path.startswith("/v1/search?") and "text=Far+Away+Street" in path and "boundary.country=CA" in path


def test_nothing_listening_is_a_failure_too() -> None:
    with geocoder_stand_in(GeocoderStandIn()) as gone:
        url = gone.url  # closed when the block ends: a refused connection
    settings = GeocoderSettings(url=url, timeout_s=TIMEOUT_S)
    with pytest.raises(geocoder.GeocoderFailed):
        geocoder.geocode(settings, "Pembroke", 5)
