"""Maps and offline: vector tiles, the basemap, offline packs and delta sync."""
