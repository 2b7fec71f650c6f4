"""The HTTP API (FastAPI). Routes stay thin: parse, authorise, call one function, shape."""
