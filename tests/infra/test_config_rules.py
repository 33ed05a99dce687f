"""Stack config validation: every rule fails on a bad value and passes on a good one, and a user
with several mistakes gets one line per mistake naming the key. Also the defaults a minimal
config gets, and the rules that weigh one key against another."""

from __future__ import annotations

import json
from datetime import date

import pytest

from foundation import wellknown
from foundation.errors import EXIT_BAD_INPUT, InvalidConfig
from infra.config import parse_config
from infra.mfa_config import MfaSettings
from infra.permissions import DEFAULT_REQUIRED_RESOURCE_ACCESS
from tests.infra.base_config import BASE, TODAY, WRITER
from tests.infra.config_parsing import parse, problems

GRAPH_USER_READ = [
    {
        "resourceAppId": wellknown.MICROSOFT_GRAPH_APP_ID,
        "resourceAccess": [{"id": wellknown.GRAPH_USER_READ, "type": "Scope"}],
    }
]


def test_writers_carry_their_principal_type_and_each_object_id_counts_once() -> None:
    group = "bbbbbbbb-bbbb-4ccc-8ddd-eeeeeeeeeeee"
    entries = [WRITER, {"objectId": group, "principalType": "Group"}, WRITER.upper()]
    cfg = parse(writerObjectIds=json.dumps(entries))
    assert [(w.object_id, w.principal_type) for w in cfg.writers] == [
        (WRITER, "User"),
        (group, "Group"),
    ]
    assert cfg.writer_object_ids == (WRITER, group)


def test_bad_writers_give_one_line_each() -> None:
    lines = problems(writerObjectIds=json.dumps(["x", {"objectId": WRITER, "principalType": 1}]))
    assert len(lines) == 2
    assert all(line.startswith("csp-secure-app:writerObjectIds: ") for line in lines)


def test_access_policies_stop_at_key_vault_s_1024() -> None:
    """The reader and the deployer take two entries: 1,022 writers fit, 1,023 do not, and the
    one line says how to fit (a group, or rbac); rbac mode has no access policies to count."""
    def writers(count: int) -> str:
        return json.dumps([f"{i:08x}-bbbb-4ccc-8ddd-eeeeeeeeeeee" for i in range(count)])

    assert len(parse(accessMode="accessPolicy", writerObjectIds=writers(1022)).writers) == 1022
    [line] = problems(accessMode="accessPolicy", writerObjectIds=writers(1023))
    assert line.startswith("csp-secure-app:writerObjectIds: needs 1025 access policies")
    assert "1024 per vault" in line and "group" in line and "accessMode rbac" in line
    assert len(parse(accessMode="rbac", writerObjectIds=writers(3000)).writers) == 3000


def test_deployer_principal_type_defaults_from_the_provider_client_id() -> None:
    assert parse_config(BASE, today=TODAY).deployer_principal_type == "User"
    with_client = parse_config(BASE, today=TODAY, provider_client_id=WRITER)
    assert with_client.deployer_principal_type == "ServicePrincipal"
    explicit = parse_config(
        {**BASE, "deployerPrincipalType": "User"}, today=TODAY, provider_client_id=WRITER
    )
    assert explicit.deployer_principal_type == "User"


def test_minimal_config_gets_safe_defaults() -> None:
    cfg = parse()
    # RBAC, as Key Vault API 2026-02-01 creates vaults (deliberately changed from accessPolicy).
    assert cfg.access_mode == "rbac"
    assert cfg.deployer_principal_type == "User"
    assert cfg.writers == () and cfg.import_subscription_id is None
    assert cfg.soft_delete_retention_days == 90
    assert cfg.client_secret_lifetime_days == 365
    assert cfg.client_secret_end_date == date(2027, 11, 1)
    assert cfg.secret_name == "PartnerCenterRefreshToken"
    assert cfg.resource_group_name == "rg-csp-secure-app"
    assert not cfg.existing_resource_group
    assert cfg.required_resource_access == DEFAULT_REQUIRED_RESOURCE_ACCESS
    assert cfg.allowed_ip_ranges == () and not cfg.network_restricted
    assert cfg.in_house_app is False


