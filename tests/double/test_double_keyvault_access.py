"""Who the double's Key Vault lets in, proven with the real azure-keyvault-secrets client and
with raw requests for the wire details: the bearer challenge, tokens (tenant, expiry), access
policies, RBAC role assignments and the firewall, each refused in Key Vault's own shape."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from azure.core.exceptions import HttpResponseError

from clouddouble import CloudDouble, Vault
from foundation import wellknown as wk
from tests.double.keyvault_support import Caller, make_caller, new_vault, raw_get
from tests.support import unique_domain


def test_no_access_policy_is_403_access_denied(
    cloud: CloudDouble, tenant_id: str, vault: Vault
) -> None:
    stranger = make_caller(cloud, tenant_id)
    with pytest.raises(HttpResponseError) as err:
        stranger.client(vault).get_secret("anything")
    assert err.value.status_code == 403
    assert "does not have secrets get permission" in str(err.value)
    response = requests.get(
        f"{vault.uri}secrets/anything?api-version=7.0",
        headers={"Authorization": f"Bearer {stranger.token()}"},
        timeout=10,
    )
    assert response.json()["error"]["innererror"]["code"] == "AccessDenied"


def test_access_policy_permissions_are_replaced(vault: Vault, caller: Caller) -> None:
    vault.set_secret("token", "v")
    vault.set_access_policy(caller.sp, secrets=["get"])
    client = caller.client(vault)
    assert client.get_secret("token").value == "v"
    with pytest.raises(HttpResponseError) as err:
        client.set_secret("token", "w")
    assert err.value.status_code == 403
    vault.remove_access_policy(caller.sp)
    with pytest.raises(HttpResponseError):
        client.get_secret("token")


def test_rbac_vault_uses_role_assignments(cloud: CloudDouble, tenant_id: str) -> None:
    vault = new_vault(cloud, tenant_id, rbac=True)
    reader, writer = make_caller(cloud, tenant_id), make_caller(cloud, tenant_id)
    vault.set_access_policy(reader.sp, secrets=["all"])  # ignored in RBAC mode
    vault.grant_role(
        reader.sp,
        wk.KEY_VAULT_SECRETS_USER_ROLE,
        f"/subscriptions/x/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/{vault.name}",
    )
    vault.grant_role(writer.sp, wk.KEY_VAULT_SECRETS_OFFICER_ROLE, None)
    writer.client(vault).set_secret("token", "v")
    assert reader.client(vault).get_secret("token").value == "v"
    with pytest.raises(HttpResponseError) as err:
        reader.client(vault).set_secret("token", "w")
    assert err.value.status_code == 403 and "not authorized" in str(err.value)


def test_unauthenticated_request_gets_the_bearer_challenge(
    cloud: CloudDouble, tenant_id: str, vault: Vault
) -> None:
    response = requests.get(f"{vault.uri}secrets/token?api-version=7.0", timeout=10)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == (
        f'Bearer authorization="{cloud.authority_host}/{tenant_id}", '
        'resource="https://vault.azure.net"'
    )


def test_token_of_another_tenant_is_401(cloud: CloudDouble, vault: Vault) -> None:
    elsewhere = make_caller(cloud, cloud.add_tenant(domain=unique_domain()).id)
    vault.set_access_policy(elsewhere.sp, secrets=["get"])
    response = requests.get(
        f"{vault.uri}secrets/token?api-version=7.0",
        headers={"Authorization": f"Bearer {elsewhere.token()}"},
        timeout=10,
    )
    assert response.status_code == 401
    assert "Invalid issuer" in response.json()["error"]["message"]


def test_expired_token_is_401(cloud: CloudDouble, vault: Vault, caller: Caller) -> None:
    token = caller.token()
    cloud.advance_clock(timedelta(hours=2))
    response = requests.get(
        f"{vault.uri}secrets/token?api-version=7.6",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 401 and "expired" in response.json()["error"]["message"]


# -- the refusals of a real vault: firewall, RBAC (and its propagation delay) ----------------------

def test_firewall_refuses_an_address_outside_the_network_rules(
    vault: Vault, caller: Caller
) -> None:
    vault.set_secret("token", "v")
    vault.set_network_rules(["203.0.113.0/24"])
    response = raw_get(vault, caller)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "Forbidden"
    assert error["innererror"] == {"code": "ForbiddenByFirewall"}
    assert error["message"].startswith(
        "Client address is not authorized and caller is not a trusted service.\r\n"
        "Client address: 127.0.0.1\r\nCaller: appid="
    )
    assert error["message"].endswith(f"\r\nVault: {vault.name};location=westeurope")
    with pytest.raises(HttpResponseError) as err:
        caller.client(vault).get_secret("token")
    assert err.value.status_code == 403
    assert [v.value for v in vault.secret_versions("token")] == ["v"]


def test_firewall_lets_in_an_allowed_address_and_still_challenges_first(
    vault: Vault, caller: Caller
) -> None:
    vault.set_secret("token", "v")
    vault.set_network_rules(["198.51.100.7", "127.0.0.0/8"])
    assert caller.client(vault).get_secret("token").value == "v"
    vault.set_network_rules([])
    challenge = requests.get(f"{vault.uri}secrets/token?api-version=7.6", timeout=10)
    assert challenge.status_code == 401  # the bearer challenge comes before the firewall
    vault.set_network_rules([], default_action="Allow")
    assert raw_get(vault, caller).status_code == 200
    with pytest.raises(ValueError):
        vault.set_network_rules(["office"])


def test_rbac_refusal_is_forbidden_by_rbac_with_the_action(
    cloud: CloudDouble, tenant_id: str
) -> None:
    vault = new_vault(cloud, tenant_id, rbac=True)
    reader = make_caller(cloud, tenant_id)
    vault.grant_role(reader.sp, wk.KEY_VAULT_SECRETS_USER_ROLE)
    response = requests.put(
        f"{vault.uri}secrets/token?api-version=7.6",
        headers={"Authorization": f"Bearer {reader.token()}"},
        json={"value": "v"},
        timeout=10,
    )
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "Forbidden" and error["innererror"] == {"code": "ForbiddenByRbac"}
    message = error["message"]
    assert message.startswith("Caller is not authorized to perform action on resource.\r\n")
    assert "please observe propagation time" in message
    assert "Action: 'Microsoft.KeyVault/vaults/secrets/setSecret/action'" in message
    assert f"/vaults/{vault.name}/secrets/token'" in message
    assert "Assignment: (not found)" in message


def test_a_new_role_assignment_takes_effect_only_after_its_delay(
    cloud: CloudDouble, tenant_id: str
) -> None:
    vault = new_vault(cloud, tenant_id, rbac=True)
    writer = make_caller(cloud, tenant_id)
    vault.grant_role(writer.sp, wk.KEY_VAULT_SECRETS_OFFICER_ROLE,
                     effective_after=timedelta(minutes=5))
    client = writer.client(vault)
    with pytest.raises(HttpResponseError) as err:
        client.set_secret("token", "v")
    assert err.value.status_code == 403 and "ForbiddenByRbac" in str(err.value)
    assert vault.secret_versions("token") == []
    cloud.advance_clock(timedelta(minutes=6))
    assert client.set_secret("token", "v").value == "v"
