"""What the Key Vault tests share (test_double_keyvault_secrets.py, test_double_keyvault_access.py,
test_double_keyvault_faults.py): a calling service principal, a fresh vault, and a raw secret
read. Their ``tenant_id``, ``caller`` and ``vault`` fixtures are in this folder's conftest.py."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import requests
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient

from clouddouble import CloudDouble, Vault

VAULT_SCOPE = "https://vault.azure.net/.default"


@dataclass
class Caller:
    """A service principal (app + secret) in a tenant: what the product's pipeline uses."""

    cloud: CloudDouble
    tenant_id: str
    app_id: str
    sp: str
    secret: str

    def credential(self) -> ClientSecretCredential:
        return ClientSecretCredential(
            self.tenant_id,
            self.app_id,
            self.secret,
            authority=self.cloud.authority_host,
            disable_instance_discovery=True,
        )

    def client(self, vault: Vault) -> SecretClient:
        # Loopback vault hosts are not *.vault.azure.net: the challenge resource check must be off.
        return SecretClient(vault.uri, self.credential(), verify_challenge_resource=False)

    def token(self) -> str:
        return self.credential().get_token(VAULT_SCOPE).token


def make_caller(cloud: CloudDouble, tenant_id: str) -> Caller:
    app = cloud.register_app(tenant_id, "vault caller")
    sp = cloud.add_service_principal(tenant_id, app.app_id)
    return Caller(cloud, tenant_id, app.app_id, sp, cloud.add_password(app.app_id))


def new_vault(cloud: CloudDouble, tenant_id: str, **kwargs: bool) -> Vault:
    return cloud.create_vault(f"kv-{uuid.uuid4().hex[:12]}", tenant_id, **kwargs)


def raw_get(vault: Vault, caller: Caller, name: str = "token") -> requests.Response:
    return requests.get(
        f"{vault.uri}secrets/{name}?api-version=7.6",
        headers={"Authorization": f"Bearer {caller.token()}"},
        timeout=10,
    )
