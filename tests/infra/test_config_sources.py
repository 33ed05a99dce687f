"""Where config values come from: a stack file's ``config:`` block and the Pulumi engine give
``parse_config`` the same text, and a value stored as a secret is refused without being echoed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from foundation.errors import InvalidConfig
from infra.config import config_values_from_stack_file, parse_config, read_config
from tests.infra.base_config import BASE, TODAY


def test_stack_file_values_are_normalised_like_pulumi_config() -> None:
    values = config_values_from_stack_file(
        {
            "csp-secure-app:inHouseApp": True,
            "csp-secure-app:softDeleteRetentionDays": 30,
            "csp-secure-app:allowedIpRanges": ["198.51.100.0/24"],
            "azure-native:location": "westeurope",
        }
    )
    assert values == {
        "inHouseApp": "true",
        "softDeleteRetentionDays": "30",
        "allowedIpRanges": '["198.51.100.0/24"]',
    }


def test_values_stored_as_secrets_are_refused_without_echoing_them() -> None:
    values = config_values_from_stack_file(
        {
            **{f"csp-secure-app:{k}": v for k, v in BASE.items()},
            "csp-secure-app:tenantId": {"secure": "v1:c2VjcmV0LWNpcGhlcnRleHQ="},
            "csp-secure-app:vaultName": {"secure": "v1:b3RoZXI="},
        }
    )
    with pytest.raises(InvalidConfig) as caught:
        parse_config(values, today=TODAY)
    lines = caught.value.lines()
    assert [line.split(":")[1] for line in lines] == ["tenantId", "vaultName"]
    assert all("stored as a secret" in line and "v1:" not in line for line in lines)


def test_read_config_reads_the_engine_config_including_mistyped_keys() -> None:
    from pulumi.runtime import config as runtime_config

    # read_config judges the rotation date against the real clock.
    current = {**BASE, "clientSecretRotation": datetime.now(UTC).date().isoformat()}
    saved = dict(runtime_config.CONFIG.get())
    try:
        runtime_config.set_all_config(
            {f"csp-secure-app:{key}": value for key, value in {**current, "vaultNam": "x"}.items()}
        )
        with pytest.raises(InvalidConfig) as caught:
            read_config()
        assert caught.value.lines() == [
            "csp-secure-app:vaultNam: unknown key (rule: did you mean 'vaultName'?)"
        ]
        runtime_config.set_all_config({f"csp-secure-app:{k}": v for k, v in current.items()})
        assert read_config().vault_name == "kv-csp-token"
        runtime_config.set_all_config(
            {f"csp-secure-app:{k}": v for k, v in current.items()},
            secret_keys=["csp-secure-app:cspDomain"],
        )
        with pytest.raises(InvalidConfig) as caught:
            read_config()
        (line,) = caught.value.lines()
        assert "cspDomain: is stored as a secret" in line and "contoso" not in line
    finally:
        runtime_config.set_all_config(saved, secret_keys=[])
