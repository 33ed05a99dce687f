"""The double's Key Vault data plane, proven with the real azure-keyvault-secrets client (through
its challenge authentication) and with raw requests for the wire details."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient

from clouddouble import CloudDouble, Vault, shapes
from foundation import wellknown as wk
from tests.support import unique_domain

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


@pytest.fixture
def tenant_id(cloud: CloudDouble) -> str:
    return cloud.add_tenant(domain=unique_domain()).id


@pytest.fixture
def caller(cloud: CloudDouble, tenant_id: str) -> Caller:
    return make_caller(cloud, tenant_id)


def new_vault(cloud: CloudDouble, tenant_id: str, **kwargs: bool) -> Vault:
    return cloud.create_vault(f"kv-{uuid.uuid4().hex[:12]}", tenant_id, **kwargs)


@pytest.fixture
def vault(cloud: CloudDouble, tenant_id: str, caller: Caller) -> Vault:
    vault = new_vault(cloud, tenant_id)
    vault.set_access_policy(caller.sp, secrets=["get", "list", "set", "delete", "recover", "purge"])
    return vault


def test_set_get_versions_and_properties(vault: Vault, caller: Caller) -> None:
    client = caller.client(vault)
    first = client.set_secret(
        "PartnerCenterRefreshToken",
        "rt-1",
        content_type="text/plain",
        tags={"issued": "2025-01-01"},
    )
    second = client.set_secret("PartnerCenterRefreshToken", "rt-2")
    assert re.fullmatch(r"[0-9a-f]{32}", first.properties.version or "")
    assert first.properties.version != second.properties.version
    assert second.id == f"{vault.uri}secrets/PartnerCenterRefreshToken/{second.properties.version}"

    latest = client.get_secret("PartnerCenterRefreshToken")
    assert latest.value == "rt-2"
    old = client.get_secret("PartnerCenterRefreshToken", first.properties.version)
    assert old.value == "rt-1" and old.properties.content_type == "text/plain"
    assert old.properties.tags == {"issued": "2025-01-01"}
    assert old.properties.recovery_level == "Recoverable+Purgeable"

    versions = list(client.list_properties_of_secret_versions("PartnerCenterRefreshToken"))
    assert {v.version for v in versions} == {first.properties.version, second.properties.version}
    assert [v.value for v in vault.secret_versions("PartnerCenterRefreshToken")] == ["rt-1", "rt-2"]

    updated = client.update_secret_properties(
        "PartnerCenterRefreshToken", first.properties.version, enabled=False
    )
    assert updated.enabled is False
    with pytest.raises(HttpResponseError) as err:
        client.get_secret("PartnerCenterRefreshToken", first.properties.version)
    assert err.value.status_code == 403 and "disabled" in str(err.value)


def test_listing_pages_through_next_link(vault: Vault, caller: Caller) -> None:
    client = caller.client(vault)
    for i in range(5):
        vault.set_secret(f"s{i}", f"value-{i}")
    names = [p.name for p in client.list_properties_of_secrets(max_page_size=2)]
    assert sorted(names) == [f"s{i}" for i in range(5)]
    pages = [
        r
        for r in caller.cloud.requests
        if r.service == f"vault:{vault.name}" and r.path == "/secrets" and r.status == 200
    ]
    assert len(pages) == 3


def test_missing_secret_is_404(vault: Vault, caller: Caller) -> None:
    with pytest.raises(ResourceNotFoundError):
        caller.client(vault).get_secret("nope")


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


def test_soft_deleted_name_conflicts_until_recovered_or_purged(
    vault: Vault, caller: Caller
) -> None:
    client = caller.client(vault)
    client.set_secret("token", "v1")
    client.begin_delete_secret("token").wait()
    with pytest.raises(ResourceExistsError) as err:
        client.set_secret("token", "v2")
    assert err.value.status_code == 409 and "deleted but recoverable" in str(err.value)
    assert client.get_deleted_secret("token").name == "token"
    client.begin_recover_deleted_secret("token").wait()
    assert client.get_secret("token").value == "v1"
    vault.soft_delete("token")
    client.purge_deleted_secret("token")
    assert client.set_secret("token", "v3").value == "v3"
    assert [v.value for v in vault.secret_versions("token")] == ["v3"]


def test_purge_protection_refuses_purge(cloud: CloudDouble, tenant_id: str, caller: Caller) -> None:
    vault = new_vault(cloud, tenant_id, purge_protection=True)
    vault.set_access_policy(caller.sp, secrets=["all"])
    vault.set_secret("token", "v")
    vault.soft_delete("token")
    with pytest.raises(HttpResponseError) as err:
        caller.client(vault).purge_deleted_secret("token")
    assert err.value.status_code == 403


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


def test_api_version_is_required_and_checked(vault: Vault, caller: Caller) -> None:
    auth = {"Authorization": f"Bearer {caller.token()}"}
    missing = requests.get(f"{vault.uri}secrets/token", headers=auth, timeout=10)
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "BadParameter"
    bogus = requests.get(f"{vault.uri}secrets/token?api-version=1.0", headers=auth, timeout=10)
    assert bogus.status_code == 400
    vault.set_secret("token", "v")
    for version in ("7.0", "7.6", "2025-07-01", "2026-04-01"):
        ok = requests.get(
            f"{vault.uri}secrets/token?api-version={version}", headers=auth, timeout=10
        )
        assert ok.status_code == 200 and ok.json()["value"] == "v"


def test_invalid_secret_name_is_400(vault: Vault, caller: Caller) -> None:
    response = requests.put(
        f"{vault.uri}secrets/bad_name?api-version=7.6",
        headers={"Authorization": f"Bearer {caller.token()}"},
        json={"value": "v"},
        timeout=10,
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "BadParameter"


def test_sdk_retries_a_429_and_the_log_counts_it(
    cloud: CloudDouble, vault: Vault, caller: Caller
) -> None:
    client = caller.client(vault)
    client.set_secret("warmup", "v")  # challenge and token out of the way
    cloud.clear_requests()
    cloud.inject_fault(r"^/secrets/token$", status=429, retry_after=1, count=1, method="PUT")
    assert client.set_secret("token", "v").value == "v"
    puts = [r.status for r in cloud.requests if r.method == "PUT"]
    assert puts == [429, 200]


def test_sdk_survives_a_dropped_connection(
    cloud: CloudDouble, vault: Vault, caller: Caller
) -> None:
    vault.set_secret("token", "v")
    client = caller.client(vault)
    client.get_secret("token")
    cloud.clear_requests()
    cloud.inject_fault(r"^/secrets/token", reset=True, count=1, method="GET")
    assert client.get_secret("token").value == "v"
    assert [r.status for r in cloud.requests] == [0, 200]


def test_expired_token_is_401(cloud: CloudDouble, vault: Vault, caller: Caller) -> None:
    token = caller.token()
    cloud.advance_clock(timedelta(hours=2))
    response = requests.get(
        f"{vault.uri}secrets/token?api-version=7.6",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 401 and "expired" in response.json()["error"]["message"]


# -- the refusals of a real vault: firewall, RBAC (and its propagation delay), throttling -------

def raw_get(vault: Vault, caller: Caller, name: str = "token") -> requests.Response:
    return requests.get(
        f"{vault.uri}secrets/{name}?api-version=7.6",
        headers={"Authorization": f"Bearer {caller.token()}"},
        timeout=10,
    )


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


def test_throttled_is_key_vaults_shape_and_holds_the_caller_to_retry_after(
    cloud: CloudDouble, vault: Vault, caller: Caller
) -> None:
    vault.throttle(count=1, retry_after=2)
    first = raw_get(vault, caller)
    again = raw_get(vault, caller)  # too soon: refused again, told the time that is left
    assert first.status_code == 429 and first.headers["Retry-After"] == "2"
    assert first.json() == {"error": {"code": "Throttled", "message": (
        "Request was not processed because too many requests were received. "
        "Reason: VaultRequestTypeLimitReached")}}
    assert again.status_code == 429 and int(again.headers["Retry-After"]) in (1, 2)


def test_sdk_waits_the_advertised_retry_after_then_succeeds(
    cloud: CloudDouble, vault: Vault, caller: Caller
) -> None:
    client = caller.client(vault)
    client.set_secret("warmup", "v")  # challenge and token out of the way
    cloud.clear_requests()
    vault.throttle(count=1, retry_after=2)
    started = time.monotonic()
    assert client.set_secret("token", "v").value == "v"
    assert time.monotonic() - started >= 2
    # An early retry would have been refused again: exactly one 429, then the write.
    assert [r.status for r in cloud.requests if r.method == "PUT"] == [429, 200]


def test_firewall_shape_for_injected_faults_parses_as_the_sdk_sees_it(
    cloud: CloudDouble, vault: Vault, caller: Caller
) -> None:
    body, content_type = shapes.key_vault_firewall("203.0.113.9", vault.name)
    cloud.inject_fault(r"^/secrets/token", status=403, retry_after=None, body=body, count=5,
                       content_type=content_type, service=f"vault:{vault.name}")
    with pytest.raises(HttpResponseError) as err:
        caller.client(vault).get_secret("token")
    assert err.value.status_code == 403
    assert "Client address: 203.0.113.9" in str(err.value.message)


# -- scale: a long history in one call, a round trip's latency on every request ----------------

def test_history_is_older_copies_listed_by_version_id_not_by_age(
    vault: Vault, caller: Caller
) -> None:
    newest = vault.set_secret("token", "rt", content_type="text/plain", tags={"source": "x"})
    older = vault.add_history("token", 60)
    versions = vault.secret_versions("token")
    assert versions == [*older, newest] and len({v.version for v in versions}) == 61
    assert all(b.created - a.created == timedelta(days=7) for a, b in pairwise(versions))
    assert all((v.value, v.content_type, v.tags) == ("rt", "text/plain", {"source": "x"})
               for v in older)
    client = caller.client(vault)
    caller.cloud.clear_requests()
    listed = [p.version for p in client.list_properties_of_secret_versions("token")]
    assert listed == sorted(v.version for v in versions), "by version id, whatever their age"
    pages = [r for r in caller.cloud.requests if r.path.endswith("/versions") and r.status == 200]
    assert len(pages) == 3
    assert client.get_secret("token").properties.version == newest.version


def test_a_write_between_two_list_pages_shifts_them(vault: Vault, caller: Caller) -> None:
    """The double's ``$skiptoken`` is an offset: versions written between two pages push the
    rest along, so a version can come twice (real tokens are opaque: promise neither)."""
    vault.set_secret("token", "rt")
    vault.add_history("token", 30)
    pages = caller.client(vault).list_properties_of_secret_versions("token").by_page()
    first = [p.version for p in next(pages)]
    for _ in range(10):
        vault.set_secret("token", "rt")
    rest = [p.version for page in pages for p in page]
    assert len(first) == 25 and set(first) & set(rest), "some version listed twice"


def test_latency_is_added_to_every_request(vault: Vault, caller: Caller) -> None:
    vault.set_secret("token", "v")
    client = caller.client(vault)
    client.get_secret("token")  # challenge and token out of the way
    vault.latency = 0.05
    started = time.monotonic()
    for _ in range(4):
        client.get_secret("token")
    assert time.monotonic() - started >= 0.2
    vault.latency = 0.0
