"""The PostGIS server the tests create databases on, and its two roles.

As in production (service/platform/grants.py): the migrated template is owned by
TEST_OWNER_ROLE, which grants TEST_APP_ROLE the application's privileges; a copy of the
template is handed to a test by its superuser URL, and ``app_url_for`` gives the application
role's URL of the same database (what the servers the tests start connect as).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import psycopg
from psycopg import sql
from sqlalchemy import make_url

from service.platform import migrate

TEST_OWNER_ROLE = "fieldnav_test_owner"
TEST_APP_ROLE = "fieldnav_test_app"
# Throw-away servers only (and over the private cluster's socket connections are trusted).
TEST_ROLE_PASSWORD = "fieldnav-test-role"
_GRANTED_TEMPLATES: set[str] = set()  # migrated as the owner, with the app role's grants
_APP_URLS: dict[str, str] = {}  # superuser URL of a copy of one of them -> the app role's URL


def app_url_for(database_url: str) -> str:
    """The application role's URL of a database copied from the template (what the API
    connects as); any other URL as it is."""
    return _APP_URLS.get(database_url, database_url)


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _sqlalchemy(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@dataclass
class TestServer:
    """A PostGIS server the tests may create databases on."""

    __test__ = False  # not a test class, whatever its name

    admin_url: str  # superuser, libpq form

    def _admin(self) -> psycopg.Connection:
        return psycopg.connect(_libpq(self.admin_url), autocommit=True)

    def create_template(self, name: str) -> None:
        """(Re)create the migrated template ``name``: owned and migrated by TEST_OWNER_ROLE,
        with TEST_APP_ROLE's grants; copies of it are registered for ``app_url_for``."""
        self.drop_database(name)
        self.ensure_roles()
        self.create_database(name, owner=TEST_OWNER_ROLE)
        migrate.upgrade(self.role_url(name, TEST_OWNER_ROLE), app_role=TEST_APP_ROLE)
        _GRANTED_TEMPLATES.add(name)

    def create_database(self, name: str, template: str | None = None, owner: str | None = None) -> str:
        """A database (with PostGIS, or a copy of ``template``); its superuser URL. A copy of
        the migrated template is owned by TEST_OWNER_ROLE and registered for ``app_url_for``."""
        granted = template in _GRANTED_TEMPLATES
        owner = owner or (TEST_OWNER_ROLE if granted else None)
        with self._admin() as connection:
            query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if owner:
                query += sql.SQL(" OWNER {}").format(sql.Identifier(owner))
            if template:
                query += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            connection.execute(query)
            if not template:
                with psycopg.connect(self.database_admin_url(name), autocommit=True) as db:
                    db.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        url = _sqlalchemy(self.database_admin_url(name))
        if granted:
            _APP_URLS[url] = self.role_url(name, TEST_APP_ROLE)
        return url

    def drop_database(self, name: str) -> None:
        with self._admin() as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        _APP_URLS.pop(_sqlalchemy(self.database_admin_url(name)), None)

    def ensure_roles(self) -> None:
        """The owner and application roles (cluster-wide, shared by concurrent sessions, kept)."""
        with self._admin() as connection:
            for role, limits in ((TEST_OWNER_ROLE, ""), (TEST_APP_ROLE, " NOSUPERUSER NOCREATEDB NOCREATEROLE")):
                query = sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}" + limits).format(
                    sql.Identifier(role), sql.Literal(TEST_ROLE_PASSWORD)
                )
                # Made by an earlier or concurrent session: fine.
                with contextlib.suppress(psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
                    connection.execute(query)

    def role_url(self, name: str, role: str) -> str:
        """SQLAlchemy URL of database ``name`` as ``role``."""
        url = make_url(_sqlalchemy(self.admin_url)).set(database=name, username=role, password=TEST_ROLE_PASSWORD)
        return url.render_as_string(hide_password=False)

    def database_admin_url(self, name: str) -> str:
        url = make_url(_sqlalchemy(self.admin_url)).set(database=name)
        return _libpq(url.render_as_string(hide_password=False))
