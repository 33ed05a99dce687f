"""The double's Microsoft Graph: MFA registration report with paging, security defaults,
conditional access and application secrets, with Graph's permission checks."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from azure.identity import ClientSecretCredential

from clouddouble import CloudDouble
from foundation import wellknown as wk
from tests.support import Partner, make_partner, sign_in_with_msal

AUDIT_LOG_READ_ALL_ROLE = "b0afded3-3588-46d8-8b3d-9842eff778da"
POLICY_READ_ALL_ROLE = "246dd0d5-5bd0-4def-940b-0421030a5b68"
POLICY_RW_CA_ROLE = "01c0a623-fc9b-48e9-b794-0756f8e8f067"
APPLICATION_READ_ALL_ROLE = "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30"
GRAPH_ROLES = (
    wk.MICROSOFT_GRAPH_APP_ID,
    [
        (AUDIT_LOG_READ_ALL_ROLE, "Role"),
        (POLICY_READ_ALL_ROLE, "Role"),
        (POLICY_RW_CA_ROLE, "Role"),
        (APPLICATION_READ_ALL_ROLE, "Role"),
    ],
)


@pytest.fixture
def partner(cloud: CloudDouble) -> Partner:
    partner = make_partner(cloud, access=[GRAPH_ROLES])
    cloud.grant_admin_consent(partner.tenant.id, partner.app.app_id)
    return partner


def app_token(cloud: CloudDouble, partner: Partner) -> str:
    credential = ClientSecretCredential(
        partner.tenant.id,
        partner.app.app_id,
        partner.secret,
        authority=cloud.authority_host,
        disable_instance_discovery=True,
    )
    return credential.get_token("https://graph.microsoft.com/.default").token


URD = "/v1.0/reports/authenticationMethods/userRegistrationDetails"


def graph(
    cloud: CloudDouble, token: str, path: str, method: str = "GET", **kw: Any
) -> requests.Response:
    return requests.request(
        method,
        f"{cloud.graph_endpoint}{path}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
        **kw,
    )


def test_registration_details_are_paged(cloud: CloudDouble, partner: Partner) -> None:
    partner.add_user("registered", mfa=True)
    partner.add_user("unregistered", mfa=False)
    partner.add_user("third", mfa=False, admin=True)
    partner.add_user("fourth", mfa=True)
    token = app_token(cloud, partner)
    rows: list[dict[str, Any]] = []
    url = f"{cloud.graph_endpoint}/v1.0/reports/authenticationMethods/userRegistrationDetails"
    pages = 0
    while url:
        body = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
        rows += body["value"]
        url = body.get("@odata.nextLink")
        pages += 1
    assert pages == 3  # five users, two per page
    by_upn = {r["userPrincipalName"].split("@")[0]: r for r in rows}
    assert set(by_upn) == {"admin", "registered", "unregistered", "third", "fourth"}
    assert by_upn["registered"]["isMfaRegistered"] is True
    assert by_upn["unregistered"]["isMfaRegistered"] is False
    assert by_upn["unregistered"]["methodsRegistered"] == []
    assert by_upn["third"]["isAdmin"] is True


def read_report(cloud: CloudDouble, token: str, query: str = "") -> tuple[list[str], int]:
    """Every UPN of the report, following each @odata.nextLink whole, and the pages read."""
    url: str | None = f"{cloud.graph_endpoint}{URD}{query}"
    upns: list[str] = []
    pages = 0
    while url:
        body = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
        upns += [r["userPrincipalName"] for r in body["value"]]
        url = body.get("@odata.nextLink")
        pages += 1
    return upns, pages


def test_the_test_picks_the_page_size_and_top_only_lowers_it(
    cloud: CloudDouble, partner: Partner, monkeypatch: pytest.MonkeyPatch
) -> None:
    cloud.graph.add_users(partner.tenant.id, 9)
    token = app_token(cloud, partner)
    monkeypatch.setattr(cloud.graph, "page_size", 1)
    upns, pages = read_report(cloud, token)
    assert pages == 10 and len(set(upns)) == 10
    assert upns == sorted(upns, key=str.lower), "one order across the whole chain"
    monkeypatch.setattr(cloud.graph, "page_size", 4)
    assert read_report(cloud, token, "?$top=3") == (upns, 4)
    assert read_report(cloud, token, "?$top=50") == (upns, 3)
    assert graph(cloud, token, f"{URD}?$top=0").status_code == 400


def test_a_chain_pages_one_snapshot_a_new_chain_sees_new_users(
    cloud: CloudDouble, partner: Partner
) -> None:
    """The skiptoken is a cursor: users added while a chain is read do not shift its pages (no
    row twice, none skipped); the next chain, from the first page, lists them."""
    cloud.graph.add_users(partner.tenant.id, 5, prefix="m")
    token = app_token(cloud, partner)
    first = graph(cloud, token, URD).json()
    cloud.graph.add_users(partner.tenant.id, 3, prefix="a")  # sorts before every "m" user
    url, upns = first["@odata.nextLink"], [r["userPrincipalName"] for r in first["value"]]
    while url:
        body = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
        upns += [r["userPrincipalName"] for r in body["value"]]
        url = body.get("@odata.nextLink")
    assert len(upns) == len(set(upns)) == 6 and not any(u.startswith("a0") for u in upns)
    fresh, _ = read_report(cloud, token)
    assert len(fresh) == 9 and fresh[:3] == [f"a{n:06d}@{partner.tenant.initial_domain}"
                                             for n in range(3)]


def test_a_next_link_never_shows_another_tenants_users(cloud: CloudDouble,
                                                       partner: Partner) -> None:
    other = make_partner(cloud, access=[GRAPH_ROLES])
    cloud.grant_admin_consent(other.tenant.id, other.app.app_id)
    cloud.graph.add_users(partner.tenant.id, 4)
    link = graph(cloud, app_token(cloud, partner), URD).json()["@odata.nextLink"]
    body = requests.get(link, headers={"Authorization": f"Bearer {app_token(cloud, other)}"},
                        timeout=10).json()
    assert {r["userPrincipalName"].split("@")[1] for r in body["value"]} <= {
        other.tenant.initial_domain}
    assert graph(cloud, app_token(cloud, partner), f"{URD}?$skiptoken=x").status_code == 400


def test_a_tenant_of_100000_users_is_cheap_to_hold_and_to_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A double of its own: the session's must not carry 100,000 users into other tests."""
    with CloudDouble() as big:
        for name, value in big.env().items():
            monkeypatch.setenv(name, value)
        partner = make_partner(big, access=[GRAPH_ROLES])
        big.grant_admin_consent(partner.tenant.id, partner.app.app_id)
        added = big.graph.add_users(partner.tenant.id, 100_000, mfa=False)
        assert len(added) == 100_000 and big.directory.user(added[-1].upn) is added[-1]
        big.graph.page_size = 2_000
        upns, pages = read_report(big, app_token(big, partner))
    assert pages == 51 and len(set(upns)) == 100_001


