"""auth_device: devices that renew a user's access token themselves (device-bound refresh).

Revision ID: 0010_auth_devices
Revises: 0009_site_keys
Create Date: 2026-12-02

A field client registers a P-256 public key (its private half never leaves the phone's
browser) and gets a refresh token; POST /v1/auth/refresh trades that token, with a DPoP proof
signed by the key (RFC 9449), for a new access token and a new refresh token. Only the
SHA-256 of the current refresh token is kept. ``expires_at`` is the absolute end (the user
signs in again: ``signed_in_at``, the user's sign-in the device was registered from, plus
FIELDNAV_AUTH_DEVICE_MAX_DAYS), ``refresh_expires_at`` the idle one (moved on by each refresh,
never past ``expires_at``). ``last_token_id`` is the jti of the device's current access token, revoked
with the device (service/auth/devices.py).
"""

from __future__ import annotations

from alembic import op

revision = "0010_auth_devices"
down_revision = "0009_site_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE auth_device (
            id uuid PRIMARY KEY,
            issuer text NOT NULL,
            subject text NOT NULL,
            agency text NOT NULL,
            role text NOT NULL,
            jwk_thumbprint text NOT NULL UNIQUE,
            public_jwk jsonb NOT NULL,
            refresh_hash bytea NOT NULL,
            refresh_expires_at timestamptz NOT NULL,
            expires_at timestamptz NOT NULL,
            signed_in_at timestamptz NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            last_used_at timestamptz,
            last_token_id text,
            revoked_at timestamptz,
            revoked_reason text
        )
    """)
    op.execute("CREATE INDEX auth_device_principal ON auth_device (issuer, subject)")
    op.execute("CREATE INDEX auth_device_agency ON auth_device (agency)")


def downgrade() -> None:
    op.execute("DROP TABLE auth_device")
