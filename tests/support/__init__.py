"""Helpers shared by the tests: not tests themselves (no ``test_`` modules here).

- ``databases``        the PostGIS server the tests create databases on, its two roles;
- ``servers``          ``fieldnav serve`` in a subprocess, or an app in a thread, on a free port;
- ``tokens``           bearer tokens and request headers for a role;
- ``handoffs``         handoff test data: centres, bodies, the CLI with the handoff settings;
- ``webhooks``         a centre's webhook endpoint on 127.0.0.1;
- ``handoff_fixtures`` the handoff fixtures (a module's database, engine, server and client),
  registered for every test by tests/conftest.py.
"""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
