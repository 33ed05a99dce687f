"""The double's token endpoint, with raw requests for the wire details: client secrets,
authorization codes (single use, PKCE, redirect URI, lifetime) and the AADSTS error replies
partners meet, in Entra's shapes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests

from clouddouble import CloudDouble, shapes
from foundation import wellknown as wk
from tests.double.identity_support import _token_request, codes
from tests.support import REDIRECT_URI, Partner, query_params, sign_in_with_msal


@pytest.mark.parametrize("case", ["wrong", "expired", "other_app"])
def test_client_secret_is_checked(cloud: CloudDouble, partner: Partner, case: str) -> None:
    if case == "wrong":
        secret = "not-the-secret"
    elif case == "expired":
        secret = cloud.add_password(partner.app.app_id, end=cloud.clock.now() - timedelta(days=1))
    else:
        other = cloud.register_app(partner.tenant.id, "other")
        secret = cloud.add_password(other.app_id)
    result = sign_in_with_msal(partner, cca=partner.msal_app(secret=secret))
    assert result["error"] == "invalid_client"
    assert codes(result) == [7000222 if case == "expired" else 7000215]
    assert secret not in result["error_description"]


def _raw_code(partner: Partner) -> tuple[dict[str, Any], str]:
    cca = partner.msal_app()
    flow = cca.initiate_auth_code_flow(scopes=[wk.PARTNER_CENTER_SCOPE], redirect_uri=REDIRECT_URI)
    redirect = partner.cloud.sign_in(flow["auth_uri"], partner.admin.upn, partner.password)
    params = query_params(redirect)
    assert params["state"] == flow["state"]
    return flow, params["code"]


def test_authorization_code_is_single_use(partner: Partner) -> None:
    flow, code = _raw_code(partner)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": flow["code_verifier"],
        "scope": wk.PARTNER_CENTER_SCOPE,
    }
    assert _token_request(partner, **form).status_code == 200
    second = _token_request(partner, **form)
    assert second.status_code == 400
    assert second.json()["error_codes"] == [54005]


def test_authorization_code_checks_pkce_redirect_and_lifetime(
    cloud: CloudDouble, partner: Partner
) -> None:
    flow, code = _raw_code(partner)
    base = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": flow["code_verifier"],
    }
    bad_pkce = _token_request(partner, **{**base, "code_verifier": "x" * 43})
    assert bad_pkce.json()["error_codes"] == [50148]
    bad_redirect = _token_request(partner, **{**base, "redirect_uri": "http://localhost:9999"})
    assert bad_redirect.json()["error_codes"] == [500112]
    cloud.advance_clock(timedelta(minutes=11))
    late = _token_request(partner, **base)
    assert late.status_code == 400 and late.json()["error_codes"] == [70008]


def test_client_secret_may_come_by_http_basic(partner: Partner) -> None:
    flow, code = _raw_code(partner)
    response = requests.post(
        f"{partner.authority}/oauth2/v2.0/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": flow["code_verifier"],
        },
        auth=(partner.app.app_id, partner.secret),
        timeout=10,
    )
    assert response.status_code == 200 and "access_token" in response.json()


def test_wrong_secret_is_http_401_in_entra_shape(partner: Partner) -> None:
    response = _token_request(
        partner,
        grant_type="refresh_token",
        refresh_token="x",
        scope=wk.PARTNER_CENTER_SCOPE,
        client_secret="wrong",
    )
    assert response.status_code == 401
    body = response.json()
    assert set(body) >= {
        "error",
        "error_description",
        "error_codes",
        "timestamp",
        "trace_id",
        "correlation_id",
        "error_uri",
    }
    assert body["error"] == "invalid_client" and body["error_codes"] == [7000215]
    assert "\r\nTrace ID: " in body["error_description"]


def test_pkce_mismatch_is_entras_invalid_grant_50148(partner: Partner) -> None:
    _flow, code = _raw_code(partner)
    refused = _token_request(partner, grant_type="authorization_code", code=code,
                             redirect_uri=REDIRECT_URI, code_verifier="y" * 43)
    body = refused.json()
    assert refused.status_code == 400 and body["error"] == "invalid_grant"
    assert body["error_codes"] == [50148]
    assert body["error_description"].startswith(
        "AADSTS50148: The code_verifier does not match the code_challenge supplied in the "
        "authorization request for PKCE.\r\nTrace ID: ")


def test_the_token_endpoint_can_answer_entras_plain_text_429(partner: Partner) -> None:
    body, content_type = shapes.entra_plain_text_429()
    partner.cloud.inject_fault(r"/oauth2/v2\.0/token$", status=429, count=1, retry_after=7,
                               service="identity", body=body, content_type=content_type)
    reply = _token_request(partner, grant_type="refresh_token", refresh_token="x",
                           scope=wk.PARTNER_CENTER_SCOPE)
    assert reply.status_code == 429 and reply.text == "Too Many Requests"
    assert reply.headers["Content-Type"].startswith("text/plain")
    assert reply.headers["Retry-After"] == "7"
