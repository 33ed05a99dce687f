"""The security policy rules, as plain functions over recorded resource registrations.

One implementation, three users: ``csp-secure-app plan`` (over the offline plan's records), the
CrossGuard
pack in ``policy/`` (``pulumi preview --policy-pack policy``) and the tests. Each rule returns a
list of violation lines, ``"<resource>: <what is wrong>. Fix: <what to do>."``; empty means
compliant. Rules only look at what they are given, so they work on the inputs Pulumi sends
(camelCase keys, as on the wire) whether or not the resources exist yet.

Deliberately light: no provider SDK is imported here (``tasks.py`` imports lazily and
``invoke --list`` must stay fast).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from foundation import wellknown
from foundation.resource_types import (
    ACCESS_POLICY,
    APPLICATION,
    APPLICATION_PASSWORD,
    CONDITIONAL_ACCESS_POLICY,
    FEDERATED_CREDENTIAL,
    GENERIC_RESOURCE,
    READER_MARKER,
    READER_PERMISSIONS,
    ROLE_ASSIGNMENT,
    SECRET,
    SECURITY_DEFAULTS,
    SERVICE_PRINCIPAL,
    VAULT,
    WRITER_MARKER,
    WRITER_PERMISSIONS,
    Registration,
    ResourceLike,
    Rule,
    arm_name,
    kind,
)
from foundation.resource_types import arm_properties as _props
from foundation.resource_types import line as _line
from scripts.policy import identity_rules as identity

__all__ = [
    "ACCESS_POLICY",
    "APPLICATION",
    "APPLICATION_PASSWORD",
    "CONDITIONAL_ACCESS_POLICY",
    "FEDERATED_CREDENTIAL",
    "GENERIC_RESOURCE",
    "READER_MARKER",
    "RESOURCE_RULES",
    "ROLE_ASSIGNMENT",
    "SECRET",
    "SECURITY_DEFAULTS",
    "SERVICE_PRINCIPAL",
    "STACK_RULES",
    "VAULT",
    "WARNING_RULES",
    "WRITER_MARKER",
    "Registration",
    "ResourceLike",
    "Rule",
    "arm_name",
    "check_all",
    "check_resource",
    "check_warnings",
    "kind",
]

MIN_RETENTION_DAYS = 7
MAX_RETENTION_DAYS = 90
#: Key Vault's limit of access policy entries per vault.
MAX_ACCESS_POLICIES = 1024


def vault_purge_protection(resource: ResourceLike, today: date) -> list[str]:
    """The token vault has purge protection on."""
    if kind(resource) != VAULT or _props(resource).get("enablePurgeProtection") is True:
        return []
    return [
        _line(
            resource,
            "purge protection is off, so anyone with vault rights can destroy the token for good",
            "set properties.enable_purge_protection=True",
        )
    ]


def vault_retention(resource: ResourceLike, today: date) -> list[str]:
    """Soft delete stays on with 7-90 days of retention."""
    if kind(resource) != VAULT:
        return []
    props = _props(resource)
    problems = []
    if props.get("enableSoftDelete") is False:
        problems.append(_line(resource, "soft delete is off", "remove enable_soft_delete=False"))
    days = props.get("softDeleteRetentionInDays")
    if days is not None and not MIN_RETENTION_DAYS <= int(days) <= MAX_RETENTION_DAYS:
        problems.append(
            _line(
                resource,
                f"soft-delete retention is {days} days",
                f"set softDeleteRetentionDays between {MIN_RETENTION_DAYS} and "
                f"{MAX_RETENTION_DAYS}",
            )
        )
    return problems


def vault_rbac_flag_explicit(resource: ResourceLike, today: date) -> list[str]:
    """enable_rbac_authorization is set explicitly on the vault."""
    if kind(resource) != VAULT or isinstance(_props(resource).get("enableRbacAuthorization"), bool):
        return []
    return [
        _line(
            resource,
            "enable_rbac_authorization is not set; API 2026-02-01 makes new vaults RBAC by "
            "default and an RBAC vault ignores every access policy",
            "set enable_rbac_authorization explicitly (False for accessPolicy mode)",
        )
    ]


def vault_access_policies_least_privilege(resource: ResourceLike, today: date) -> list[str]:
    """Inline access policies grant secrets only: get to the reader, get/list/set to writers.

    The vault's own ``accessPolicies`` is the one list of grants (no standalone policies, so no
    second writer of the list). An access policy covers every secret in the vault, hence the
    tight permission sets; an RBAC vault ignores the list, so there it must be empty."""
    if kind(resource) != VAULT:
        return []
    props = _props(resource)
    entries = props.get("accessPolicies")
    if not isinstance(entries, list) or not entries:
        return []
    if props.get("enableRbacAuthorization") is True:
        return [
            _line(
                resource,
                f"lists {len(entries)} access policies on an RBAC vault, which ignores them",
                "leave accessPolicies empty in rbac mode (grant roles instead)",
            )
        ]
    problems = []
    if len(entries) > MAX_ACCESS_POLICIES:
        problems.append(
            _line(
                resource,
                f"lists {len(entries)} access policies; Key Vault allows {MAX_ACCESS_POLICIES}",
                "use accessMode rbac or fewer writers",
            )
        )
    for entry in entries:
        entry = entry if isinstance(entry, Mapping) else {}
        permissions = entry.get("permissions") or {}
        secrets = sorted(permissions.get("secrets") or [])
        who = entry.get("objectId")
        if secrets not in (sorted(READER_PERMISSIONS), sorted(WRITER_PERMISSIONS)) or any(
            permissions.get(other) for other in ("keys", "certificates", "storage")
        ):
            problems.append(
                _line(
                    resource,
                    f"the access policy for {who} may {_describe(permissions)}",
                    "grant secrets ['get'] to the reader and ['get', 'list', 'set'] to writers, "
                    "nothing else",
                )
            )
        if entry.get("applicationId"):
            problems.append(
                _line(
                    resource,
                    f"the access policy for {who} sets applicationId, which grants a compound "
                    "identity and refuses the service principal on its own",
                    "remove applicationId",
                )
            )
    return problems


def vault_network_deny_when_ranges(resource: ResourceLike, today: date) -> list[str]:
    """A vault with IP ranges denies everything else."""
    if kind(resource) != VAULT:
        return []
    acls = _props(resource).get("networkAcls") or {}
    if acls.get("ipRules") and acls.get("defaultAction") != "Deny":
        return [
            _line(
                resource,
                f"lists IP ranges but its default action is {acls.get('defaultAction')!r}, so "
                "the ranges restrict nothing",
                "set network_acls.default_action='Deny'",
            )
        ]
    return []


def reader_get_only(resource: ResourceLike, today: date) -> list[str]:
    """The Key Vault client app can only get secrets."""
    if READER_MARKER not in resource.name:
        return []
    if resource.type == ACCESS_POLICY:
        policy = resource.inputs.get("policy") or {}
        permissions = policy.get("permissions") or {}
        problems = []
        if sorted(permissions.get("secrets") or []) != ["get"] or any(
            permissions.get(kind) for kind in ("keys", "certificates", "storage")
        ):
            problems.append(
                _line(
                    resource,
                    f"the Key Vault client app may {_describe(permissions)}; it must only get "
                    "secrets",
                    "grant secrets ['get'] and nothing else",
                )
            )
        if policy.get("applicationId"):
            problems.append(
                _line(
                    resource,
                    "sets applicationId, which grants a compound identity and refuses the "
                    "service principal on its own",
                    "remove policy.application_id",
                )
            )
        return problems
    if resource.type == ROLE_ASSIGNMENT:
        problems = []
        role = str(resource.inputs.get("roleDefinitionId") or "")
        if not role.lower().endswith(wellknown.KEY_VAULT_SECRETS_USER_ROLE):
            problems.append(
                _line(
                    resource,
                    f"gives the Key Vault client app role {role.rsplit('/', 1)[-1]!r}",
                    "assign Key Vault Secrets User (read secrets only)",
                )
            )
        if "/secrets/" not in str(resource.inputs.get("scope") or ""):
            problems.append(
                _line(
                    resource,
                    "scopes the Key Vault client app's role wider than the token secret",
                    "scope the role assignment to the secret's resource id",
                )
            )
        return problems
    return []


def _describe(permissions: Mapping[str, Any]) -> str:
    granted = [f"{kind} {sorted(values)}" for kind, values in sorted(permissions.items()) if values]
    return ", ".join(granted) or "do nothing"


def token_secret_metadata(resource: ResourceLike, today: date) -> list[str]:
    """The token secret has a content type and an expiry."""
    if kind(resource) != SECRET:
        return []
    props = _props(resource)
    problems = []
    if not props.get("contentType"):
        problems.append(_line(resource, "has no content type", "set properties.content_type"))
    attributes = props.get("attributes") or {}
    # ARM's SecretAttributes call it `exp`; the previous program's typed resource `expires`.
    if not (attributes.get("exp") or attributes.get("expires")):
        problems.append(
            _line(
                resource,
                "has no expiry, so nothing warns before the token dies",
                "set properties.attributes.exp",
            )
        )
    return problems


def token_secret_write_once(resource: ResourceLike, today: date) -> list[str]:
    """The token secret is protected and never rewritten by Pulumi.

    Its value belongs to ``csp-secure-app consent``: Pulumi must never write it again, and deleting
    the
    stack must not delete it. Options a source cannot report are not judged."""
    if kind(resource) != SECRET:
        return []
    options = resource.options
    problems = []
    ignored = set(options.get("ignoreChanges") or [])
    if "ignoreChanges" in options and not ignored & {"properties", "properties.value"}:
        problems.append(
            _line(
                resource,
                "an update would write the placeholder over the stored refresh token",
                "add ignore_changes=['properties', 'tags']",
            )
        )
    if "protect" in options and options["protect"] is not True:
        problems.append(_line(resource, "is not protected", "set protect=True"))
    if "retainOnDelete" in options and options["retainOnDelete"] is not True:
        problems.append(
            _line(
                resource,
                "would be deleted with the stack, taking the token with it",
                "set retain_on_delete=True",
            )
        )
    return problems


RESOURCE_RULES: tuple[Rule, ...] = (
    vault_purge_protection,
    vault_retention,
    vault_rbac_flag_explicit,
    vault_access_policies_least_privilege,
    vault_network_deny_when_ranges,
    reader_get_only,
    identity.keyvault_api_current,
    identity.role_assignment_least_privilege,
    identity.password_lifetime,
    token_secret_metadata,
    token_secret_write_once,
    identity.conditional_access_requires_mfa,
    identity.federated_credential_exchange_audience,
)
#: Advisory rules: reported as warnings (CrossGuard: advisory), never fail a plan.
WARNING_RULES: tuple[Rule, ...] = (
    identity.password_not_expired,
    identity.conditional_access_report_only,
    identity.conditional_access_break_glass,
)


STACK_RULES = (
    identity.reader_is_service_principal,
    identity.one_grant_per_identity,
    identity.mfa_modes_exclusive,
)
# Kept importable from here, where the other rules live.
reader_is_service_principal = identity.reader_is_service_principal
one_grant_per_identity = identity.one_grant_per_identity


def check_resource(resource: ResourceLike, today: date | None = None) -> list[str]:
    day = today or datetime.now(UTC).date()
    return [line for rule in RESOURCE_RULES for line in rule(resource, day)]


def check_all(resources: Iterable[ResourceLike], today: date | None = None) -> list[str]:
    """Every resource rule over every resource, then the stack rules."""
    items = list(resources)
    problems = [line for resource in items for line in check_resource(resource, today)]
    return problems + [line for rule in STACK_RULES for line in rule(items)]


def check_warnings(resources: Iterable[ResourceLike], today: date | None = None) -> list[str]:
    """Every advisory rule over every resource."""
    day = today or datetime.now(UTC).date()
    items = list(resources)
    return [line for resource in items for rule in WARNING_RULES for line in rule(resource, day)]
