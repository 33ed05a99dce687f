"""verify's ``consent`` check: does the partner tenant still hold the consent the stored token
stands on, and could the admin who gave it give it again?

A refresh token outlives the consent behind it only until its next redemption: once the CPV app's
service principal is deleted from the partner tenant, or its delegated grant no longer covers
Partner Center ``user_impersonation``, Entra refuses the next redemption with AADSTS65001
("DelegationDoesNotExist"), and a disabled service principal with AADSTS7000112 (Learn,
"Microsoft Entra authentication and authorization error codes"). Losing a role is different:
Entra checks Global Administrator and Partner Center its AdminAgents group when they are used,
not when a token is redeemed, so the token keeps working; the next consent (at the latest in 90
days) must then be given by someone who has both, and the check names them.

Graph reads (the runner's app-only token; Learn, each API's "Permissions" table):

* ``GET /v1.0/servicePrincipals(appId='{id}')``: Application.Read.All;
* ``GET /v1.0/oauth2PermissionGrants?$filter=clientId eq '{spObjectId}'``: its ``resourceId`` is
  Partner Center's service principal object id (found the same way), its ``scope`` the
  space-separated delegated permissions ("oAuth2PermissionGrant resource type"):
  DelegatedPermissionGrant.Read.All;
* ``GET /v1.0/roleManagement/directory/roleAssignments?$filter=principalId eq '{oid}'`` (and, to
  name who could consent instead, ``roleDefinitionId eq '{Global Administrator}'``): for a
  built-in role ``roleDefinitionId`` is the template id; RoleManagement.Read.Directory. Roles held
  through a role-assignable group are not followed (the assignment names the group);
* ``GET /v1.0/groups?$filter=displayName eq 'AdminAgents'`` then ``/groups/{id}/members``:
  GroupMember.Read.All. Without a permission to read users, Graph gives members "with limited
  information" (id only), so a candidate is named by object id when no name comes back.

Who consented: the redemption's access token (``oid``, ``upn``); without a redemption that is not
known, and the check says its roles could not be checked rather than calling them fine.
"""

from __future__ import annotations

from typing import Any

from foundation.errors import SecureAppError
from foundation.text import printable
from foundation.wellknown import (
    ADMIN_AGENTS_GROUP,
    GLOBAL_ADMINISTRATOR_ROLE_TEMPLATE,
    PARTNER_CENTER_APP_ID,
)
from scripts.adapters import graph
from scripts.flows.verify.outlook import ROLE_READ, Outlook, could_not
from scripts.flows.verify.report import Check

NAME = "consent"
SCOPE = "user_impersonation"
APPLICATION_READ = "Application.Read.All"
GRANT_READ = "DelegatedPermissionGrant.Read.All"
GROUP_READ = "GroupMember.Read.All"
CONSENT_FIX = ("a Global Administrator of the partner tenant who is an Admin Agent (a member of "
               "AdminAgents) runs 'csp-secure-app consent' again")


def check(outlook: Outlook) -> list[Check]:
    try:
        return [_consent(outlook, outlook.graph_token())]
    except SecureAppError as exc:
        return [could_not(NAME, exc)]


def _consent(outlook: Outlook, token: str) -> Check:
    app_id, tenant = outlook.app.app_id, outlook.app.csp_domain
    sp = _service_principal(outlook, token, app_id)
    if sp is None:
        return Check(NAME, "broken", f"the CPV app {app_id} has no service principal in {tenant}: "
                     "its consent was removed (the enterprise application was deleted), and the "
                     "next redemption fails with AADSTS65001", CONSENT_FIX)
    sp_id, sp_name = str(sp.get("id", "")), printable(str(sp.get("displayName") or app_id))
    if sp.get("accountEnabled") is False:
        return Check(NAME, "broken", f"the CPV app's service principal {sp_id} ('{sp_name}') is "
                     "disabled: every sign-in and redemption for it fails (AADSTS7000112)",
                     f"enable it again: Entra admin center > Enterprise applications > {sp_name} "
                     "> Properties > 'Enabled for users to sign-in?' Yes")
    who = outlook.tokens.claims if outlook.tokens else None
    oid = who.object_id if who else ""
    granted = _grant(outlook, token, sp_id, oid)
    if granted is not None:
        return Check(NAME, "broken", granted, CONSENT_FIX)
    found = f"service principal {sp_id} enabled; Partner Center {SCOPE} granted"
    if who is None or not oid:
        return Check(NAME, "unknown", f"{found}; who consented is not known (the stored token "
                     "could not be redeemed), so their roles were not checked",
                     "fix the token redemption first (see its check), then run verify again")
    user = printable(who.user or oid)
    return _roles(outlook, token, oid, user, found)