# (key, bad value, what the message must say, good value)
RULES = [
    ("vaultName", "kv", "3-24 characters", "kv1"),
    ("vaultName", "kv-" + "x" * 22, "3-24 characters", "kv-" + "x" * 21),
    ("vaultName", "1kv-token", "starts with a letter", "k1v-token"),
    ("vaultName", "kv-token-", "ends with a letter or digit", "kv-token-1"),
    ("vaultName", "kv--token", "no consecutive hyphens", "kv-to-ken"),
    ("vaultName", "kv_token", "letters, digits and hyphens", "kvtoken"),
    ("secretName", "refresh_token", "^[0-9a-zA-Z-]", "refresh-token"),
    ("secretName", "x" * 128, "{1,127}", "x" * 127),
    ("tenantId", "not-a-guid", "not a GUID", "11111111-2222-4333-8444-555555555555"),
    ("tenantId", "00000000-0000-0000-0000-000000000000", "placeholder", wellknown.GRAPH_OPENID),
    ("writerObjectIds", f"aaaa,{WRITER}", "not a GUID", WRITER),
    (
        "writerObjectIds",
        json.dumps([{"objectId": WRITER, "principalType": "group"}]),
        "exactly as ARM spells it",
        json.dumps([{"objectId": WRITER, "principalType": "Group"}]),
    ),
    (
        "writerObjectIds",
        json.dumps([{"objectid": WRITER}]),
        "unknown keys ['objectid']",
        json.dumps([WRITER, {"objectId": wellknown.GRAPH_OPENID}]),
    ),
    ("writerObjectIds", "[1]", "is not a writer", json.dumps([WRITER])),
    ("deployerPrincipalType", "Group", "not a deployer principal type", "ServicePrincipal"),
    ("importSubscriptionId", "my-subscription", "not a GUID", wellknown.GRAPH_OPENID),
    ("cspDomain", "contoso", "not a domain", "contoso.onmicrosoft.com"),
    ("cspDomain", "-contoso.com", "not a domain", "contoso-it.com"),
    ("cspDomain", "contoso.c0m", "not a domain", "partner.contoso.co.uk"),
    ("allowedIpRanges", "2001:db8::/32", "IPv4 only", "198.51.100.0/24"),
    ("allowedIpRanges", "10.1.0.0/16", "private", "198.51.100.7"),
    ("allowedIpRanges", "198.51.100.1/24", "did you mean 198.51.100.0/24", "198.51.100.1/32"),
    ("allowedIpRanges", "office", "not an IPv4 address", '["198.51.100.0/24"]'),
    ("softDeleteRetentionDays", "6", "7-90", "7"),
    ("softDeleteRetentionDays", "91", "7-90", "90"),
    ("softDeleteRetentionDays", "ninety", "not a whole number", "30"),
    ("clientSecretLifetimeDays", "0", "1-730", "30"),
    ("clientSecretLifetimeDays", "731", "1-730", "730"),
    ("accessMode", "vaultPolicy", "accessPolicy or rbac", "rbac"),
    ("location", "West Europe", "programmatic name", "westeurope"),
    ("resourceGroupName", "rg.", "not ending with '.'", "rg-csp.prod"),
    ("resourceGroupName", "rg/prod", "1-90 letters", "rg_(prod)"),
    ("inHouseApp", "yes", "true or false", "true"),
    ("clientSecretRotation", "29.11.2026", "YYYY-MM-DD", "2026-11-29"),
    ("clientSecretRotation", "2026-12-01", "in the future", "2026-11-28"),
    ("requiredResourceAccess", "User.Read", "not structured config", json.dumps(GRAPH_USER_READ)),
    (
        "requiredResourceAccess",
        json.dumps([{"resourceAppId": wellknown.MICROSOFT_GRAPH_APP_ID, "resourceAccess": []}]),
        "resourceAccess is empty",
        json.dumps(GRAPH_USER_READ),
    ),
    (
        "requiredResourceAccess",
        json.dumps(
            [
                {
                    "resourceAppId": wellknown.LEGACY_AAD_GRAPH_APP_ID,
                    "resourceAccess": [{"id": wellknown.GRAPH_USER_READ, "type": "Scope"}],
                }
            ]
        ),
        "retired",
        json.dumps(GRAPH_USER_READ),
    ),
    (
        "requiredResourceAccess",
        json.dumps(
            [
                {
                    "resourceAppId": wellknown.MICROSOFT_GRAPH_APP_ID,
                    "resourceAccess": [{"id": wellknown.GRAPH_USER_READ, "type": "Delegated"}],
                }
            ]
        ),
        "Scope for delegated",
        json.dumps(GRAPH_USER_READ),
    ),
    ("tags", '["env"]', "at most 50 tags", '{"env": "dev"}'),
    ("cloud", "germany", "one of public, usgov, china", "china"),
    ("cloud", "AzureCloud", "not a cloud", "usgov"),
    ("mfaEnforcement", "mfa", "securityDefaults, conditionalAccess or none", "securityDefaults"),
    ("mfaEnforcement", "SecurityDefaults", "not an MFA enforcement mode", "conditionalAccess"),
    ("mfaExcludedObjectIds", "breakglass@contoso.com", "not a GUID", ""),
    ("tags", '{"a/b": "x"}', "invalid", '{"cost-center": "42"}'),
]


