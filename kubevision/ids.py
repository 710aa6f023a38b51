"""Server-made identifiers: random, URL-safe, never derived from client input."""

from __future__ import annotations

import secrets


def new_id() -> str:
    """A 26-character lower-case base32 id with 128 bits of randomness."""
    import base64

    return base64.b32encode(secrets.token_bytes(16)).decode().rstrip("=").lower()
