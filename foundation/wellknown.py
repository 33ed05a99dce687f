"""Well-known Microsoft application, permission and role ids, with their names.

One module so the Pulumi program, the consent flow and the tests agree on every id. Sources:
Microsoft Graph permissions reference, Partner Center secure application model docs, Azure
built-in roles.
"""

from __future__ import annotations

from typing import Final

# Applications (resource app ids).
PARTNER_CENTER_APP_ID: Final = "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd"
MICROSOFT_GRAPH_APP_ID: Final = "00000003-0000-0000-c000-000000000000"
AZURE_SERVICE_MANAGEMENT_APP_ID: Final = "797f4846-ba00-4fd7-ba43-dac1f8f63013"
#: Retired Azure AD Graph ("Windows Azure Active Directory" in old partner guides). Never requested.
LEGACY_AAD_GRAPH_APP_ID: Final = "00000002-0000-0000-c000-000000000000"

# Delegated permission (oauth2PermissionScope) ids.
PARTNER_CENTER_USER_IMPERSONATION: Final = "1cebfa2a-fb4d-419e-b5f9-839b4383e05a"
GRAPH_USER_READ: Final = "e1fe6dd8-ba31-4d61-89e7-88639da4683d"
GRAPH_DIRECTORY_ACCESS_AS_USER_ALL: Final = "0e263e50-5827-48a4-b97c-d940288653c7"
GRAPH_OFFLINE_ACCESS: Final = "7427e0e9-2fba-42fe-b0c0-848c9e6a8182"
GRAPH_OPENID: Final = "37f7f235-527c-4136-accd-4a02d197296e"
GRAPH_PROFILE: Final = "14dad69e-099b-42c9-810b-d002981feec1"
AZURE_SERVICE_MANAGEMENT_USER_IMPERSONATION: Final = "41094075-9dad-400e-a0bd-54e686782033"

# Application permission (app role) ids: what a pipeline identity needs for verify's checks.
GRAPH_APPLICATION_READ_ALL_ROLE: Final = "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30"
#: Application permission that lets the deploying identity read and switch security defaults (and
#: Conditional Access policies): what ``mfaEnforcement`` needs besides the Entra admin roles.
GRAPH_POLICY_READ_WRITE_CONDITIONAL_ACCESS_ROLE: Final = "01c0a623-fc9b-48e9-b794-0756f8e8f067"
#: verify's ``consent`` and ``conditional-access`` checks (Microsoft Graph permissions reference,
#: application permission ids): the CPV app's delegated grants (oauth2PermissionGrants), the
#: consenting admin's directory roles, the AdminAgents group's members, Conditional Access
#: policies and security defaults. Application.Read.All (above) reads the service principals.
GRAPH_DELEGATED_PERMISSION_GRANT_READ_ALL_ROLE: Final = "81b4724a-58aa-41c1-8a55-84ef97466587"
GRAPH_ROLE_MANAGEMENT_READ_DIRECTORY_ROLE: Final = "483bed4a-2ad3-4361-a73b-c83ccdbdc53c"
GRAPH_GROUP_MEMBER_READ_ALL_ROLE: Final = "98830695-27a2-44f7-8c18-0c3ebc9698f6"
GRAPH_POLICY_READ_ALL_ROLE: Final = "246dd0d5-5bd0-4def-940b-0421030a5b68"
#: Every Graph application permission the identity that runs ``verify`` needs, in the order the
#: README lists them (the pipeline identity requests exactly these: infra/pipeline_identity.py).
VERIFY_GRAPH_APP_ROLES: Final = (
    GRAPH_APPLICATION_READ_ALL_ROLE,
    GRAPH_DELEGATED_PERMISSION_GRANT_READ_ALL_ROLE,
    GRAPH_ROLE_MANAGEMENT_READ_DIRECTORY_ROLE,
    GRAPH_GROUP_MEMBER_READ_ALL_ROLE,
    GRAPH_POLICY_READ_ALL_ROLE,
)

# Entra built-in role template ids (Learn, "Microsoft Entra built-in roles"); for a built-in role
# a unifiedRoleAssignment's roleDefinitionId is its template id.
GLOBAL_ADMINISTRATOR_ROLE_TEMPLATE: Final = "62e90394-69f5-4237-9190-012177145e10"
#: The security group Partner Center keeps for its Admin agent role in the partner tenant: a
#: consent for the secure application model needs a Global Administrator who is a member.
ADMIN_AGENTS_GROUP: Final = "AdminAgents"

# Azure built-in role definition ids (RBAC access mode).
KEY_VAULT_SECRETS_USER_ROLE: Final = "4633458b-17de-408a-b874-0445c86b69e6"
KEY_VAULT_SECRETS_OFFICER_ROLE: Final = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"

