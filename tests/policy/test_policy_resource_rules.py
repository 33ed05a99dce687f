"""Every single-resource security rule with a violating and a compliant resource (CASES): the
violation is one line naming the resource, the cause and the fix; the compliant resource and
resources of other kinds pass. Also how the per-resource check treats writers and the options a
source does not report."""

from __future__ import annotations

import pytest

from foundation import wellknown
from scripts.policy import identity_rules as identity
from scripts.policy import rules
from scripts.policy.rules import Registration
from tests.policy.policy_resources import (
    APP_CLIENT_ID,
    BREAK_GLASS,
    SP_OBJECT_ID,
    TODAY,
    VAULT_ID,
    arm_vault,
    ca_policy,
    entry,
    federation,
    password,
    reader_policy,
    reader_role,
    secret,
    users,
    vault,
    writer_role,
)

# (rule, violating resource, what the line says, compliant resource)
CASES = [
    (
        rules.vault_purge_protection,
        vault(enablePurgeProtection=None),
        "purge protection is off",
        vault(),
    ),
    (
        rules.vault_retention,
        vault(softDeleteRetentionInDays=5),
        "retention is 5 days",
        vault(softDeleteRetentionInDays=7),
    ),
    (rules.vault_retention, vault(enableSoftDelete=False), "soft delete is off", vault()),
    (
        rules.vault_rbac_flag_explicit,
        vault(enableRbacAuthorization=None),
        "not set",
        vault(enableRbacAuthorization=True),
    ),
    (
        rules.vault_access_policies_least_privilege,
        arm_vault([entry(SP_OBJECT_ID, "get", "list")]),
        f"the access policy for {SP_OBJECT_ID} may secrets ['get', 'list']",
        arm_vault([entry(SP_OBJECT_ID, "get"), entry("me", "set", "get", "list")]),
    ),
    (
        rules.vault_access_policies_least_privilege,
        arm_vault(
            [
                {
                    **entry("me", "get", "list", "set"),
                    "permissions": {"secrets": ["get", "list", "set"], "keys": ["get"]},
                }
            ]
        ),
        "keys ['get']",
        arm_vault([entry("me", "get", "list", "set")]),
    ),
    (
        rules.vault_access_policies_least_privilege,
        arm_vault([entry(SP_OBJECT_ID, "get", applicationId=APP_CLIENT_ID)]),
        "compound identity",
        arm_vault([entry(SP_OBJECT_ID, "get")]),
    ),
    (
        rules.vault_access_policies_least_privilege,
        arm_vault([entry(SP_OBJECT_ID, "get")], enableRbacAuthorization=True),
        "RBAC vault, which ignores them",
        arm_vault([], enableRbacAuthorization=True),
    ),
    (
        identity.keyvault_api_current,
        vault(),
        "typed azure-native:keyvault:Vault",
        arm_vault([]),
    ),
    (
        identity.keyvault_api_current,
        arm_vault([], api="2024-11-01"),
        "uses Key Vault API 2024-11-01",
        arm_vault([], api="2026-02-01"),
    ),
    (
        identity.role_assignment_least_privilege,
        writer_role(f"{VAULT_ID}/secrets/token", principal_type=None),
        "UnmatchedPrincipalType",
        writer_role(f"{VAULT_ID}/secrets/token", principal_type="ServicePrincipal"),
    ),
    (
        identity.role_assignment_least_privilege,
        writer_role(VAULT_ID),
        "wider than the token secret",
        writer_role(f"{VAULT_ID}/secrets/token", principal_type="Group"),
    ),
    (
        rules.vault_network_deny_when_ranges,
        vault(networkAcls={"defaultAction": "Allow", "ipRules": [{"value": "198.51.100.0/24"}]}),
        "restrict nothing",
        vault(networkAcls={"defaultAction": "Allow"}),
    ),
    (
        rules.reader_get_only,
        reader_policy(permissions={"secrets": ["get", "list"]}),
        "must only get secrets",
        reader_policy(),
    ),
    (
        rules.reader_get_only,
        reader_policy(permissions={"secrets": ["get"], "keys": ["get"]}),
        "keys ['get']",
        reader_policy(),
    ),
    (
        rules.reader_get_only,
        reader_policy(applicationId=APP_CLIENT_ID),
        "compound identity",
        reader_policy(),
    ),
    (
        rules.reader_get_only,
        reader_role(wellknown.KEY_VAULT_SECRETS_OFFICER_ROLE, f"{VAULT_ID}/secrets/token"),
        "Key Vault Secrets User",
        reader_role(wellknown.KEY_VAULT_SECRETS_USER_ROLE, f"{VAULT_ID}/secrets/token"),
    ),
    (
        rules.reader_get_only,
        reader_role(wellknown.KEY_VAULT_SECRETS_USER_ROLE, VAULT_ID),
        "wider than the token secret",
        reader_role(wellknown.KEY_VAULT_SECRETS_USER_ROLE, f"{VAULT_ID}/secrets/token"),
    ),
    (
        identity.password_lifetime,
        password("2028-12-01T00:00:00Z"),
        "valid for 733 days",
        password("2028-11-28T00:00:00Z"),
    ),
    (
        identity.password_lifetime,
        password("2029-01-01T00:00:00Z", start="2026-12-01T00:00:00Z"),
        "valid for 762 days",
        password("2027-12-01T00:00:00Z", start="2026-12-01T00:00:00Z"),
    ),
    (identity.password_lifetime, password(None), "no end date", password("2027-01-01T00:00:00Z")),
    (
        identity.conditional_access_requires_mfa,
        ca_policy(grantControls={"operator": "OR", "builtInControls": ["compliantDevice"]}),
        "does not require MFA",
        ca_policy(grantControls={"operator": "AND", "builtInControls": ["mfa", "compliantDevice"]}),
    ),
    (
        identity.conditional_access_requires_mfa,
        ca_policy(grantControls={"operator": "OR", "builtInControls": ["mfa", "compliantDevice"]}),
        "does not require MFA",
        ca_policy(),
    ),
    (
        identity.conditional_access_requires_mfa,
        ca_policy(conditions=users(includedGroups=[BREAK_GLASS])),
        "does not include all users",
        ca_policy(conditions=users(includedUsers=["All"])),
    ),
    (
        identity.conditional_access_requires_mfa,
        ca_policy(
            conditions={
                **ca_policy().inputs["conditions"],
                "applications": {"includedApplications": ["Office365"]},
            }
        ),
        "does not cover all cloud apps",
        ca_policy(),
    ),
    (identity.conditional_access_requires_mfa, ca_policy("disabled"), "is disabled", ca_policy()),
    (
        identity.federated_credential_exchange_audience,
        federation(["https://github.com/contoso"]),
        "not exactly one token exchange audience",
        federation(["api://AzureADTokenExchange"]),
    ),
    (
        identity.federated_credential_exchange_audience,
        federation(["api://AzureADTokenExchange", "api://AzureADTokenExchangeChina"]),
        "not exactly one",
        federation(["api://AzureADTokenExchangeChina"]),
    ),
    (
        identity.federated_credential_exchange_audience,
        federation(["api://AzureADTokenExchange"], issuer="http://token.example"),
        "not an https URL",
        federation(["api://AzureADTokenExchangeUSGov"], issuer="https://gitlab.com"),
    ),
    # Warnings (advisory rules) follow the same contract.
    (
        identity.password_not_expired,
        password("2026-11-29T00:00:00Z"),
        "ended on 2026-11-29",
        password("2026-11-30T00:00:00Z"),
    ),
    (
        identity.conditional_access_report_only,
        ca_policy("enabledForReportingButNotEnforced"),
        "enforces no MFA",
        ca_policy("enabled"),
    ),
    (
        identity.conditional_access_break_glass,
        ca_policy(conditions=users(includedUsers=["All"])),
        "excludes no emergency access account",
        ca_policy(conditions=users(includedUsers=["All"], excludedGroups=[BREAK_GLASS])),
    ),
    (rules.token_secret_metadata, secret(contentType=""), "no content type", secret()),
    (rules.token_secret_metadata, secret(attributes={}), "no expiry", secret()),
    (
        rules.token_secret_write_once,
        secret({"protect": True, "retainOnDelete": True, "ignoreChanges": ["tags"]}),
        "placeholder over the stored refresh token",
        secret({"protect": True, "retainOnDelete": True, "ignoreChanges": ["properties.value"]}),
    ),
    (
        rules.token_secret_write_once,
        secret({"protect": True, "retainOnDelete": False, "ignoreChanges": ["properties"]}),
        "deleted with the stack",
        secret(),
    ),
    (
        rules.token_secret_write_once,
        secret({"protect": False, "retainOnDelete": True, "ignoreChanges": ["properties"]}),
        "not protected",
        secret(),
    ),
]


