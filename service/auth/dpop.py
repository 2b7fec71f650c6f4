"""DPoP proofs (RFC 9449): a short JWT, signed by the client's own key, showing that the caller
holds that key for this one request.

The client sends it in the ``DPoP`` header:

    header  {"typ": "dpop+jwt", "alg": "ES256", "jwk": {"kty": "EC", "crv": "P-256", "x": "...", "y": "..."}}
    claims  {"htm": "POST", "htu": "https://fieldnav.example/v1/auth/refresh", "iat": 1796000000, "jti": "<unique>"}

``htm`` is the request's method, ``htu`` its URL without query and fragment, ``iat`` within
FIELDNAV_AUTH_LEEWAY_S + 60 s of the server's clock. Only ES256 (EC P-256): the key type every
browser's WebCrypto makes non-extractable, so the private key cannot be read out of the phone.
The key is identified by its RFC 7638 thumbprint. Checked with pyjwt and cryptography.

Behind a reverse proxy the URL the server sees must be the one the client used: pass ``Host``
and ``X-Forwarded-Proto``, and list the proxy in FIELDNAV_TRUSTED_PROXIES (`fieldnav serve`
believes forwarded headers from no one else; default: no one).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from service.platform.settings import auth_settings

ALGORITHM = "ES256"
PROOF_TYPE = "dpop+jwt"
# How far a proof's iat may be from the server's clock, on top of FIELDNAV_AUTH_LEEWAY_S.
MAX_AGE_S = 60
MAX_PROOF_CHARS = 4096
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


class InvalidProof(Exception):
    """Why a proof (or a key) is not accepted. For logs only: clients learn no reason."""


@dataclass(frozen=True)
class Proof:
    jwk: dict  # the public key: kty, crv, x, y only
    thumbprint: str  # RFC 7638, SHA-256
    jti: str
    issued_at: datetime


def _b64url_bytes(value, size: int, name: str) -> bytes:
    if not isinstance(value, str):
        raise InvalidProof(f"jwk {name} is not a string")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        raise InvalidProof(f"jwk {name} is not base64url") from None
    if len(raw) != size:
        raise InvalidProof(f"jwk {name} is not {size} bytes")
    return raw


def public_jwk(jwk: object) -> dict:
    """The EC P-256 public key as a JWK of its required members only, or InvalidProof: another
    key type or curve, a private member, or a point that is not on the curve."""
    if not isinstance(jwk, Mapping):
        raise InvalidProof("jwk is not an object")
    if _PRIVATE_MEMBERS & set(jwk):
        raise InvalidProof("jwk holds private key members")
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise InvalidProof("jwk is not an EC P-256 key")
    x, y = _b64url_bytes(jwk.get("x"), 32, "x"), _b64url_bytes(jwk.get("y"), 32, "y")
    try:  # cryptography refuses a point that is not on the curve
        ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()).public_key()
    except ValueError:
        raise InvalidProof("jwk is not a point on P-256") from None
    return {"kty": "EC", "crv": "P-256", "x": jwk["x"], "y": jwk["y"]}


def thumbprint(jwk: Mapping) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url): the hash of the key's required members
    (for EC: crv, kty, x, y) as JSON with sorted keys and no whitespace. Written here because
    neither pyjwt (2.15) nor cryptography has it, and it is these two lines."""
    members = json.dumps({name: jwk[name] for name in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(members.encode()).digest()).decode().rstrip("=")


def target_uri(url: str) -> str:
    """``url`` without query and fragment, normalised as RFC 9449 §4.3 asks (RFC 3986 §6.2.2-3:
    scheme and host in lower case, the scheme's default port dropped, an empty path is /)."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        raise InvalidProof("htu has an invalid port") from None
    authority = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return f"{scheme}://{authority}{parts.path or '/'}"


def verify_proof(proof: str | None, *, method: str, url: str, now: datetime | None = None) -> Proof:
    """The checked proof of a request (``method``, ``url`` as the server received them), or
    InvalidProof."""
    if not proof or len(proof) > MAX_PROOF_CHARS:
        raise InvalidProof("no DPoP proof" if not proof else "DPoP proof too long")
    try:
        header = jwt.get_unverified_header(proof)
    except jwt.PyJWTError as error:
        raise InvalidProof(f"unreadable proof: {type(error).__name__}") from None
    if str(header.get("typ", "")).lower() != PROOF_TYPE:
        raise InvalidProof("typ is not dpop+jwt")
    if header.get("alg") != ALGORITHM:
        raise InvalidProof("alg is not ES256")
    jwk = public_jwk(header.get("jwk"))
    key = jwt.algorithms.ECAlgorithm.from_jwk(jwk)
    if not isinstance(key, ec.EllipticCurvePublicKey):  # public_jwk keeps no private member
        raise InvalidProof("jwk is not a public key")
    try:
        # exp/nbf are no part of a proof; iat is checked below against our `now`.
        claims = jwt.decode(
            proof,
            key,
            algorithms=[ALGORITHM],
            options={
                "require": ["htm", "htu", "iat", "jti"],
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
            },
        )
    except jwt.PyJWTError as error:
        raise InvalidProof(f"proof refused: {type(error).__name__}") from None
    jti, issued = claims["jti"], claims["iat"]
    if not isinstance(jti, str) or not 1 <= len(jti) <= 200:
        raise InvalidProof("jti is not a short string")
    if claims["htm"] != method:
        raise InvalidProof("htm is not the request's method")
    if not isinstance(claims["htu"], str) or target_uri(claims["htu"]) != target_uri(url):
        raise InvalidProof("htu is not the request's URL")
    # (JSON numbers are int or float; bool is an int)
    if isinstance(issued, bool) or not isinstance(issued, (int, float)):
        raise InvalidProof("iat is not a number")
    moment = (now or datetime.now(UTC)).timestamp()
    if not abs(moment - issued) <= auth_settings().leeway_s + MAX_AGE_S:  # (NaN too)
        raise InvalidProof("iat too far from now")
    return Proof(jwk=jwk, thumbprint=thumbprint(jwk), jti=jti, issued_at=datetime.fromtimestamp(issued, UTC))
