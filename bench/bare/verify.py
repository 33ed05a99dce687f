"""The calls ``csp-secure-app verify`` makes, bare, in its order: MSAL's discovery, the vault read
as the platform (challenge, the Key Vault client app's token, GET), the redemption, Partner
Center's profile, the writer's Graph token and the Key Vault client app's secrets from Graph;
then the outlook checks: Partner Center's two MFA reports (partner-center-mfa), with the same
Graph token the CPV app's and Partner Center's service principals, the CPV app's delegated
grants, the consenting admin's roles, AdminAgents and its members (consent), the Conditional
Access policies and security defaults (conditional-access), and the writer's vault token and the
PATCH of the version's tags recording the redemption (liveness)."""

import base64
import datetime as dt
import json
from typing import Any

import _shared as bare
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient

session = bare.Session()
cpv = bare.cpv_client(session)
transport = bare.transport(session)
platform = ClientSecretCredential(
    bare.env("KV_CLIENT_CSP_DOMAIN"), bare.env("KV_CLIENT_APP_ID"),
    bare.env("KV_CLIENT_APP_SECRET"), authority=bare.authority_host(),
    disable_instance_discovery=True, transport=transport)
vault = SecretClient(bare.env("KEY_VAULT_URL"), platform, verify_challenge_resource=False,
                     transport=transport)
stored = vault.get_secret(bare.env("KEY_VAULT_SECRET_NAME"))
tokens = cpv.acquire_token_by_refresh_token(stored.value, scopes=[bare.PARTNER_CENTER_SCOPE])
partner_center = bare.env("PARTNER_CENTER_ENDPOINT")
pc_auth = {"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"}
profile = session.get(f"{partner_center}/v1/profiles/organization", headers=pc_auth, timeout=30)
writer = bare.writer(transport)
graph_url = f"{bare.env('GRAPH_ENDPOINT')}/v1.0"


def graph(path: str, token: str) -> Any:
    return session.get(f"{graph_url}{path}", timeout=30, headers={
        "Authorization": f"Bearer {token}", "Accept": "application/json"}).json()


token = writer.get_token(bare.GRAPH_SCOPE).token
app = graph(f"/applications(appId='{bare.env('KV_CLIENT_APP_ID')}')", token)
now = dt.datetime.now(dt.UTC)
since = (now - dt.timedelta(days=7)).date().isoformat()
adoption = session.get(f"{partner_center}/v1/applicationmfaadoptionstatus?startDate={since}"
                       f"&endDate={now.date().isoformat()}", headers=pc_auth, timeout=30).json()
principals = session.get(f"{partner_center}/v1/nonMfaCompliantPartnerPrincipals",
                         headers=pc_auth, timeout=30).json()
select = "?$select=id,appId,displayName,accountEnabled"
sp = graph(f"/servicePrincipals(appId='{bare.env('CPV_APP_ID')}'){select}", token)
pc_sp = graph(f"/servicePrincipals(appId='{bare.PARTNER_CENTER_APP_ID}'){select}", token)
grants = graph(f"/oauth2PermissionGrants?$filter=clientId eq '{sp['id']}'", token)
payload = tokens["access_token"].split(".")[1]
oid = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["oid"]
roles = graph(f"/roleManagement/directory/roleAssignments?$filter=principalId eq '{oid}'", token)
[group] = graph("/groups?$filter=displayName eq 'AdminAgents'&$select=id,displayName",
                token)["value"]
members = graph(f"/groups/{group['id']}/members?$select=id,userPrincipalName,displayName", token)
policies = graph("/identity/conditionalAccess/policies", token)
defaults = graph("/policies/identitySecurityDefaultsEnforcementPolicy", token)
recorder = SecretClient(bare.env("KEY_VAULT_URL"), writer, verify_challenge_resource=False,
                        transport=transport)
recorded = recorder.update_secret_properties(
    bare.env("KEY_VAULT_SECRET_NAME"), str(stored.properties.version),
    tags={**(stored.properties.tags or {}),
          "lastRedeemedAt": now.replace(microsecond=0).isoformat()})
ends = [c.get("endDateTime") for c in app.get("passwordCredentials", [])]
bare.done(f"{stored.properties.version} {profile.json().get('companyName')} {max(ends)} "
          f"{len(adoption)} {len(principals['items'])} {len(grants['value'])} "
          f"{len(roles['value'])} {len(members['value'])} {len(policies['value'])} "
          f"{defaults.get('isEnabled')} {(recorded.tags or {}).get('lastRedeemedAt')}")