def test_report_needs_audit_log_permission(cloud: CloudDouble) -> None:
    partner = make_partner(cloud)  # Partner Center only
    delegated = sign_in_with_msal(partner, scopes=["https://graph.microsoft.com/User.Read"])
    path = "/v1.0/reports/authenticationMethods/userRegistrationDetails"
    denied = graph(cloud, delegated["access_token"], path)
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "Authorization_RequestDenied"
    allowed = sign_in_with_msal(partner, scopes=["https://graph.microsoft.com/AuditLog.Read.All"])
    assert graph(cloud, allowed["access_token"], path).status_code == 200
    assert graph(cloud, "garbage", path).status_code == 401


CA = "/v1.0/identity/conditionalAccess/policies"
SD = "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy"


def ca_policy(state: str) -> dict[str, Any]:
    return {
        "displayName": f"Require MFA for admins ({state})",
        "state": state,
        "conditions": {"users": {"includeRoles": ["62e90394-69f5-4237-9190-012177145e10"]}},
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]},
    }


def test_report_only_policy_coexists_with_security_defaults_an_enabled_one_does_not(
    cloud: CloudDouble, partner: Partner
) -> None:
    """Learn, "Security defaults in Microsoft Entra ID": a policy can only be switched on once
    security defaults are off; report-only (what the program creates by default) can be made
    while they are on."""
    token = app_token(cloud, partner)
    assert graph(cloud, token, SD).json()["isEnabled"] is True
    report_only_policy = ca_policy("enabledForReportingButNotEnforced")
    report_only = graph(cloud, token, CA, "POST", json=report_only_policy)
    assert report_only.status_code == 201 and report_only.json()["id"]
    refused = graph(cloud, token, CA, "POST", json=ca_policy("enabled"))
    assert refused.status_code == 400
    assert "disable security defaults" in refused.json()["error"]["message"]
    assert partner.tenant.security_defaults is True
    assert graph(cloud, token, SD, "PATCH", json={"isEnabled": False}).status_code == 204
    assert graph(cloud, token, SD).json()["isEnabled"] is False
    created = graph(cloud, token, CA, "POST", json=ca_policy("enabled"))
    assert created.status_code == 201 and created.json()["id"]
    listed = graph(cloud, token, CA).json()["value"]
    assert [p["state"] for p in listed] == ["enabledForReportingButNotEnforced", "enabled"]


