"""The rules that judge the stack as a whole (the reader is the service principal's object id,
one grant per identity, security defaults against an enforced Conditional Access policy) and
how warnings count: advisory rules are reported, never as violations."""

from __future__ import annotations

import pytest

from scripts.policy import identity_rules as identity
from scripts.policy import rules
from scripts.policy.rules import Registration
from tests.policy.policy_resources import (
    APP_CLIENT_ID,
    SP_OBJECT_ID,
    TODAY,
    VAULT_ID,
    arm_vault,
    ca_policy,
    entry,
    identity_graph,
    password,
    writer_role,
)


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
