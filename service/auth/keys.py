"""Verification keys: fieldnav's own signing key and the agencies' identity providers.

An agency plugs in its identity provider by listing it in FIELDNAV_AUTH_ISSUERS_FILE:

    - issuer: https://login.example-police.ca/realms/field
      audience: fieldnav-api
      jwks_url: https://login.example-police.ca/realms/field/protocol/openid-connect/certs
      agencies: [example-police]        # the only agency claims this issuer may assert
    - issuer: https://idp.outreach.example.org
      audience: fieldnav
      jwks_file: /etc/fieldnav/outreach-jwks.json
      agencies: [street-outreach-east]

fieldnav's own key (Ed25519) signs tokens from `fieldnav token create`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jwt
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from service.platform.settings import auth_settings, path_settings

# Asymmetric algorithms only: an HS256 token signed with a public key must never verify.
ALLOWED_ALGORITHMS = ["EdDSA", "ES256", "ES384", "RS256", "RS384", "RS512", "PS256"]


@dataclass(frozen=True)
class TrustedIssuer:
    issuer: str
    audience: str
    agencies: frozenset[str] | None  # None: any agency (fieldnav's own issuer)
    jwks_url: str | None = None
    jwks_file: Path | None = None


def signing_key_path() -> Path:
    return auth_settings().signing_key_file or path_settings().home / "keys" / "signing-ed25519.pem"


def load_or_create_signing_key() -> Ed25519PrivateKey:
    path = signing_key_path()
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return key
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    # Created 0600 from the start: the key must never be readable by others, even briefly.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    return key


@lru_cache(maxsize=1)
def own_public_key():
    return load_or_create_signing_key().public_key()


@lru_cache(maxsize=1)
def trusted_issuers() -> dict[str, TrustedIssuer]:
    settings = auth_settings()
    issuers = {settings.issuer: TrustedIssuer(settings.issuer, settings.audience, None)}
    if settings.issuers_file:
        for entry in yaml.safe_load(settings.issuers_file.read_text()) or []:
            issuers[entry["issuer"]] = TrustedIssuer(
                issuer=entry["issuer"],
                audience=entry["audience"],
                agencies=frozenset(entry["agencies"]) if entry.get("agencies") else None,
                jwks_url=entry.get("jwks_url"),
                jwks_file=Path(entry["jwks_file"]) if entry.get("jwks_file") else None,
            )
    return issuers


@lru_cache(maxsize=32)
def _jwks_client(url: str) -> jwt.PyJWKClient:
    # PyJWKClient caches the key set and refetches on an unknown kid (key rotation).
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=5)


@lru_cache(maxsize=32)
def _jwks_file(path: Path) -> jwt.PyJWKSet:
    return jwt.PyJWKSet.from_dict(json.loads(path.read_text()))


def verification_key(issuer: TrustedIssuer, token: str):
    if issuer.jwks_url is None and issuer.jwks_file is None:
        return own_public_key()
    if issuer.jwks_url:
        return _jwks_client(issuer.jwks_url).get_signing_key_from_jwt(token).key
    kid = jwt.get_unverified_header(token).get("kid")
    keys = _jwks_file(issuer.jwks_file).keys
    for key in keys:
        if kid is None or key.key_id == kid:
            return key.key
    raise jwt.InvalidKeyError("no key for this kid")
