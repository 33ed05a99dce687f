"""The double's Graph directory reads (clouddouble/graph_directory.py): service principals,
delegated grants, directory role assignments, groups and their members, with Graph's permission
checks, filters, limited member information and paging."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from azure.identity import ClientSecretCredential

from clouddouble import CloudDouble, DirectoryError
from clouddouble.graph_directory import APP_ROLES, GLOBAL_ADMINISTRATOR
from foundation import wellknown as wk
from tests.support import PC_ACCESS, Partner, make_partner

READERS = ("Application.Read.All", "DelegatedPermissionGrant.Read.All",
           "RoleManagement.Read.Directory", "GroupMember.Read.All", "Policy.Read.All")


def graph_roles(cloud: CloudDouble, *names: str) -> tuple[str, list[tuple[str, str]]]:
    ids = {p.name: p.id for p in cloud.catalog.graph.permissions if p.kind == "Role"}
    return wk.MICROSOFT_GRAPH_APP_ID, [(ids[n], "Role") for n in names]


def partner_with(cloud: CloudDouble, *names: str) -> Partner:
    """A partner whose own app holds Partner Center user_impersonation (delegated, admin
    consented for the organization) and the named Graph application permissions."""
    partner = make_partner(cloud, access=[PC_ACCESS, graph_roles(cloud, *names)])
    cloud.grant_admin_consent(partner.tenant.id, partner.app.app_id)
    return partner


def token(cloud: CloudDouble, partner: Partner) -> str:
    credential = ClientSecretCredential(partner.tenant.id, partner.app.app_id, partner.secret,
                                        authority=cloud.authority_host,
                                        disable_instance_discovery=True)
    return credential.get_token("https://graph.microsoft.com/.default").token


def get(cloud: CloudDouble, bearer: str, path: str, **params: str) -> requests.Response:
    return requests.get(f"{cloud.graph_endpoint}{path}", params=params or None, timeout=10,
                        headers={"Authorization": f"Bearer {bearer}"})


def every(cloud: CloudDouble, bearer: str, path: str, **params: str) -> list[dict[str, Any]]:
    resp = get(cloud, bearer, path, **params)
    rows: list[dict[str, Any]] = []
    while True:
        assert resp.status_code == 200, resp.text
        body = resp.json()
        rows += body["value"]
        if "@odata.nextLink" not in body:
            return rows
        resp = requests.get(body["@odata.nextLink"], timeout=10,
                            headers={"Authorization": f"Bearer {bearer}"})


def test_the_doubles_role_ids_are_the_products() -> None:
    ids = dict(APP_ROLES)
    grants = wk.GRAPH_DELEGATED_PERMISSION_GRANT_READ_ALL_ROLE
    assert ids["DelegatedPermissionGrant.Read.All"] == grants
    assert ids["RoleManagement.Read.Directory"] == wk.GRAPH_ROLE_MANAGEMENT_READ_DIRECTORY_ROLE
    assert ids["GroupMember.Read.All"] == wk.GRAPH_GROUP_MEMBER_READ_ALL_ROLE
    assert GLOBAL_ADMINISTRATOR == wk.GLOBAL_ADMINISTRATOR_ROLE_TEMPLATE


def test_the_catalog_holds_every_role_verify_needs(cloud: CloudDouble) -> None:
    roles = {p.id: p.name for p in cloud.catalog.graph.permissions if p.kind == "Role"}
    assert [roles[r] for r in wk.VERIFY_GRAPH_APP_ROLES] == list(READERS)


def test_service_principals_by_app_id(cloud: CloudDouble) -> None:
    partner = partner_with(cloud, *READERS)
    other = partner_with(cloud, *READERS)
    bearer = token(cloud, partner)
    path = f"/v1.0/servicePrincipals(appId='{partner.app.app_id}')"
    sp = get(cloud, bearer, path).json()
    assert sp["appId"] == partner.app.app_id and sp["accountEnabled"] is True
    assert sp["id"] == cloud.directory.service_principal(partner.tenant.id,
                                                         partner.app.app_id).object_id
    assert set(get(cloud, bearer, path, **{"$select": "id,accountEnabled"}).json()) == {
        "@odata.context", "id", "accountEnabled"}
    cloud.graph.objects.disable_service_principal(partner.tenant.id, partner.app.app_id)
    assert get(cloud, bearer, path).json()["accountEnabled"] is False
    # Microsoft's own apps are in every tenant, at each tenant's own object id.
    pc = f"/v1.0/servicePrincipals(appId='{wk.PARTNER_CENTER_APP_ID}')"
    here, there = get(cloud, bearer, pc).json(), get(cloud, token(cloud, other), pc).json()
    assert here["displayName"] == "Partner Center API" and here["id"] != there["id"]
    nobody = "00000000-0000-4000-8000-000000000001"
    missing = get(cloud, bearer, f"/v1.0/servicePrincipals(appId='{nobody}')")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "Request_ResourceNotFound"


def test_delegated_grants_name_service_principal_object_ids(cloud: CloudDouble) -> None:
    partner = partner_with(cloud, *READERS)
    bearer = token(cloud, partner)
    sp = get(cloud, bearer, f"/v1.0/servicePrincipals(appId='{partner.app.app_id}')").json()
    pc = get(cloud, bearer, f"/v1.0/servicePrincipals(appId='{wk.PARTNER_CENTER_APP_ID}')").json()
    [grant] = every(cloud, bearer, "/v1.0/oauth2PermissionGrants",
                    **{"$filter": f"clientId eq '{sp['id']}'"})
    assert grant["consentType"] == "AllPrincipals" and grant["principalId"] is None
    assert grant["resourceId"] == pc["id"] and grant["scope"] == "user_impersonation"
    cloud.revoke_consent(partner.tenant.id, partner.app.app_id)
    assert every(cloud, bearer, "/v1.0/oauth2PermissionGrants",
                 **{"$filter": f"clientId eq '{sp['id']}'"}) == []
    bad = get(cloud, bearer, "/v1.0/oauth2PermissionGrants", **{"$filter": "scope eq 'x'"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "Request_UnsupportedQuery")


@pytest.mark.parametrize(("path", "needs"), [
    ("/v1.0/oauth2PermissionGrants", "DelegatedPermissionGrant.Read.All"),
    ("/v1.0/roleManagement/directory/roleAssignments", "RoleManagement.Read.Directory"),
    ("/v1.0/groups", "GroupMember.Read.All"),
])
def test_each_read_needs_its_permission(cloud: CloudDouble, path: str, needs: str) -> None:
    partner = partner_with(cloud, *(r for r in READERS if r != needs))
    refused = get(cloud, token(cloud, partner), path)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "Authorization_RequestDenied"


def test_role_assignments_follow_global_admins_and_removals(cloud: CloudDouble) -> None:
    partner = partner_with(cloud, *READERS)
    bearer = token(cloud, partner)
    path = "/v1.0/roleManagement/directory/roleAssignments"
    mine = {"$filter": f"principalId eq '{partner.admin.object_id}'"}
    [assignment] = every(cloud, bearer, path, **mine)
    assert assignment["roleDefinitionId"] == GLOBAL_ADMINISTRATOR
    assert assignment["directoryScopeId"] == "/"
    helper = partner.add_user("helper")
    cloud.graph.objects.assign_role(partner.tenant.id, helper.object_id, GLOBAL_ADMINISTRATOR)
    cloud.graph.objects.remove_role(partner.tenant.id, partner.admin.object_id)
    assert every(cloud, bearer, path, **mine) == []
    holders = every(cloud, bearer, path,
                    **{"$filter": f"roleDefinitionId eq '{GLOBAL_ADMINISTRATOR}'"})
    assert [h["principalId"] for h in holders] == [helper.object_id]


def test_partner_groups_and_limited_member_information(cloud: CloudDouble) -> None:
    partner = partner_with(cloud, *READERS)
    bearer = token(cloud, partner)
    [agents] = every(cloud, bearer, "/v1.0/groups", **{"$filter": "displayName eq 'adminagents'"})
    assert agents["displayName"] == "AdminAgents"
    [member] = every(cloud, bearer, f"/v1.0/groups/{agents['id']}/members")
    # No permission to read users: Graph gives the member's type and id only.
    assert member == {"@odata.type": "#microsoft.graph.user", "id": partner.admin.object_id,
                      "displayName": None, "userPrincipalName": None}
    reader = partner_with(cloud, *READERS, "User.Read.All")
    cloud.graph.objects.add_member(reader.tenant.id, "AdminAgents", reader.admin.object_id)
    [agents] = every(cloud, token(cloud, reader), "/v1.0/groups",
                     **{"$filter": "displayName eq 'AdminAgents'"})
    [member] = every(cloud, token(cloud, reader), f"/v1.0/groups/{agents['id']}/members")
    assert member["userPrincipalName"] == reader.admin.upn


def test_transitive_members_are_flattened_and_paged(cloud: CloudDouble) -> None:
    partner = partner_with(cloud, *READERS)
    bearer = token(cloud, partner)
    people = [partner.add_user(f"agent{n}") for n in range(5)]
    inner = cloud.graph.objects.add_group(partner.tenant.id, "Tier 2",
                                          [p.object_id for p in people])
    outer = cloud.graph.objects.add_group(partner.tenant.id, "Support", [inner.id])
    direct = every(cloud, bearer, f"/v1.0/groups/{outer.id}/members")
    assert [m["id"] for m in direct] == [inner.id]
    flat = every(cloud, bearer, f"/v1.0/groups/{outer.id}/transitiveMembers",
                 **{"$select": "id"})
    assert {m["id"] for m in flat} == {inner.id, *(p.object_id for p in people)}
    cloud.graph.objects.remove_member(partner.tenant.id, "Tier 2", people[0].object_id)
    flat = every(cloud, bearer, f"/v1.0/groups/{outer.id}/transitiveMembers")
    assert people[0].object_id not in {m["id"] for m in flat}


def test_an_enabled_policy_needs_security_defaults_off(cloud: CloudDouble) -> None:
    partner = partner_with(cloud, *READERS)
    policy = {"displayName": "sign-in frequency", "state": "enabled",
              "conditions": {"users": {"includeUsers": ["All"]},
                             "applications": {"includeApplications": ["All"]}}}
    with pytest.raises(DirectoryError):
        cloud.graph.objects.add_ca_policy(partner.tenant.id, policy)
    cloud.graph.objects.set_security_defaults(partner.tenant.id, False)
    stored = cloud.graph.objects.add_ca_policy(partner.tenant.id, policy)
    [listed] = every(cloud, token(cloud, partner), "/v1.0/identity/conditionalAccess/policies")
    assert listed["id"] == stored["id"] and listed["state"] == "enabled"
    with pytest.raises(DirectoryError):
        cloud.graph.objects.set_security_defaults(partner.tenant.id, True)
