"""`fieldnav centres load FILE` on a real PostGIS: the shipped Ontario centre, upserts,
refusing bad files whole, routing by area."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, text

from service.handoffs.centres import route
from tests.support.handoffs import EAST_CENTRE, ONTARIO_FILE, east_centre, fieldnav, write_centres

INSIDE_ONTARIO = {
    "Toronto": (43.6534, -79.3839),
    "Ottawa": (45.4215, -75.6972),
    "Thunder Bay": (48.3809, -89.2477),
    "Windsor": (42.3149, -83.0364),
    "Sudbury": (46.4917, -80.9930),
    "Moosonee": (51.2794, -80.6463),
    "Kenora": (49.7670, -94.4894),
    "Kingston": (44.2312, -76.4860),
}
OUTSIDE_ONTARIO = {
    "Montreal": (45.5019, -73.5674),
    "Winnipeg": (49.8951, -97.1384),
    "Quebec City": (46.8139, -71.2080),
    "Cleveland": (41.4993, -81.6944),
    "Vancouver": (49.2827, -123.1207),
}


def _centres(database_url: str) -> dict[str, dict]:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = (
            connection.execute(text("SELECT id, name_en, phone, tel_uri, area_km2, webhook_url FROM navigator_centre"))
            .mappings()
            .all()
        )
    engine.dispose()
    return {r["id"]: dict(r) for r in rows}


def test_the_shipped_ontario_centre_loads_and_covers_the_province(database_url):
    first = fieldnav(database_url, "centres", "load", str(ONTARIO_FILE))
    assert first.returncode == 0, first.stderr
    assert "211-ontario: added" in first.stdout and "loaded 1 navigator centres from ontario.json" in first.stdout
    assert "warning" not in first.stderr
    again = fieldnav(database_url, "centres", "load", str(ONTARIO_FILE))
    assert "211-ontario: updated" in again.stdout
    centre = _centres(database_url)["211-ontario"]
    assert (
        centre["tel_uri"] == "tel:211;phone-context=+1" and 1_000_000 < centre["area_km2"] < 1_150_000
    )  # Ontario: 1.08 M km²
    engine = create_engine(database_url)
    with engine.connect() as connection:
        for city, (lat, lon) in {**INSIDE_ONTARIO, **OUTSIDE_ONTARIO}.items():
            covered = connection.execute(
                text("""SELECT ST_Covers(area, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
                                                 FROM navigator_centre WHERE id = '211-ontario'"""),
                {"lat": lat, "lon": lon},
            ).scalar_one()
            assert covered == (city in INSIDE_ONTARIO), city
    engine.dispose()
    listed = fieldnav(database_url, "centres", "list")
    assert "211-ontario (default): 211 Ontario / 211 Ontario, line 211" in listed.stdout


def test_the_smallest_area_wins_and_the_default_catches_the_rest(database_url, tmp_path):
    fieldnav(database_url, "centres", "load", str(ONTARIO_FILE))
    loaded = fieldnav(database_url, "centres", "load", str(write_centres(tmp_path / "east.json", east_centre())))
    assert loaded.returncode == 0 and f"{EAST_CENTRE}: added" in loaded.stdout
    engine = create_engine(database_url)
    with engine.connect() as connection:
        assert route(connection, 45.4215, -75.6972).id == EAST_CENTRE
        assert route(connection, 43.6534, -79.3839).id == "211-ontario"
        assert route(connection, 49.2827, -123.1207).id == "211-ontario"
        assert route(connection, None, None).id == "211-ontario"
    engine.dispose()


def test_yaml_files_load_too(database_url, tmp_path):
    import yaml

    path = tmp_path / "centres.yaml"
    path.write_text(yaml.safe_dump({"centres": [east_centre()]}))
    result = fieldnav(database_url, "centres", "load", str(path))
    assert result.returncode == 0 and f"{EAST_CENTRE}: added" in result.stdout
    # The default centre is not loaded: say so.
    assert "default centre '211-ontario'" in result.stderr


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"centres": []}), "expected a list of centres"),
        (json.dumps([east_centre(), east_centre()]), "appears twice"),
        (
            json.dumps(
                [
                    east_centre(
                        id="211-bowtie",
                        area={"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
                    )
                ]
            ),
            "not a valid polygon: Self-intersection",
        ),
        (json.dumps([east_centre(id="211-good"), east_centre(id="211-bad", phone="call us")]), "centres[1].phone"),
    ],
)
def test_bad_files_are_refused_whole(database_url, tmp_path, content, message):
    path = tmp_path / "centres.json"
    path.write_text(content)
    result = fieldnav(database_url, "centres", "load", str(path))
    assert result.returncode == 2 and message in result.stderr and "nothing was loaded" in result.stderr
    assert _centres(database_url) == {}
