"""Service areas as geometry: who serves this address?

- extents.py: an HSDS extent (GeoJSON or WKT) to a MultiPolygon, in PostGIS, in bulk;
- matching.py: a named area ("Renfrew County", "K8A") to a loaded boundary's shape;
- boundaries.py: ``fieldnav areas load|list`` (cli.py), the shipped default (Ontario);
- serves.py: ``service_site.serves_geom``, the union of a site's area shapes;
- resolve.py: what an import runs after rebuilding a source's sites.
"""
