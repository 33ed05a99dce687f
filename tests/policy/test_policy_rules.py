"""Every security rule with a violating and a compliant resource, and the CrossGuard pack's
validate callbacks driven with stand-in argument objects (no policy server)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from foundation import wellknown
from scripts.policy import identity_rules as identity
from scripts.policy import rules
from scripts.policy.rules import Registration

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "policy"))
import pack
from pulumi_policy import EnforcementLevel

TODAY = date(2026, 11, 29)
SUB = "/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333"
VAULT_ID = f"{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv"
GITHUB = "https://token.actions.githubusercontent.com"
BREAK_GLASS = "99999999-8888-4777-8666-555555555555"
SP_OBJECT_ID = "5f3c1a2b-0000-4000-8000-00000000000a"
APP_CLIENT_ID = "5f3c1a2b-0000-4000-8000-00000000000b"


def vault(**props: Any) -> Registration:
    base = {
        "enablePurgeProtection": True,
        "enableSoftDelete": True,
        "softDeleteRetentionInDays": 90,
        "enableRbacAuthorization": False,
        "networkAcls": {"defaultAction": "Deny", "ipRules": [{"value": "198.51.100.0/24"}]},
    }
    return Registration(rules.VAULT, "token-vault-vault", {"properties": {**base, **props}})


def arm_vault(entries: list[dict[str, Any]], api: str = "2026-02-01", **props: Any) -> Registration:
    """The vault as the program declares it: azure-native's generic resource."""
    base = {"enableRbacAuthorization": False, "accessPolicies": entries, **props}
    return Registration(
        rules.GENERIC_RESOURCE,
        "token-vault-vault",
        {
            "apiVersion": api,
            "resourceProviderNamespace": "Microsoft.KeyVault",
            "resourceType": "vaults",
            "parentResourcePath": "",
            "resourceName": "kv",
            "properties": base,
        },
    )


def entry(object_id: str, *secrets: str, **extra: Any) -> dict[str, Any]:
    return {
        "tenantId": "t",
        "objectId": object_id,
        "permissions": {"secrets": list(secrets)},
        **extra,
    }


def writer_role(scope: str, principal_type: str | None = "User") -> Registration:
    inputs = {
        "principalId": "me",
        "roleDefinitionId": f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/"
        f"{wellknown.KEY_VAULT_SECRETS_OFFICER_ROLE}",
        "scope": scope,
    }
    if principal_type:
        inputs["principalType"] = principal_type
    return Registration(rules.ROLE_ASSIGNMENT, "token-vault-access-writer-deployer", inputs)


def reader_policy(**policy: Any) -> Registration:
    base = {"objectId": SP_OBJECT_ID, "tenantId": "t", "permissions": {"secrets": ["get"]}}
    return Registration(
        rules.ACCESS_POLICY, "token-vault-access-reader", {"policy": {**base, **policy}}
    )


def reader_role(role: str, scope: str) -> Registration:
    return Registration(
        rules.ROLE_ASSIGNMENT,
        "token-vault-access-reader",
        {
            "principalId": SP_OBJECT_ID,
            "roleDefinitionId": f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}",
            "scope": scope,
        },
    )


def password(end: str | None, start: str | None = None) -> Registration:
    inputs = {k: v for k, v in {"endDate": end, "startDate": start}.items() if v}
    return Registration(rules.APPLICATION_PASSWORD, "keyvault-client-secret", inputs)


def secret(options: dict[str, Any] | None = None, **props: Any) -> Registration:
    base = {"contentType": "text/plain", "attributes": {"expires": 1_800_000_000}}
    default_options = {
        "protect": True,
        "retainOnDelete": True,
        "ignoreChanges": ["properties", "tags"],
    }
    return Registration(
        rules.SECRET,
        "token-vault-token-secret",
        {"properties": {**base, **props}},
        options if options is not None else default_options,
    )


def ca_policy(state: str = "enabled", **changes: Any) -> Registration:
    inputs: dict[str, Any] = {
        "displayName": "require MFA",
        "state": state,
        "conditions": {
            "clientAppTypes": ["all"],
            "applications": {"includedApplications": ["All"]},
            "users": {"includedUsers": ["All"], "excludedUsers": [BREAK_GLASS]},
        },
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]},
    }
    inputs.update(changes)
    return Registration(rules.CONDITIONAL_ACCESS_POLICY, "mfa-require-mfa", inputs)


def users(**users: Any) -> dict[str, Any]:
    conditions = dict(ca_policy().inputs["conditions"])
    conditions["users"] = users
    return conditions


