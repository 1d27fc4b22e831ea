"""Standard Webhooks signing: `webhook-id`, `webhook-timestamp`, `webhook-signature` headers.

The signature is `v1,<base64 HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>` where the secret
is the base64 part of a `whsec_<base64>` string (standard-webhooks spec, "Signature scheme").
Receivers verify it with any Standard Webhooks library, e.g. `standardwebhooks.Webhook`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

PREFIX = "whsec_"


def decode_secret(secret: str) -> bytes:
    """The key bytes of a `whsec_<base64>` secret; raise ValueError (without the secret) if malformed."""
    value = secret.strip()
    if not value.startswith(PREFIX):
        raise ValueError("the signing secret must start with whsec_ (Standard Webhooks format)")
    try:
        key = base64.b64decode(value[len(PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the signing secret after whsec_ is not valid base64") from None
    if len(key) < 24 or len(key) > 64:
        raise ValueError(f"the signing secret must hold 24 to 64 random bytes (it holds {len(key)})")
    return key


def check_secret(secret: str, destination: str) -> None:
    """Raise ValueError naming the destination (never the secret) if the secret is malformed."""
    try:
        decode_secret(secret)
    except ValueError as exc:
        raise ValueError(
            f"destination {destination}: {exc}; generate one with "
            "`python -c \"import base64,os;print('whsec_'+base64.b64encode(os.urandom(32)).decode())\"`"
        ) from None


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for one message."""
    if "." in msg_id:
        raise ValueError("a webhook-id must not contain '.'")
    key = decode_secret(secret)
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(secret: str | None, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers (the signature only when a secret is given)."""
    out = {"webhook-id": msg_id, "webhook-timestamp": str(timestamp)}
    if secret:
        out["webhook-signature"] = sign(secret, msg_id, timestamp, body)
    return out
