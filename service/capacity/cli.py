"""`fieldnav provider grant|revoke|list`: which organizations' services a provider account
may update (service/capacity/grants.py). The same as the admin endpoints
``/v1/admin/providers/...``; registered on the main command by ``register(main)``."""

from __future__ import annotations

import uuid

import click

SUBJECT = click.option("--subject", required=True, help="The provider account's subject (the token's `sub`).")
ISSUER = click.option(
    "--issuer", default=None, help="The account's token issuer; default: fieldnav's own (FIELDNAV_AUTH_ISSUER)."
)
ORGANIZATION = click.option(
    "--organization",
    "organization_id",
    required=True,
    type=click.UUID,
    help="The HSDS organization id whose services the account may update.",
)


def _issuer(issuer: str | None) -> str:
    from service.platform.settings import auth_settings

    return issuer or auth_settings().issuer


@click.group()
def provider() -> None:
    """Provider accounts: a service provider's staff updating live counts (beds, spaces...)."""


@provider.command("grant")
@SUBJECT
@ORGANIZATION
@ISSUER
def provider_grant(subject: str, organization_id: uuid.UUID, issuer: str | None) -> None:
    """Let the account update the organization's services."""
    from service.capacity import grants
    from service.platform.db import default_engine

    try:
        with default_engine().begin() as connection:
            created = grants.grant(
                connection, issuer=_issuer(issuer), subject=subject, organization_id=organization_id, granted_by="cli"
            )
    except grants.UnknownOrganization:
        raise click.ClickException(f"no organization with id {organization_id} in the directory") from None
    click.echo(f"{subject}: {'granted' if created else 'already granted'} organization {organization_id}")


@provider.command("revoke")
@SUBJECT
@ORGANIZATION
@ISSUER
def provider_revoke(subject: str, organization_id: uuid.UUID, issuer: str | None) -> None:
    """Take the organization's services away from the account."""
    from service.capacity import grants
    from service.platform.db import default_engine

    with default_engine().begin() as connection:
        removed = grants.revoke(connection, issuer=_issuer(issuer), subject=subject, organization_id=organization_id)
    if not removed:
        raise click.ClickException(f"{subject} has no grant for organization {organization_id}")
    click.echo(f"{subject}: organization {organization_id} revoked")


@provider.command("list")
def provider_list() -> None:
    """Every provider account and its organizations."""
    from service.capacity import grants
    from service.platform.db import default_engine

    with default_engine().connect() as connection:
        accounts = grants.list_grants(connection)
    if not accounts:
        click.echo("no provider accounts")
    for account in accounts:
        click.echo(f"{account['subject']} ({account['issuer']})")
        for organization in account["organizations"]:
            click.echo(
                f"  {organization['id']}  {organization['name'] or '(not in the directory)'}  "
                f"{organization['service_count']} service(s)  granted {organization['granted_at']}"
            )


def register(main: click.Group) -> None:
    main.add_command(provider)