def federation(audiences: list[str], issuer: str = GITHUB) -> Registration:
    inputs = {"issuer": issuer, "subject": "repo:contoso/app:ref:refs/heads/main"}
    return Registration(
        rules.FEDERATED_CREDENTIAL, "pipeline-federation", {**inputs, "audiences": audiences}
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


def test_inline_reader_must_be_the_service_principal_object_id() -> None:
    graph = identity_graph(SP_OBJECT_ID)[:2]
    wrong = [*graph, arm_vault([entry(APP_CLIENT_ID, "get"), entry("me", "get", "list", "set")])]
    (line,) = rules.reader_is_service_principal(wrong)
    assert line.startswith(f"token-vault-vault: grants {APP_CLIENT_ID}")
    right = [*graph, arm_vault([entry(SP_OBJECT_ID, "get"), entry("me", "get", "list", "set")])]
    assert rules.reader_is_service_principal(right) == []


def test_one_grant_per_identity_inline_and_per_role_scope() -> None:
    twice = arm_vault([entry("me", "get", "list", "set"), entry("ME", "get", "list", "set")])
    (line,) = rules.one_grant_per_identity([twice])
    assert "grants ME on kv again" in line
    scope = f"{VAULT_ID}/secrets/token"
    roles = [
        writer_role(scope),
        Registration(
            rules.ROLE_ASSIGNMENT, "token-vault-access-writer-me", writer_role(scope).inputs
        ),
    ]
    (line,) = rules.one_grant_per_identity(roles)
    assert line.startswith("token-vault-access-writer-me: grants me on kv again")


def test_secret_options_a_source_does_not_report_are_not_judged() -> None:
    assert rules.token_secret_write_once(secret({}), TODAY) == []


def identity_graph(reader_object_id: str) -> list[Registration]:
    return [
        Registration(
            rules.APPLICATION,
            "keyvault-client-app",
            {},
            outputs={"clientId": APP_CLIENT_ID, "objectId": "app-object"},
        ),
        Registration(
            rules.SERVICE_PRINCIPAL,
            "keyvault-client-sp",
            {"clientId": APP_CLIENT_ID},
            outputs={"objectId": SP_OBJECT_ID, "clientId": APP_CLIENT_ID},
        ),
        reader_policy(objectId=reader_object_id),
    ]


@pytest.mark.parametrize("wrong", [APP_CLIENT_ID, "app-object", "someone-else"])
def test_reader_must_be_the_service_principal_object_id(wrong: str) -> None:
    (line,) = rules.reader_is_service_principal(identity_graph(wrong))
    assert line.startswith(f"token-vault-access-reader: grants {wrong}")
    assert rules.reader_is_service_principal(identity_graph(SP_OBJECT_ID)) == []


def test_reader_check_skips_when_object_ids_are_unknown() -> None:
    graph = identity_graph(APP_CLIENT_ID)
    graph[1] = Registration(rules.SERVICE_PRINCIPAL, "keyvault-client-sp", {})
    assert rules.reader_is_service_principal(graph) == []


def writer(name: str, object_id: str, vault_name: str = "kv") -> Registration:
    policy = {"objectId": object_id, "permissions": {"secrets": ["get", "list", "set"]}}
    return Registration(
        rules.ACCESS_POLICY,
        f"token-vault-access-writer-{name}",
        {"vaultName": vault_name, "policy": policy},
    )


def test_one_access_policy_per_identity_and_vault() -> None:
    twice = [writer("deployer", "me"), writer("me", "me")]
    (line,) = rules.one_grant_per_identity(twice)
    assert line.startswith("token-vault-access-writer-me: grants me on kv again")
    assert "leave it out of writerObjectIds" in line
    assert rules.one_grant_per_identity([writer("deployer", "me"), writer("x", "other")]) == []
    assert rules.one_grant_per_identity([writer("a", "me"), writer("b", "me", "kv2")]) == []


def test_warning_rules_never_count_as_violations() -> None:
    expired = password("2020-01-01T00:00:00Z")
    report_only = ca_policy("enabledForReportingButNotEnforced")
    assert rules.check_all([expired, report_only], TODAY) == []
    warnings = rules.check_warnings([expired, report_only], TODAY)
    assert [w.split(":")[0] for w in warnings] == ["keyvault-client-secret", "mfa-require-mfa"]
    assert "set clientSecretRotation to 2026-11-29" in warnings[0]


def security_defaults(enabled: bool) -> Registration:
    return Registration(
        rules.SECURITY_DEFAULTS, "mfa-security-defaults", {"enabled": enabled, "cloud": "public"}
    )


def test_security_defaults_on_and_an_enforced_policy_are_exclusive() -> None:
    (line,) = rules.check_all([security_defaults(True), ca_policy("enabled")], TODAY)
    assert line.startswith("mfa-require-mfa: is enabled while mfa-security-defaults switches")
    assert "choose one mfaEnforcement mode" in line
    assert identity.mfa_modes_exclusive([security_defaults(False), ca_policy("enabled")]) == []
    report_only = ca_policy("enabledForReportingButNotEnforced")
    assert identity.mfa_modes_exclusive([security_defaults(True), report_only]) == []


# -- the CrossGuard pack ---------------------------------------------------------------------


def crossguard_args(resource: Registration, **opts: Any) -> SimpleNamespace:
    """Stands in for pulumi_policy.ResourceValidationArgs."""
    return SimpleNamespace(
        resource_type=resource.type,
        name=resource.name,
        props=resource.inputs,
        urn=f"urn:pulumi:dev::csp-secure-app::{resource.type}::{resource.name}",
        opts=SimpleNamespace(
            protect=opts.get("protect", False),
            ignore_changes=opts.get("ignore_changes", []),
            delete_before_replace=False,
        ),
    )


def validate(policy_name: str, args: Any) -> list[str]:
    (policy,) = [p for p in pack.build_policies() if p.name == policy_name]
    reported: list[str] = []

    def report_violation(message: str, urn: str | None = None) -> None:
        reported.append(message)

    policy.validate(args, report_violation)
    return reported


def test_pack_has_one_policy_per_rule_plus_the_stack_rule() -> None:
    names = [p.name for p in pack.build_policies()]
    count = len(rules.RESOURCE_RULES) + len(rules.STACK_RULES) + len(rules.WARNING_RULES)
    assert len(names) == len(set(names)) == count
    assert {"reader-get-only", "reader-is-service-principal", "one-grant-per-identity"} <= set(
        names
    )


def test_pack_reports_a_vault_without_purge_protection() -> None:
    bad = validate("vault-purge-protection", crossguard_args(vault(enablePurgeProtection=False)))
    assert len(bad) == 1 and "purge protection is off" in bad[0]
    assert validate("vault-purge-protection", crossguard_args(vault())) == []


def test_pack_warnings_are_advisory_and_violations_mandatory() -> None:
    levels = {p.name: p.enforcement_level for p in pack.build_policies()}
    assert levels["password-not-expired"] == EnforcementLevel.ADVISORY
    assert levels["conditional-access-report-only"] == EnforcementLevel.ADVISORY
    assert levels["conditional-access-requires-mfa"] == EnforcementLevel.MANDATORY
    assert levels["mfa-modes-exclusive"] == EnforcementLevel.MANDATORY
    expired = crossguard_args(password("2020-01-01T00:00:00Z"))
    (message,) = validate("password-not-expired", expired)
    assert "ended on 2020-01-01" in message


def test_pack_judges_the_token_secret_options_crossguard_reports() -> None:
    unprotected = crossguard_args(secret(), protect=False, ignore_changes=["properties"])
    assert validate("token-secret-write-once", unprotected) == [
        "token-vault-token-secret: is not protected. Fix: set protect=True."
    ]
    kept = crossguard_args(secret(), protect=True, ignore_changes=["properties", "tags"])
    # CrossGuard does not expose retainOnDelete: not judged, so no false alarm.
    assert validate("token-secret-write-once", kept) == []


def test_pack_stack_policy_compares_object_ids() -> None:
    def stack_args(reader_object_id: str) -> SimpleNamespace:
        return SimpleNamespace(
            resources=[
                SimpleNamespace(resource_type=r.type, name=r.name, props={**r.inputs, **r.outputs})
                for r in identity_graph(reader_object_id)
            ]
        )

    assert len(validate("reader-is-service-principal", stack_args(APP_CLIENT_ID))) == 1
    assert validate("reader-is-service-principal", stack_args(SP_OBJECT_ID)) == []


def test_pack_judges_the_generic_arm_secret_as_the_token_secret() -> None:
    """CrossGuard sees azure-native:resources:Resource; the kind comes from its namespace and
    resource type, so the token secret's rules still apply."""
    generic = Registration(
        rules.GENERIC_RESOURCE,
        "token-vault-token-secret",
        {
            "apiVersion": "2026-02-01",
            "resourceProviderNamespace": "Microsoft.KeyVault",
            "resourceType": "secrets",
            "parentResourcePath": "vaults/kv",
            "resourceName": "token",
            "properties": {"contentType": "x", "attributes": {"exp": 1_800_000_000}},
        },
    )
    unprotected = crossguard_args(generic, protect=False, ignore_changes=["properties"])
    assert validate("token-secret-write-once", unprotected) == [
        "token-vault-token-secret: is not protected. Fix: set protect=True."
    ]
    assert validate("token-secret-metadata", crossguard_args(generic)) == []
    assert validate("keyvault-api-current", crossguard_args(generic)) == []
    old = crossguard_args(Registration(rules.SECRET, "token-vault-token-secret", {}))
    (message,) = validate("keyvault-api-current", old)
    assert "2027-02-27" in message