def test_security_defaults_cannot_come_back_while_a_policy_is_enabled(
    cloud: CloudDouble, partner: Partner
) -> None:
    token = app_token(cloud, partner)
    assert graph(cloud, token, SD, "PATCH", json={"isEnabled": False}).status_code == 204
    assert graph(cloud, token, CA, "POST", json=ca_policy("enabled")).status_code == 201
    refused = graph(cloud, token, SD, "PATCH", json={"isEnabled": True})
    assert refused.status_code == 400
    assert "Conditional Access policies are enabled" in refused.json()["error"]["message"]
    assert partner.tenant.security_defaults is False


def test_report_without_an_entra_premium_licence_is_refused_as_graph_does(
    cloud: CloudDouble, partner: Partner
) -> None:
    token = app_token(cloud, partner)
    cloud.graph.set_premium(partner.tenant.id, False)
    refused = graph(cloud, token, URD)
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
    assert error["message"] == "Neither tenant is B2C or tenant doesn't have premium license"
    cloud.graph.set_premium(partner.tenant.id)
    assert graph(cloud, token, URD).status_code == 200


AUDIT_LOG_READ_ALL_SCOPE = "e4c9e354-4dc5-45b8-9e7c-e1393b0b1a20"


def test_delegated_report_needs_a_reporting_role(cloud: CloudDouble) -> None:
    partner = make_partner(
        cloud, access=[(wk.MICROSOFT_GRAPH_APP_ID, [(AUDIT_LOG_READ_ALL_SCOPE, "Scope")])]
    )
    cloud.grant_admin_consent(partner.tenant.id, partner.app.app_id)
    member = partner.add_user("member", mfa=True, admin=False)
    scopes = ["https://graph.microsoft.com/AuditLog.Read.All"]
    token = sign_in_with_msal(partner, scopes=scopes, user=member)["access_token"]
    refused = graph(cloud, token, URD)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "Authentication_RequestFromUnsupportedUserRole"
    cloud.graph.assign_role(member.object_id, "Reports Reader")
    assert graph(cloud, token, URD).status_code == 200


def test_application_secrets_show_hint_and_expiry_never_the_value(
    cloud: CloudDouble, partner: Partner
) -> None:
    token = app_token(cloud, partner)
    body = graph(cloud, token, f"/v1.0/applications(appId='{partner.app.app_id}')").json()
    (cred,) = body["passwordCredentials"]
    assert cred["hint"] == partner.secret[:3]
    assert cred["endDateTime"].endswith("Z") and cred["keyId"]
    assert cred["secretText"] is None
    assert partner.secret not in str(body)
    missing = graph(
        cloud, token, "/v1.0/applications(appId='00000000-0000-0000-0000-000000000001')"
    )
    assert missing.status_code == 404


def test_percent_encoded_application_path(cloud: CloudDouble, partner: Partner) -> None:
    token = app_token(cloud, partner)
    path = f"/v1.0/applications(appId=%27{partner.app.app_id}%27)"
    assert graph(cloud, token, path).json()["appId"] == partner.app.app_id
