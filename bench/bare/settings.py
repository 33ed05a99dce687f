"""The calls ``csp-secure-app settings`` makes, bare: the vault read with the writer's
credential (challenge, discovery and token, GET). The settings come from it and the inputs."""

import _shared as bare
from azure.keyvault.secrets import SecretClient

session = bare.Session()
transport = bare.transport(session)
writer = bare.writer(transport)
vault = SecretClient(bare.env("KEY_VAULT_URL"), writer, verify_challenge_resource=False,
                     transport=transport)
stored = vault.get_secret(bare.env("KEY_VAULT_SECRET_NAME"))
bare.done(f"Key Vault URL  {stored.id}?api-version=7.0")
