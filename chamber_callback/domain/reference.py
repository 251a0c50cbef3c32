"""Human-readable references and unguessable status tokens."""
from __future__ import annotations

import hashlib
import hmac
import secrets

# No 0/O, 1/I/L, 2/Z, 5/S, 8/B, G/6, Q, W (spelled out awkwardly in French).
REFERENCE_ALPHABET = "ACDEFHJKMNPRTUVXY3479"
REFERENCE_LENGTH = 8


def new_reference(randbelow=secrets.randbelow) -> str:
    """'K7MA-4XPT': 8 characters from 21, easy to read aloud over the phone (~3.8e10 values)."""
    chars = "".join(REFERENCE_ALPHABET[randbelow(len(REFERENCE_ALPHABET))] for _ in range(REFERENCE_LENGTH))
    return f"{chars[:4]}-{chars[4:]}"


def normalise_reference(raw: str) -> str:
    """Accept what a person types: lower case, spaces, missing dash."""
    chars = "".join(ch for ch in raw.upper() if ch.isalnum())
    return f"{chars[:4]}-{chars[4:]}" if len(chars) == REFERENCE_LENGTH else raw.strip().upper()


def new_status_token() -> str:
    """256 random bits, URL-safe: the artisan's private follow-up link."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """Only the digest is stored, so a database leak does not open the status pages."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def keyed_digest(value: str, key: str) -> str:
    """Names a phone, an e-mail or an account in logs and audit data without writing it, and
    without a plain hash that a dictionary of phone numbers would reverse."""
    return hmac.new(key.encode("utf-8"), value.encode("utf-8"), hashlib.sha256).hexdigest()[:24]
