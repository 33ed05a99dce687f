"""The calls ``csp-secure-app settings`` makes, bare: the vault read with the writer's
credential (challenge, discovery and token, GET). The settings come from it and the inputs."""

import _shared as bare
from azure.identity import DefaultAzureCredential
from azure.keyvault.secrets import SecretClient

session = bare.Session()
transport = bare.transport(session)
writer = DefaultAzureCredential(authority=bare.authority_host(), disable_instance_discovery=True,
                                exclude_interactive_browser_credential=True, transport=transport)
vault = SecretClient(bare.env("KEY_VAULT_URL"), writer, verify_challenge_resource=False,
                     transport=transport)
stored = vault.get_secret(bare.env("KEY_VAULT_SECRET_NAME"))
bare.done(f"Key Vault URL  {stored.id}?api-version=7.0")