@pytest.mark.parametrize(("key", "bad", "message", "good"), RULES)
def test_each_rule_rejects_a_bad_value_with_one_line_naming_the_key(
    key: str, bad: str, message: str, good: str
) -> None:
    lines = problems(**{key: bad})
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"csp-secure-app:{key}: ")
    assert message in lines[0]


@pytest.mark.parametrize(("key", "bad", "message", "good"), RULES)
def test_each_rule_accepts_a_good_value(key: str, bad: str, message: str, good: str) -> None:
    parse(**{key: good})


def test_issue_4_keys_default_to_public_no_mfa_change_and_no_pipeline() -> None:
    cfg = parse()
    assert cfg.cloud == "public"
    assert cfg.mfa == MfaSettings(mode="none")
    assert cfg.pipeline_identity is None


def test_required_keys_missing_are_each_reported() -> None:
    with pytest.raises(InvalidConfig) as caught:
        parse_config({}, today=TODAY)
    lines = caught.value.lines()
    assert [line.split(":")[1] for line in lines] == [
        "location",
        "vaultName",
        "cspDomain",
        "clientSecretRotation",
    ]
    assert caught.value.exit_code == EXIT_BAD_INPUT


def test_several_mistakes_give_one_line_each() -> None:
    lines = problems(vaultName="1kv", softDeleteRetentionDays="3", accessMode="x", vaultNme="y")
    assert len(lines) == 4
    typo = [line for line in lines if "vaultNme: unknown key" in line]
    assert typo and "did you mean 'vaultName'" in typo[0]


def test_existing_resource_group_is_used_not_created() -> None:
    cfg = parse(existingResourceGroup="rg-shared")
    assert cfg.existing_resource_group and cfg.resource_group_name == "rg-shared"
    (line,) = problems(existingResourceGroup="rg-shared", resourceGroupName="rg-new")
    assert "not both" in line


def test_writer_ranges_without_allowed_ranges_are_refused() -> None:
    (line,) = problems(writerIpRanges="198.51.100.7")
    assert line.startswith("csp-secure-app:writerIpRanges:")
    cfg = parse(allowedIpRanges="198.51.100.0/24", writerIpRanges="203.0.113.7")
    assert cfg.writer_ip_ranges == ("203.0.113.7",) and cfg.network_restricted


def test_lists_accept_comma_separated_text_and_structured_config() -> None:
    a = parse(allowedIpRanges="198.51.100.0/24, 198.51.100.0/24,203.0.113.7")
    b = parse(allowedIpRanges='["198.51.100.0/24", "203.0.113.7"]')
    assert a.allowed_ip_ranges == b.allowed_ip_ranges == ("198.51.100.0/24", "203.0.113.7")


def test_an_expired_secret_does_not_make_the_config_invalid() -> None:
    """Time alone expires every stack: the config stays valid (the plan warns instead), so
    `pulumi up` for unrelated changes and the example stack's plan keep working."""
    cfg = parse_config({**BASE, "clientSecretLifetimeDays": "30"}, today=date(2030, 1, 1))
    assert cfg.client_secret_end_date == date(2026, 12, 1)


def test_rotation_date_sets_a_stable_end_date() -> None:
    cfg = parse(clientSecretRotation="2026-06-01", clientSecretLifetimeDays="730")
    assert cfg.client_secret_end_date == date(2028, 5, 31)
