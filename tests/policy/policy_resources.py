"""The resources the policy rules judge, as the Pulumi program registers them: one builder per
kind (compliant unless told otherwise) and the ids they share. Used by the rule tests
(test_policy_resource_rules.py, test_policy_stack_rules.py) and the CrossGuard pack's tests
(test_policy_crossguard_pack.py), so every file builds the same stand-ins."""

from __future__ import annotations

from datetime import date
from typing import Any

from foundation import wellknown
from scripts.policy import rules
from scripts.policy.rules import Registration

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