#: Human names, for `csp-secure-app plan` output and error messages.
NAMES: Final[dict[str, str]] = {
    PARTNER_CENTER_APP_ID: "Partner Center API",
    MICROSOFT_GRAPH_APP_ID: "Microsoft Graph",
    AZURE_SERVICE_MANAGEMENT_APP_ID: "Azure Service Management",
    LEGACY_AAD_GRAPH_APP_ID: "Azure AD Graph (retired)",
    PARTNER_CENTER_USER_IMPERSONATION: "Partner Center user_impersonation",
    GRAPH_USER_READ: "Graph User.Read",
    GRAPH_DIRECTORY_ACCESS_AS_USER_ALL: "Graph Directory.AccessAsUser.All",
    GRAPH_OFFLINE_ACCESS: "Graph offline_access",
    GRAPH_OPENID: "Graph openid",
    GRAPH_PROFILE: "Graph profile",
    AZURE_SERVICE_MANAGEMENT_USER_IMPERSONATION: "Azure Service Management user_impersonation",
    GRAPH_APPLICATION_READ_ALL_ROLE: "Graph Application.Read.All (application)",
    GRAPH_POLICY_READ_WRITE_CONDITIONAL_ACCESS_ROLE: (
        "Graph Policy.ReadWrite.ConditionalAccess (application)"
    ),
    GRAPH_DELEGATED_PERMISSION_GRANT_READ_ALL_ROLE: (
        "Graph DelegatedPermissionGrant.Read.All (application)"
    ),
    GRAPH_ROLE_MANAGEMENT_READ_DIRECTORY_ROLE: "Graph RoleManagement.Read.Directory (application)",
    GRAPH_GROUP_MEMBER_READ_ALL_ROLE: "Graph GroupMember.Read.All (application)",
    GRAPH_POLICY_READ_ALL_ROLE: "Graph Policy.Read.All (application)",
    GLOBAL_ADMINISTRATOR_ROLE_TEMPLATE: "Global Administrator",
    KEY_VAULT_SECRETS_USER_ROLE: "Key Vault Secrets User",
    KEY_VAULT_SECRETS_OFFICER_ROLE: "Key Vault Secrets Officer",
}

# Protocol constants.
PARTNER_CENTER_RESOURCE: Final = "https://api.partnercenter.microsoft.com"
PARTNER_CENTER_SCOPE: Final = f"{PARTNER_CENTER_RESOURCE}/user_impersonation"
DEFAULT_REDIRECT_PORT: Final = 8400


def loopback_redirect_uri(port: int = DEFAULT_REDIRECT_PORT) -> str:
    """The loopback redirect URI an app registers, with the slash: Entra stores a URI without a
    path that way, and the provider behind pulumi-azuread refuses one without it
    (terraform-provider-azuread ``internal/helpers/tf/validation/uri.go``)."""
    return f"http://localhost:{port}/"

#: A Partner Center refresh token's lifetime (rolling): each redemption gives a new 90-day token.
REFRESH_TOKEN_LIFETIME_DAYS: Final = 90
#: The api-version automation platforms quote in the module setting "Key Vault URL".
PLATFORM_KEY_VAULT_API_VERSION: Final = "7.0"
#: Workload identity federation: the ``aud`` a pipeline's OIDC token must carry for Entra ID to
#: exchange it, per cloud (Microsoft Learn, "Configure an app to trust an external identity
#: provider"). A token minted for this audience is useless anywhere else, and a token minted for
#: another service is refused here.
TOKEN_EXCHANGE_AUDIENCES: Final[dict[str, str]] = {
    "public": "api://AzureADTokenExchange",
    "usgov": "api://AzureADTokenExchangeUSGov",
    "china": "api://AzureADTokenExchangeChina",
}
#: Tags on each stored version of the token (Key Vault secret tags: at most 15 per version, values
#: of at most 256 characters; Learn, "About Azure Key Vault secrets", Secret tags), ISO 8601, UTC:
#: when the admin's MFA sign-in behind the token happened (consent sets it; rotate copies it, since
#: a redemption is no new sign-in); when the stored token itself was issued (the sign-in or the
#: redemption that returned it: its 90 days count from then, and a later redemption whose new
#: token is thrown away, verify's or the platform's, does not extend them); and when the token was
#: last redeemed successfully (at store time, then by verify when its identity may write: a sign of
#: life, not a new lease). verify's ``liveness`` check forecasts the token's death from the first
#: two.
MFA_SIGN_IN_AT_TAG: Final = "mfaSignInAt"
ISSUED_AT_TAG: Final = "issuedAt"
LAST_REDEEMED_AT_TAG: Final = "lastRedeemedAt"
#: Content type of the token secret's versions; the Pulumi placeholder uses it too, so the
#: platform (and a human in the portal) can tell what the secret holds.
TOKEN_CONTENT_TYPE: Final = "application/vnd.partnercenter.refresh-token"  # noqa: S105
#: Key Vault control-plane API version for the vault, its access and the token secret. Versions
#: before 2026-02-01 stop being served on 2027-02-27, with no extension (Microsoft Learn, "Key
#: Vault: migrate API version"); the data plane (secret get/set) is not affected.
KEY_VAULT_CONTROL_PLANE_API_VERSION: Final = "2026-02-01"
#: The Microsoft.Authorization API pulumi-azure-native 3.x's RoleAssignment uses (its docstring).
ARM_ROLE_ASSIGNMENT_API_VERSION: Final = "2022-04-01"
