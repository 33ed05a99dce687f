"""The double's Key Vault when the network or the service misbehaves, proven with the real
azure-keyvault-secrets client: injected 429s and dropped connections, Key Vault's own
throttling and Retry-After, an injected firewall refusal, and a round trip's latency."""

from __future__ import annotations

import time

import pytest
from azure.core.exceptions import HttpResponseError

from clouddouble import CloudDouble, Vault, shapes
from tests.double.keyvault_support import Caller, raw_get


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


# -- throttling as a real vault does it, and an injected firewall reply ----------------------------

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


# -- a round trip's latency on every request -------------------------------------------------------

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
