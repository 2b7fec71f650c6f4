"""fieldnav: the backend of a field worker's map app."""

__version__ = "0.1.0"
