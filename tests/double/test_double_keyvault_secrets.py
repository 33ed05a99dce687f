"""The double's Key Vault secrets, proven with the real azure-keyvault-secrets client (through
its challenge authentication) and with raw requests for the wire details: versions and their
properties, listing and its pages, soft delete, purge, names and API versions."""

from __future__ import annotations

import re
from datetime import timedelta
from itertools import pairwise

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from clouddouble import CloudDouble, Vault
from tests.double.keyvault_support import Caller, new_vault


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


# -- a long history in one call, and how its pages list --------------------------------------------

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
