"""The CrossGuard policy pack (policy/pack.py): one policy per rule, warnings advisory and
violations mandatory, and its validate callbacks driven with stand-in argument objects (no
policy server), including what CrossGuard does and does not report about a resource."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from scripts.policy import rules
from scripts.policy.rules import Registration
from tests.policy.policy_resources import (
    APP_CLIENT_ID,
    SP_OBJECT_ID,
    identity_graph,
    password,
    secret,
    vault,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "policy"))
import pack
from pulumi_policy import EnforcementLevel


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
