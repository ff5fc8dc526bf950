"""Keyed pseudonyms for people (HMAC-SHA256): the only person id in analysis outputs and reports.

The key comes from outside the repository (environment or a file); a plain hash of the NIR
would be reversible by enumeration, a keyed one is not without the key.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path

from gateway.errors import ConfigurationError

KEY_ENV = "DRM_GATEWAY_PSEUDONYM_KEY"
KEY_FILE_ENV = "DRM_GATEWAY_PSEUDONYM_KEY_FILE"
DEMO_KEY = b"drm-gateway insecure demo key - never for real data"


@dataclass(frozen=True, slots=True)
class Pseudonymiser:
    key: bytes

    def person_key(self, nir: str | None, ntt: str | None, siren: str | None) -> str:
        subject = f"NIR:{nir}" if nir else f"NTT:{siren or ''}:{ntt or ''}"
        keyed = _keyed(self.key).copy()            # the key's HMAC state, prepared once per key
        keyed.update(subject.encode("ascii", "replace"))
        return keyed.hexdigest()[:32]


@functools.lru_cache(maxsize=8)
def _keyed(key: bytes) -> "hmac.HMAC":
    """HMAC-SHA256 keyed with ``key`` and fed nothing yet: copied for each message (the key's padding and
    first blocks are not hashed again every time)."""
    return hmac.new(key, digestmod=hashlib.sha256)


def load_key(*, key_file: str | None = None, insecure_demo: bool = False) -> bytes:
    """The pseudonym key from --pseudonym-key-file, the environment, or the demo key if allowed."""
    path = key_file or os.environ.get(KEY_FILE_ENV)
    if path:
        try:
            key = Path(path).read_bytes().strip()
        except OSError as exc:
            raise ConfigurationError(f"pseudonym key file unreadable @ {path}: {exc.strerror}") from None
        if len(key) < 16:
            raise ConfigurationError(f"pseudonym key too short @ {path}: expected at least 16 bytes")
        return key
    if os.environ.get(KEY_ENV):
        key = os.environ[KEY_ENV].encode()
        if len(key) < 16:
            raise ConfigurationError(f"pseudonym key too short @ ${KEY_ENV}: expected at least 16 bytes")
        return key
    if insecure_demo:
        return DEMO_KEY
    raise ConfigurationError(
        f"no pseudonym key: set {KEY_ENV} or {KEY_FILE_ENV}, pass --pseudonym-key-file, "
        "or --insecure-demo-key for demonstration data only")


def mask_nir(nir: str | None) -> str:
    """What an officer may see of a NIR: sex, birth year and month only ("1 85 03 ** *** ***")."""
    if not nir or len(nir) < 5:
        return "—"
    return f"{nir[0]} {nir[1:3]} {nir[3:5]} ** *** ***"
