"""Cal.com's webhook signature: lowercase hex HMAC-SHA256 of the raw body."""

from __future__ import annotations

import hashlib
import hmac
import re

SIGNATURE_HEADER = "X-Cal-Signature-256"
NO_SECRET = "no-secret-provided"  # noqa: S105 - Cal.com's placeholder, not a secret
HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def sign(body: bytes, secret: str) -> str:
    """Return the signature Cal.com sends for ``body`` with ``secret``."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def is_authentic(body: bytes, signature: str | None, secret: str) -> bool:
    """Return whether ``signature`` proves ``body`` was sent with our ``secret``.

    A missing header, Cal.com's ``no-secret-provided`` placeholder, anything that is not
    64 hex digits (headers may carry any byte), or any other mismatch is refused; the
    comparison takes constant time.
    """
    if not signature or not secret or signature == NO_SECRET:
        return False
    signature = signature.strip()
    if not HEX_SHA256.fullmatch(signature):
        return False
    return hmac.compare_digest(sign(body, secret), signature.lower())
