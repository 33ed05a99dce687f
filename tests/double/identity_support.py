"""What the identity-platform tests share (test_double_identity_tokens.py,
test_double_identity_token_endpoint.py, test_double_identity_signin.py): reading a token's
claims and an error's AADSTS codes, and a raw request to the token endpoint. Their ``partner``
fixture is in this folder's conftest.py."""

from __future__ import annotations

from typing import Any

import jwt
import requests

from tests.support import Partner


def claims(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


def codes(result: dict[str, Any]) -> list[int]:
    return list(result.get("error_codes", []))


def _token_request(partner: Partner, **form: str) -> requests.Response:
    body = {"client_id": partner.app.app_id, "client_secret": partner.secret, **form}
    return requests.post(f"{partner.authority}/oauth2/v2.0/token", data=body, timeout=10)
