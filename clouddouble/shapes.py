"""The real services' own error replies, byte for byte where Microsoft documents them, for
``CloudDouble.inject_fault(body=..., content_type=...)`` and the services' own refusals. Each
shape quotes its source; the product must recognise them as the real cloud sends them, not as we
would have written them.
"""

from __future__ import annotations

import json

JSON = "application/json; charset=utf-8"
TEXT = "text/plain; charset=utf-8"


def entra_plain_text_429() -> tuple[bytes, str]:
    """Entra's token endpoint, throttled at the front door, answers ``429 Too Many Requests`` with
    a plain-text body, not OAuth JSON (facts: "Added 2026-12-03"; MSAL Python then fails its JSON
    parse with ``ValueError``)."""
    return b"Too Many Requests", TEXT


def key_vault_throttled(reason: str = "Too many requests for this vault.") -> tuple[bytes, str]:
    """Key Vault service limits (Learn, "Azure Key Vault throttling guidance"): 429 with
    ``{"error":{"code":"Throttled","message":"Request was not processed because too many requests
    were received. Reason: ..."}}`` and a ``Retry-After`` header."""
    message = f"Request was not processed because too many requests were received. Reason: {reason}"
    return json.dumps({"error": {"code": "Throttled", "message": message}}).encode(), JSON
