"""The double's Partner Center: the organization profile call that proves a token works, with
MFA enforcement, app-only refusal, outages and injected throttling."""

from __future__ import annotations

import base64
import json

import pytest
import requests
from azure.identity import ClientSecretCredential

from clouddouble import CloudDouble
from foundation import wellknown as wk
from foundation.errors import SignInError
from scripts.adapters.partner_center import organization_profile
from tests.support import Partner, make_partner, sign_in_with_msal


@pytest.fixture
def partner(cloud: CloudDouble) -> Partner:
    return make_partner(cloud)


def profile(cloud: CloudDouble, token: str) -> requests.Response:
    return requests.get(
        f"{cloud.partner_center_endpoint}/v1/profiles/organization",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_organization_profile_with_an_mfa_token(cloud: CloudDouble, partner: Partner) -> None:
    token = sign_in_with_msal(partner)["access_token"]
    response = profile(cloud, token)
    assert response.status_code == 200
    body = response.json()
    assert body["tenantId"] == partner.tenant.id
    assert body["domain"] == partner.tenant.initial_domain
    assert body["profileType"] == "OrganizationProfile"
    assert body["attributes"]["objectType"] == "OrganizationProfile"
    assert body["links"]["self"]["uri"] == "/profiles/organization"
    assert {"id", "companyName", "defaultAddress", "email", "language", "culture"} <= set(body)


def no_mfa_token(partner: Partner) -> str:
    user = partner.add_user("nomfa", mfa=False, admin=True)
    return str(sign_in_with_msal(partner, user=user)["access_token"])


def test_token_without_mfa_is_refused_with_900421_since_the_2026_enforcement(
    cloud: CloudDouble, partner: Partner
) -> None:
    response = profile(cloud, no_mfa_token(partner))
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "900421" and body["source"] == "PartnerFD"
    # The 2026 refusal need not say "MFA": clients must go by the code.
    assert "mfa" not in (response.text + response.headers["WWW-Authenticate"]).lower()


def test_token_without_mfa_in_the_older_form_says_mfa_required(
    cloud: CloudDouble, partner: Partner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cloud.partner_center, "mfa_refusal", "legacy")
    response = profile(cloud, no_mfa_token(partner))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert response.json()["description"] == "MFA required"
    assert response.json()["code"] == 10001


def test_token_without_mfa_as_a_claims_challenge(
    cloud: CloudDouble, partner: Partner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cloud.partner_center, "mfa_refusal", "claims")
    response = profile(cloud, no_mfa_token(partner))
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert 'error="insufficient_claims"' in challenge
    encoded = challenge.split('claims="')[1].rstrip('"')
    assert json.loads(base64.b64decode(encoded))["access_token"]["amr"]["values"] == ["mfa"]


def test_app_only_token_cannot_read_the_profile(cloud: CloudDouble, partner: Partner) -> None:
    cloud.add_service_principal(partner.tenant.id, partner.app.app_id)
    token = ClientSecretCredential(
        partner.tenant.id,
        partner.app.app_id,
        partner.secret,
        authority=cloud.authority_host,
        disable_instance_discovery=True,
    ).get_token(f"{wk.PARTNER_CENTER_RESOURCE}/.default")
    assert profile(cloud, token.token).status_code == 403


def test_token_for_another_resource_is_401(cloud: CloudDouble, partner: Partner) -> None:
    graph = sign_in_with_msal(partner, scopes=["https://graph.microsoft.com/User.Read"])
    assert profile(cloud, graph["access_token"]).status_code == 401
    assert profile(cloud, "not-a-jwt").status_code == 401
    missing = requests.get(f"{cloud.partner_center_endpoint}/v1/profiles/organization", timeout=10)
    assert missing.status_code == 401


def test_outage_and_throttling(cloud: CloudDouble, partner: Partner) -> None:
    token = sign_in_with_msal(partner)["access_token"]
    cloud.partner_center_down(True)
    assert profile(cloud, token).status_code == 503
    cloud.partner_center_down(False)
    cloud.inject_fault(r"/profiles/organization", status=429, retry_after=7, count=1)
    throttled = profile(cloud, token)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "7"
    assert profile(cloud, token).status_code == 200
    statuses = [r.status for r in cloud.requests if r.service == "partnercenter"]
    assert statuses == [503, 429, 200]


@pytest.mark.parametrize("form", ["current", "legacy", "claims"])
def test_the_product_tells_each_mfa_refusal_form_apart(
    cloud: CloudDouble, partner: Partner, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    monkeypatch.setattr(cloud.partner_center, "mfa_refusal", form)
    token = no_mfa_token(partner)
    with pytest.raises(SignInError) as caught:
        organization_profile(cloud.partner_center_endpoint, token)
    assert caught.value.error == "mfa_required" and caught.value.exit_code == 3
    line = caught.value.one_line()
    assert "did not satisfy MFA" in line and "Fix: enforce MFA for the admin account" in line
    assert "csp-secure-app consent" in line and token not in line


@pytest.mark.parametrize(("status", "body"), [
    (403, {"code": "900421", "description": "Forbidden.", "data": [], "source": "PartnerFD"}),
    (401, {"errorCode": 900421, "message": "Unauthorized."}),
    (401, {"error": {"code": "900421", "message": "Unauthorized."}}),
])
def test_a_900421_refusal_is_mfa_whatever_its_status_or_wrapping(
    cloud: CloudDouble, partner: Partner, status: int, body: dict[str, object]
) -> None:
    token = sign_in_with_msal(partner)["access_token"]
    cloud.inject_fault(r"/profiles/organization", status=status, count=1, retry_after=None,
                       service="partnercenter", body=json.dumps(body).encode())
    with pytest.raises(SignInError) as caught:
        organization_profile(cloud.partner_center_endpoint, token)
    assert caught.value.error == "mfa_required"
    assert "code 900421" in caught.value.one_line()


def test_other_refusals_are_not_taken_for_mfa(cloud: CloudDouble, partner: Partner) -> None:
    token = sign_in_with_msal(partner)["access_token"]
    body = {"code": "600021", "description": "Partner tenant not found.", "data": [],
            "source": "PartnerFD"}
    cloud.inject_fault(r"/profiles/organization", status=403, count=1, retry_after=None,
                       service="partnercenter", body=json.dumps(body).encode())
    with pytest.raises(SignInError) as caught:
        organization_profile(cloud.partner_center_endpoint, token)
    assert caught.value.error == "forbidden"
    assert "MFA" not in caught.value.one_line()
