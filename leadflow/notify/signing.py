"""Generic webhook signatures: HMAC-SHA256 over `"{timestamp}.{body}"`.

The timestamp is signed with the body, so a captured request cannot be replayed later
with a fresh timestamp; receivers reject timestamps older than `tolerance` seconds and
deduplicate on the message id (`X-Leadflow-Id`), which is stable across retries.
"""

from __future__ import annotations

import hashlib
import hmac

ID_HEADER = "X-Leadflow-Id"
EVENT_HEADER = "X-Leadflow-Event"
TIMESTAMP_HEADER = "X-Leadflow-Timestamp"
SIGNATURE_HEADER = "X-Leadflow-Signature"
DEFAULT_TOLERANCE = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str,
    body: bytes,
    timestamp: str,
    signature: str,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE,
) -> bool:
    """True when the signature matches and the timestamp is within `tolerance` of `now`."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs(now - ts) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)