def _service_principal(outlook: Outlook, token: str, app_id: str) -> dict[str, Any] | None:
    return graph.read_object(outlook.endpoints, f"/v1.0/servicePrincipals(appId='{app_id}')"
                             "?$select=id,appId,displayName,accountEnabled", token,
                             permission=APPLICATION_READ)


def _grant(outlook: Outlook, token: str, sp_id: str, oid: str) -> str | None:
    """What is wrong with the CPV app's delegated grant on Partner Center, or None. The grant
    that counts is the organization's (``AllPrincipals``) or the consenting admin's own."""
    partner_center = _service_principal(outlook, token, PARTNER_CENTER_APP_ID)
    grants = graph.read_collection(
        outlook.endpoints, f"/v1.0/oauth2PermissionGrants?$filter=clientId eq '{sp_id}'", token,
        permission=GRANT_READ)
    pc_id = str(partner_center.get("id", "")).lower() if partner_center else ""
    scopes: set[str] = set()
    others = False
    for grant in grants:
        if str(grant.get("resourceId", "")).lower() != pc_id or not pc_id:
            continue
        mine = (grant.get("consentType") == "AllPrincipals" or not oid
                or str(grant.get("principalId", "")).lower() == oid.lower())
        if mine:
            scopes |= {s.lower() for s in str(grant.get("scope") or "").split()}
        else:
            others = True
    if SCOPE in scopes:
        return None
    if scopes:
        has = printable(" ".join(sorted(scopes)))
        what = f"grants '{has}' but not {SCOPE}"
    elif others:
        what = "is only another user's, not the consenting admin's nor the organization's"
    else:
        what = "is gone"
    return (f"the CPV app's delegated grant on Partner Center {what}: the next redemption fails "
            "with AADSTS65001")


def _roles(outlook: Outlook, token: str, oid: str, user: str, found: str) -> Check:
    ep = outlook.endpoints
    assignments = outlook.role_assignments(oid)
    global_admin = any(_is_global_admin(a) for a in assignments)
    members, has_group = _admin_agents(outlook, token)
    agent = oid.lower() in members
    lost = ([] if global_admin else ["a Global Administrator"]) + (
        [] if agent else [f"an Admin Agent (a member of {ADMIN_AGENTS_GROUP})" if has_group
                          else f"an Admin Agent (the tenant has no {ADMIN_AGENTS_GROUP} group)"])
    if not lost:
        return Check(NAME, "ok", f"{found}; {user}, who consented, is a Global Administrator and "
                     "an Admin Agent")
    holders = graph.read_collection(
        ep, "/v1.0/roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq "
        f"'{GLOBAL_ADMINISTRATOR_ROLE_TEMPLATE}'", token, permission=ROLE_READ)
    admins = {str(a.get("principalId", "")).lower() for a in holders if _is_global_admin(a)}
    both = [name for member, name in members.items() if member in admins and member != oid.lower()]
    who = (f"someone who is both: {', '.join(both)}" if both else
           f"someone who is both (no one in {outlook.app.csp_domain} is, now)")
    fix = (f"the next 'csp-secure-app consent' must be run by {both[0]}" +
           (" (or another of them)" if len(both) > 1 else "") if both else
           f"make a Global Administrator an Admin Agent (Partner Center > Account settings > "
           f"User management, or add them to {ADMIN_AGENTS_GROUP}) before the next consent")
    return Check(NAME, "warning", f"{found}; {user}, who consented, is no longer "
                 f"{' nor '.join(lost)}: the stored token still works, but the next consent must "
                 f"be given by {who}", fix)


def _is_global_admin(assignment: dict[str, Any]) -> bool:
    role = str(assignment.get("roleDefinitionId", "")).lower()
    return role == GLOBAL_ADMINISTRATOR_ROLE_TEMPLATE and assignment.get(
        "directoryScopeId", "/") in ("/", None)


def _admin_agents(outlook: Outlook, token: str) -> tuple[dict[str, str], bool]:
    """AdminAgents' members (object id -> the best name Graph gives), and whether it exists."""
    groups = graph.read_collection(
        outlook.endpoints, f"/v1.0/groups?$filter=displayName eq '{ADMIN_AGENTS_GROUP}'"
        "&$select=id,displayName", token, permission=GROUP_READ)
    members: dict[str, str] = {}
    for group in groups:
        for member in graph.read_collection(
                outlook.endpoints, f"/v1.0/groups/{group.get('id', '')}/members"
                "?$select=id,userPrincipalName,displayName", token, permission=GROUP_READ):
            ident = str(member.get("id", "")).lower()
            name = member.get("userPrincipalName") or member.get("displayName") or ident
            if ident:
                members[ident] = printable(str(name))
    return members, bool(groups)
