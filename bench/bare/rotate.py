"""The calls ``csp-secure-app rotate`` makes, bare: MSAL's discovery, the vault read (challenge,
the writer's token, GET), the refresh-token redemption, Partner Center's profile, the PUT."""

import datetime as dt

import _shared as bare
from azure.keyvault.secrets import SecretClient

session = bare.Session()
cpv = bare.cpv_client(session)
transport = bare.transport(session)
writer = bare.writer(transport)
vault = SecretClient(bare.env("KEY_VAULT_URL"), writer, verify_challenge_resource=False,
                     transport=transport)
name = bare.env("KEY_VAULT_SECRET_NAME")
current = vault.get_secret(name)
tokens = cpv.acquire_token_by_refresh_token(current.value, scopes=[bare.PARTNER_CENTER_SCOPE])
profile = session.get(f"{bare.env('PARTNER_CENTER_ENDPOINT')}/v1/profiles/organization",
                      headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=30)
profile.raise_for_status()
stored = vault.set_secret(name, tokens["refresh_token"], content_type=bare.CONTENT_TYPE,
                          tags=current.properties.tags,
                          expires_on=dt.datetime.now(dt.UTC) + dt.timedelta(days=90),
                          enabled=True)
bare.done(str(stored.id))
