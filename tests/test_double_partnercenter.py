"""The double's Partner Center: the organization profile call that proves a token works, with
MFA enforcement, app-only refusal, outages and injected throttling."""

from __future__ import annotations

import pytest
import requests
from azure.identity import ClientSecretCredential

from clouddouble import CloudDouble
from scripts import wellknown as wk
from tests.helpers import Partner, make_partner, sign_in_with_msal


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


def test_token_without_mfa_is_refused_with_mfa_required(
    cloud: CloudDouble, partner: Partner
) -> None:
    user = partner.add_user("nomfa", mfa=False, admin=True)
    token = sign_in_with_msal(partner, user=user)["access_token"]
    response = profile(cloud, token)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert response.json()["description"] == "MFA required"


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
