"""Stack config validation: every rule fails on a bad value and passes on a good one, and a user
with several mistakes gets one line per mistake naming the key."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from foundation import wellknown
from foundation.errors import EXIT_BAD_INPUT, InvalidConfig
from infra.config import (
    StackConfig,
    config_values_from_stack_file,
    parse_config,
    read_config,
)
from infra.mfa_config import MfaSettings
from infra.permissions import DEFAULT_REQUIRED_RESOURCE_ACCESS
from infra.pipeline_config import PipelineIdentity

TODAY = date(2026, 11, 29)
BASE = {
    "location": "westeurope",
    "vaultName": "kv-csp-token",
    "cspDomain": "contoso.onmicrosoft.com",
    "clientSecretRotation": "2026-11-01",
}
WRITER = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
GRAPH_USER_READ = [
    {
        "resourceAppId": wellknown.MICROSOFT_GRAPH_APP_ID,
        "resourceAccess": [{"id": wellknown.GRAPH_USER_READ, "type": "Scope"}],
    }
]


def parse(**overrides: str) -> StackConfig:
    return parse_config({**BASE, **overrides}, today=TODAY)


def problems(**overrides: str) -> list[str]:
    with pytest.raises(InvalidConfig) as caught:
        parse(**overrides)
    return caught.value.lines()


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


# -- MFA enforcement ---------------------------------------------------------------------------

BREAK_GLASS = "99999999-8888-4777-8666-555555555555"


def test_conditional_access_defaults_to_report_only_and_reads_break_glass_accounts() -> None:
    cfg = parse(mfaEnforcement="conditionalAccess", mfaExcludedObjectIds=f"{BREAK_GLASS},{WRITER}")
    assert cfg.mfa.mode == "conditionalAccess"
    assert cfg.mfa.policy_state == "enabledForReportingButNotEnforced"
    assert cfg.mfa.excluded_object_ids == (BREAK_GLASS, WRITER)
    enforced = parse(mfaEnforcement="conditionalAccess", mfaPolicyState="enabled")
    assert enforced.mfa.policy_state == "enabled"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"mfaEnforcement": "conditionalAccess", "mfaPolicyState": "on"},
            "rule: enabled or enabledForReportingButNotEnforced",
        ),
        ({"mfaPolicyState": "enabled"}, "only read when mfaEnforcement is conditionalAccess"),
        (
            {"mfaEnforcement": "securityDefaults", "mfaPolicyState": "enabled"},
            "not securityDefaults",
        ),
        (
            {"mfaEnforcement": "securityDefaults", "mfaExcludedObjectIds": BREAK_GLASS},
            "security defaults cannot exclude any account",
        ),
        (
            {"mfaExcludedObjectIds": BREAK_GLASS},
            "only read when mfaEnforcement is conditionalAccess",
        ),
    ],
)
def test_mfa_companion_keys_only_go_with_conditional_access(
    overrides: dict[str, str], message: str
) -> None:
    (line,) = problems(**overrides)
    key = "mfaPolicyState" if "mfaPolicyState" in overrides else "mfaExcludedObjectIds"
    assert line.startswith(f"csp-secure-app:{key}: ")
    assert message in line


def test_a_bad_mode_is_reported_once_not_again_for_its_companion_keys() -> None:
    lines = problems(
        mfaEnforcement="ca", mfaPolicyState="enabled", mfaExcludedObjectIds=BREAK_GLASS
    )
    assert [line.split(":")[1] for line in lines] == ["mfaEnforcement"]


# -- pipeline identity -------------------------------------------------------------------------

GITHUB = "https://token.actions.githubusercontent.com"
MAIN = "repo:contoso/csp-secure-app:ref:refs/heads/main"


def pipeline(**fields: object) -> str:
    return json.dumps({"issuer": GITHUB, "subject": MAIN, **fields})


def test_pipeline_identity_gets_the_clouds_exchange_audience_by_default() -> None:
    identity = parse(pipelineIdentity=pipeline()).pipeline_identity
    assert identity == PipelineIdentity(
        issuer=GITHUB, subject=MAIN, audience="api://AzureADTokenExchange"
    )
    china = parse(pipelineIdentity=pipeline(), cloud="china").pipeline_identity
    assert china is not None and china.audience == "api://AzureADTokenExchangeChina"
    named = parse(pipelineIdentity=pipeline(name="GitOps (prod)")).pipeline_identity
    assert named is not None and named.name == "GitOps (prod)"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("repo:contoso/app", "is not a map"),
        (pipeline(subjet=MAIN), "did you mean 'subject'?"),
        (json.dumps({"subject": MAIN}), "issuer is required"),
        (pipeline(issuer="http://token.actions.githubusercontent.com"), "not an https URL"),
        (pipeline(issuer="token.actions.githubusercontent.com"), "not an https URL"),
        (pipeline(issuer=f"{GITHUB}?x=1"), "query or fragment"),
        (pipeline(issuer=f"{GITHUB} "), "surrounding spaces"),
        (pipeline(subject=""), "subject is required"),
        (pipeline(subject=f" {MAIN}"), "surrounding spaces"),
        (pipeline(subject="repo:contoso/*:ref:refs/heads/main"), "does not expand"),
        (pipeline(subject="x" * 601), "longer than 600"),
        (pipeline(subject=["a", "b"]), "subject is not text"),
        (pipeline(audience="api://AzureADTokenExchangeUSGov"), "is the usgov cloud's"),
        (pipeline(audience="https://github.com/contoso"), "not Entra ID's token exchange audience"),
        (pipeline(name="x" * 121), "1-120 characters"),
    ],
)
def test_pipeline_identity_rules_one_line_each(value: str, message: str) -> None:
    (line,) = problems(pipelineIdentity=value)
    assert line.startswith("csp-secure-app:pipelineIdentity: ")
    assert message in line


def test_pipeline_identity_reports_every_bad_field_at_once() -> None:
    lines = problems(pipelineIdentity=pipeline(issuer="http://x", subject="", audience="aud"))
    assert len(lines) == 3
    assert all(line.startswith("csp-secure-app:pipelineIdentity: ") for line in lines)
    assert [line.split(": ")[1].split()[0] for line in lines] == ["issuer", "subject", "audience"]


def test_pipeline_audience_follows_the_configured_cloud() -> None:
    (line,) = problems(
        cloud="usgov", pipelineIdentity=pipeline(audience="api://AzureADTokenExchange")
    )
    assert "is the public cloud's" in line and "api://AzureADTokenExchangeUSGov" in line
    cfg = parse(
        cloud="usgov", pipelineIdentity=pipeline(audience="api://AzureADTokenExchangeUSGov")
    )
    assert cfg.pipeline_identity is not None


def test_a_bad_cloud_is_reported_once_not_again_through_the_pipeline_audience() -> None:
    lines = problems(
        cloud="AzureUSGovernment",
        pipelineIdentity=pipeline(audience="api://AzureADTokenExchangeUSGov"),
    )
    assert [line.split(":")[1] for line in lines] == ["cloud"]


def test_stack_file_structured_pipeline_identity_is_read_like_pulumi_config() -> None:
    values = config_values_from_stack_file(
        {
            **{f"csp-secure-app:{k}": v for k, v in BASE.items()},
            "csp-secure-app:pipelineIdentity": {"issuer": GITHUB, "subject": MAIN},
        }
    )
    identity = parse_config(values, today=TODAY).pipeline_identity
    assert identity is not None and identity.subject == MAIN


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
