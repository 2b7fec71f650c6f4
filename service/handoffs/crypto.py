"""Encryption of handoff personal data at rest (Fernet: AES-128-CBC + HMAC-SHA256).

Keys come from ``FIELDNAV_HANDOFF_KEYS`` (comma-separated Fernet keys, the first one
active) or, when that is unset, from a key file (one key a line, first active) generated
0600 under ``FIELDNAV_HOME/keys/`` on first use. A ``MultiFernet`` encrypts with the first
key and decrypts with any, so rotation is:

1. put a new key first (``fieldnav handoffs generate-key``), keep the old one after it;
   restart the API;
2. ``fieldnav handoffs rotate-keys``: re-encrypts every value with the new key, in batches;
3. remove the old key; restart.

The same key ring keys the HMAC of idempotent request bodies (so a stored request hash
cannot be brute-forced back to a phone number); hashes made with an older key still match.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import overload

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from service.platform.settings import handoff_settings, path_settings


class KeyRingError(RuntimeError):
    """The configured keys are unusable (the message says why, never the key)."""


def key_file_path() -> Path:
    return handoff_settings().key_file or path_settings().home / "keys" / "handoff-fernet.keys"


def _parse_keys(text: str, where: str) -> list[bytes]:
    keys = [
        part.strip().encode()
        for part in text.replace("\n", ",").split(",")
        if part.strip() and not part.strip().startswith("#")
    ]
    if not keys:
        raise KeyRingError(f"{where} holds no key")
    for index, key in enumerate(keys):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise KeyRingError(f"key {index + 1} in {where} is not a Fernet key (32 url-safe base64 bytes)") from None
    return keys


def _create_key_file(path: Path) -> None:
    """Write a fresh key file atomically, 0600 from the start; if another process won the
    race, keep theirs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".handoff-key-")  # mkstemp: mode 0600
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(Fernet.generate_key() + b"\n")
        with contextlib.suppress(FileExistsError):  # another process won the race: keep theirs
            os.link(temporary, path)  # fails if the file exists: never overwrite a key
    finally:
        os.unlink(temporary)


def configured_keys() -> list[bytes]:
    settings = handoff_settings()
    if settings.keys:
        return _parse_keys(settings.keys, "FIELDNAV_HANDOFF_KEYS")
    path = key_file_path()
    if not path.exists():
        _create_key_file(path)
    return _parse_keys(path.read_text(), str(path))


class KeyRing:
    def __init__(self, keys: list[bytes]):
        self.keys = keys
        self._fernets = [Fernet(key) for key in keys]
        self._multi = MultiFernet(self._fernets)
        self._hmac_keys = [hashlib.sha256(b"fieldnav-handoff-request-hash|" + key).digest() for key in keys]

    def encrypt(self, value: str | None) -> bytes | None:
        return None if value is None else self._multi.encrypt(value.encode("utf-8"))

    @overload
    def decrypt(self, token: bytes | memoryview) -> str: ...
    @overload
    def decrypt(self, token: None) -> None: ...
    def decrypt(self, token: bytes | memoryview | None) -> str | None:
        if token is None:
            return None
        try:
            return self._multi.decrypt(bytes(token)).decode("utf-8")
        except InvalidToken:
            raise KeyRingError(
                "a stored value cannot be decrypted with the configured keys "
                "(was a key removed before `fieldnav handoffs rotate-keys` finished?)"
            ) from None

    def is_current(self, token: bytes | memoryview) -> bool:
        """True when the active key alone decrypts ``token`` (nothing to rotate)."""
        try:
            self._fernets[0].decrypt(bytes(token))
            return True
        except InvalidToken:
            return False

    def rotate(self, token: bytes | memoryview) -> bytes:
        """``token`` re-encrypted with the active key (its original timestamp kept)."""
        try:
            return self._multi.rotate(bytes(token))
        except InvalidToken:
            raise KeyRingError("a stored value cannot be decrypted with the configured keys") from None

    def request_hash(self, material: bytes) -> bytes:
        return hmac.new(self._hmac_keys[0], material, hashlib.sha256).digest()

    def request_hash_matches(self, material: bytes, stored: bytes | memoryview) -> bool:
        stored = bytes(stored)
        return any(
            hmac.compare_digest(hmac.new(key, material, hashlib.sha256).digest(), stored) for key in self._hmac_keys
        )


@lru_cache(maxsize=1)
def key_ring() -> KeyRing:
    return KeyRing(configured_keys())


def generate_key() -> str:
    return Fernet.generate_key().decode()
