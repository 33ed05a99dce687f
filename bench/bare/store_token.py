"""The calls ``csp-secure-app store-token --from-file PATH`` makes, bare: read the kept file,
the vault write with the writer's credential (challenge, discovery and token, PUT), delete it."""

import datetime as dt
import json
import os
import sys

import _shared as bare
from azure.keyvault.secrets import SecretClient

path = sys.argv[sys.argv.index("--from-file") + 1]
with open(path, encoding="utf-8") as handle:
    kept = json.load(handle)
session = bare.Session()
transport = bare.transport(session)
writer = bare.writer(transport)
vault = SecretClient(kept["vault_url"], writer, verify_challenge_resource=False,
                     transport=transport)
stored = vault.set_secret(kept["secret_name"], kept["refresh_token"],
                          content_type=bare.CONTENT_TYPE,
                          tags={"source": "store-token", "tenantId": kept["tenant_id"]},
                          expires_on=dt.datetime.now(dt.UTC) + dt.timedelta(days=90),
                          enabled=True)
os.remove(path)
bare.done(str(stored.id))