@pytest.mark.parametrize(("rule", "bad", "message", "good"), CASES)
def test_rule_reports_the_violation_with_resource_and_fix(
    rule: rules.Rule, bad: Registration, message: str, good: Registration
) -> None:
    lines = rule(bad, TODAY)
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{bad.name}: ")
    assert message in lines[0]
    assert ". Fix: " in lines[0]


@pytest.mark.parametrize(("rule", "bad", "message", "good"), CASES)
def test_rule_accepts_the_compliant_resource(
    rule: rules.Rule, bad: Registration, message: str, good: Registration
) -> None:
    assert rule(good, TODAY) == []
    # Every rule ignores resources it is not about.
    assert rule(Registration("random:index/randomId:RandomId", "x", {}), TODAY) == []


def test_writers_may_list_and_set() -> None:
    # Deliberately changed: access policies are inline in the vault now (the standalone
    # AccessPolicy of the previous program is flagged by keyvault_api_current).
    vault_with_writer = arm_vault(
        [entry("x", "get", "list", "set")],
        enablePurgeProtection=True,
        networkAcls={"defaultAction": "Allow"},
    )
    assert rules.check_resource(vault_with_writer, TODAY) == []
    legacy = Registration(
        rules.ACCESS_POLICY,
        "token-vault-access-writer-deployer",
        {"policy": {"objectId": "x", "permissions": {"secrets": ["get", "list", "set"]}}},
    )
    (line,) = rules.check_resource(legacy, TODAY)
    assert "typed azure-native:keyvault:AccessPolicy" in line


def test_secret_options_a_source_does_not_report_are_not_judged() -> None:
    assert rules.token_secret_write_once(secret({}), TODAY) == []
