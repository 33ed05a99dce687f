"""The calls ``csp-secure-app verify`` makes, bare: MSAL's discovery, the vault read as the
platform (challenge, the Key Vault client app's token, GET), the redemption, Partner Center's
profile, the writer's Graph token and the Key Vault client app's secrets from Graph."""

import _shared as bare
import msal
from azure.identity import ClientSecretCredential, DefaultAzureCredential
from azure.keyvault.secrets import SecretClient

session = bare.Session()
cpv = msal.ConfidentialClientApplication(
    bare.env("CPV_APP_ID"), client_credential=bare.env("CPV_APP_SECRET"),
    authority=f"{bare.authority_host()}/{bare.env('CSP_DOMAIN')}", instance_discovery=False,
    http_client=session)
transport = bare.transport(session)
platform = ClientSecretCredential(
    bare.env("KV_CLIENT_CSP_DOMAIN"), bare.env("KV_CLIENT_APP_ID"),
    bare.env("KV_CLIENT_APP_SECRET"), authority=bare.authority_host(),
    disable_instance_discovery=True, transport=transport)
vault = SecretClient(bare.env("KEY_VAULT_URL"), platform, verify_challenge_resource=False,
                     transport=transport)
stored = vault.get_secret(bare.env("KEY_VAULT_SECRET_NAME"))
tokens = cpv.acquire_token_by_refresh_token(stored.value, scopes=[bare.PARTNER_CENTER_SCOPE])
profile = session.get(f"{bare.env('PARTNER_CENTER_ENDPOINT')}/v1/profiles/organization",
                      headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=30)
profile.raise_for_status()
writer = DefaultAzureCredential(authority=bare.authority_host(), disable_instance_discovery=True,
                                exclude_interactive_browser_credential=True, transport=transport)
graph = writer.get_token(bare.GRAPH_SCOPE).token
app = session.get(
    f"{bare.env('GRAPH_ENDPOINT')}/v1.0/applications(appId='{bare.env('KV_CLIENT_APP_ID')}')",
    headers={"Authorization": f"Bearer {graph}"}, timeout=30)
app.raise_for_status()
ends = [c.get("endDateTime") for c in app.json().get("passwordCredentials", [])]
bare.done(f"{stored.properties.version} {profile.json().get('companyName')} {max(ends)}")
