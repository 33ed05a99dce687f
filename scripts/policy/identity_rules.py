"""Policy rules for the tenant-side resources (client secrets, MFA enforcement, the pipeline's
federation) and for how identities reach the vault (role assignments, the Key Vault API).

Same contract as ``scripts.policy.rules`` (which lists these rules with the others): a rule takes
what Pulumi sends (camelCase inputs) and returns ``"<resource>: <problem>. Fix: <fix>."`` lines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from foundation import wellknown
from foundation.resource_types import (
    ACCESS_POLICY,
    APPLICATION,
    APPLICATION_PASSWORD,
    CONDITIONAL_ACCESS_POLICY,
    FEDERATED_CREDENTIAL,
    GENERIC_RESOURCE,
    MFA_CONTROL,
    READER_MARKER,
    READER_PERMISSIONS,
    ROLE_ASSIGNMENT,
    SECRET,
    SECURITY_DEFAULTS,
    SERVICE_PRINCIPAL,
    VAULT,
    WRITER_MARKER,
    ResourceLike,
    arm_name,
    arm_properties,
    kind,
    line,
    mapping,
    output_of,
    parse_day,
    vault_name_of,
)

REPORT_ONLY = "enabledForReportingButNotEnforced"
MAX_PASSWORD_LIFETIME_DAYS = 730
#: Microsoft.Authorization 2022-04-01 PrincipalType values a vault grant can name.
PRINCIPAL_TYPES = ("User", "Group", "ServicePrincipal")


def keyvault_api_current(resource: ResourceLike, today: date) -> list[str]:
    """Key Vault resources use control-plane API 2026-02-01 or later.

    Earlier versions stop being served on 2027-02-27 (no extension); pulumi-azure-native 3.x's
    typed keyvault resources are generated for 2024-11-01."""
    what = kind(resource)
    if what not in (VAULT, SECRET, ACCESS_POLICY):
        return []
    wanted = wellknown.KEY_VAULT_CONTROL_PLANE_API_VERSION
    if resource.type != GENERIC_RESOURCE:
        return [
            line(
                resource,
                f"is a typed {resource.type} resource (API 2024-11-01, which Azure stops "
                "serving on 2027-02-27)",
                f"declare it as resources.Resource with api_version {wanted} (README: "
                "upgrading a stack)",
            )
        ]
    version = str(resource.inputs.get("apiVersion") or "")
    if version[:10] < wanted:
        return [
            line(
                resource,
                f"uses Key Vault API {version or 'none'}, which Azure stops serving on 2027-02-27",
                f"set api_version {wanted}",
            )
        ]
    return []


def role_assignment_least_privilege(resource: ResourceLike, today: date) -> list[str]:
    """Role assignments name their principal type; writers' reach the token secret only."""
    if resource.type != ROLE_ASSIGNMENT:
        return []
    problems = []
    principal_type = resource.inputs.get("principalType")
    if principal_type not in PRINCIPAL_TYPES:
        problems.append(
            line(
                resource,
                f"names principal type {principal_type!r}; without the right one "
                "pulumi-azure-native sends User and ARM refuses a service principal or group "
                "(UnmatchedPrincipalType)",
                f"set principal_type to one of {', '.join(PRINCIPAL_TYPES)}",
            )
        )
    scope = str(resource.inputs.get("scope") or "")
    if WRITER_MARKER in resource.name and "/secrets/" not in scope:
        problems.append(
            line(
                resource,
                "scopes a writer's role wider than the token secret (a vault scope covers "
                "every secret in it)",
                "scope the role assignment to the secret's resource id",
            )
        )
    return problems


def _strings(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def password_lifetime(resource: ResourceLike, today: date) -> list[str]:
    """Client secrets expire within 730 days."""
    if resource.type != APPLICATION_PASSWORD:
        return []
    end_text = resource.inputs.get("endDate")
    if not end_text:
        return [
            line(
                resource,
                "has no end date (the provider would pick one)",
                f"set end_date at most {MAX_PASSWORD_LIFETIME_DAYS} days ahead",
            )
        ]
    end = parse_day(str(end_text))
    start_text = resource.inputs.get("startDate")
    start = parse_day(str(start_text)) if start_text else today
    if end is None or start is None:
        return [
            line(
                resource, f"end date {end_text!r} is not RFC 3339", "use e.g. 2027-01-31T00:00:00Z"
            )
        ]
    days = (end - start).days
    if days > MAX_PASSWORD_LIFETIME_DAYS:
        return [
            line(
                resource,
                f"is valid for {days} days (until {end})",
                f"keep client secrets at most {MAX_PASSWORD_LIFETIME_DAYS} days "
                "(clientSecretLifetimeDays)",
            )
        ]
    return []


def password_not_expired(resource: ResourceLike, today: date) -> list[str]:
    """Warning: a client secret's end date is still ahead.

    A warning, not a violation: every stack gets here with time alone, and refusing the plan
    would block unrelated changes (and the example stack's plan) until someone rotates."""
    if resource.type != APPLICATION_PASSWORD:
        return []
    end = parse_day(str(resource.inputs.get("endDate") or ""))
    if end is None or end > today:
        return []
    return [
        line(
            resource,
            f"ended on {end}, so signing in with it fails (AADSTS7000222)",
            f"set clientSecretRotation to {today} and run `pulumi up` to issue a new secret, "
            "then give the automation platform the new one",
        )
    ]


def conditional_access_requires_mfa(resource: ResourceLike, today: date) -> list[str]:
    """The Conditional Access policy requires MFA for all users and all apps."""
    if resource.type != CONDITIONAL_ACCESS_POLICY:
        return []
    grant = mapping(resource.inputs.get("grantControls"))
    controls = _strings(grant.get("builtInControls"))
    conditions = mapping(resource.inputs.get("conditions"))
    problems = []
    # With OR, any other control (a compliant device, terms of use) satisfies the policy alone.
    only_mfa = controls == [MFA_CONTROL]
    if MFA_CONTROL not in controls or (grant.get("operator") != "AND" and not only_mfa):
        problems.append(
            line(
                resource,
                f"grants access with {controls} ({grant.get('operator')}), which does not "
                "require MFA",
                "set grant_controls to operator 'OR' with built_in_controls ['mfa']",
            )
        )
    if "All" not in _strings(mapping(conditions.get("users")).get("includedUsers")):
        problems.append(
            line(
                resource,
                "does not include all users, so some sign in without MFA",
                "include_users ['All'] and exclude only break-glass accounts "
                "(mfaExcludedObjectIds)",
            )
        )
    if "All" not in _strings(mapping(conditions.get("applications")).get("includedApplications")):
        problems.append(
            line(
                resource,
                "does not cover all cloud apps, so Partner Center sign-ins may skip MFA",
                "set included_applications ['All']",
            )
        )
    if resource.inputs.get("state") == "disabled":
        problems.append(
            line(resource, "is disabled", "set mfaPolicyState (enabled, or report-only first)")
        )
    return problems


def federated_credential_exchange_audience(resource: ResourceLike, today: date) -> list[str]:
    """The pipeline's federated credential trusts an https issuer, with Entra's exchange audience.

    The token exchange audience makes the pipeline's OIDC token useful to Entra ID alone: a
    token minted for another service cannot be replayed here, nor ours there."""
    if resource.type != FEDERATED_CREDENTIAL:
        return []
    problems = []
    audiences = _strings(resource.inputs.get("audiences"))
    known = sorted(wellknown.TOKEN_EXCHANGE_AUDIENCES.values())
    if len(audiences) != 1 or audiences[0] not in known:
        problems.append(
            line(
                resource,
                f"accepts audiences {audiences}, not exactly one token exchange audience",
                f"set audiences to the cloud's one: {', '.join(known)}",
            )
        )
    issuer = str(resource.inputs.get("issuer") or "")
    if not issuer.startswith("https://"):
        problems.append(
            line(
                resource,
                f"trusts issuer {issuer!r}, which is not an https URL",
                "set the issuer to the https URL in the CI token's iss claim",
            )
        )
    return problems


def conditional_access_report_only(resource: ResourceLike, today: date) -> list[str]:
    """Warning: a report-only Conditional Access policy does not enforce MFA yet."""
    if resource.type != CONDITIONAL_ACCESS_POLICY or resource.inputs.get("state") != REPORT_ONLY:
        return []
    return [
        line(
            resource,
            "is report-only: it logs whom it would challenge but enforces no MFA",
            "review the report-only results in the Entra sign-in logs, then set "
            "mfaPolicyState to enabled",
        )
    ]


def conditional_access_break_glass(resource: ResourceLike, today: date) -> list[str]:
    """Warning: an enforced MFA policy for all users excludes a break-glass account."""
    if resource.type != CONDITIONAL_ACCESS_POLICY or resource.inputs.get("state") != "enabled":
        return []
    users = mapping(mapping(resource.inputs.get("conditions")).get("users"))
    if _strings(users.get("excludedUsers")) or _strings(users.get("excludedGroups")):
        return []
    return [
        line(
            resource,
            "excludes no emergency access account, so an MFA outage locks every admin out",
            "add a break-glass account's object id to mfaExcludedObjectIds",
        )
    ]


def mfa_modes_exclusive(resources: Sequence[Any]) -> list[str]:
    """Security defaults and an enforced Conditional Access policy are not declared together.

    Stack rule: Entra refuses to enable a Conditional Access policy while security defaults are
    on, so such a stack fails halfway through ``pulumi up``."""
    switched_on = [
        r.name
        for r in resources
        if r.type == SECURITY_DEFAULTS and mapping(r.inputs).get("enabled") is True
    ]
    if not switched_on:
        return []
    return [
        line(
            r,
            f"is enabled while {switched_on[0]} switches security defaults on, which Entra refuses",
            "choose one mfaEnforcement mode: securityDefaults or conditionalAccess",
        )
        for r in resources
        if r.type == CONDITIONAL_ACCESS_POLICY and mapping(r.inputs).get("state") == "enabled"
    ]


# -- stack rules over every grant on a vault --------------------------------------------------


def _grants(resources: Sequence[Any]) -> list[tuple[Any, str, str, bool, str]]:
    """Every grant on a vault: (resource, vault, principal, is_reader, what). From the vault's
    inline access policies (the reader's is the get-only one), role assignments (named with the
    reader/writer marker; the vault read from the scope) and the previous program's standalone
    access policies."""
    found: list[tuple[Any, str, str, bool, str]] = []
    for resource in resources:
        what = kind(resource)
        if what == VAULT:
            vault = str(arm_name(resource))
            for entry in arm_properties(resource).get("accessPolicies") or []:
                if isinstance(entry, Mapping) and isinstance(entry.get("objectId"), str):
                    secrets = sorted((entry.get("permissions") or {}).get("secrets") or [])
                    reader = secrets == list(READER_PERMISSIONS)
                    found.append((resource, vault, entry["objectId"], reader, "access policy"))
        elif what == ACCESS_POLICY:
            principal = (resource.inputs.get("policy") or {}).get("objectId")
            if isinstance(principal, str):
                reader = READER_MARKER in resource.name
                vault = str(vault_name_of(resource))
                found.append((resource, vault, principal, reader, "access policy"))
        elif what == ROLE_ASSIGNMENT:
            principal = resource.inputs.get("principalId")
            scope = str(resource.inputs.get("scope") or "")
            if isinstance(principal, str) and "/vaults/" in scope:
                vault = scope.split("/vaults/", 1)[1].split("/", 1)[0]
                role = str(resource.inputs.get("roleDefinitionId") or "").rsplit("/", 1)[-1]
                reader = READER_MARKER in resource.name
                found.append((resource, vault, principal, reader, f"role {role} on {scope}"))
    return found


def reader_is_service_principal(resources: Sequence[Any]) -> list[str]:
    """Vault read access names the client app's service principal object id.

    Stack rule: the reader's object id must be the service principal's object id. The
    client id and the application object id are GUIDs too, and Key Vault accepts them without
    complaint while granting nobody. Needs outputs; unknown values (a preview) are skipped."""
    sp_ids = {
        str(value)
        for r in resources
        if r.type == SERVICE_PRINCIPAL and (value := output_of(r, "objectId"))
    }
    app_ids = {
        str(value)
        for r in resources
        if r.type in (APPLICATION, SERVICE_PRINCIPAL)
        for key in (("clientId", "objectId") if r.type == APPLICATION else ("clientId",))
        if (value := output_of(r, key))
    }
    if not sp_ids:
        return []
    problems = []
    for resource, _, principal, reader, _ in _grants(resources):
        if reader and (principal in app_ids or principal not in sp_ids):
            problems.append(
                line(
                    resource,
                    f"grants {principal}, which is not the Key Vault client app's service "
                    "principal object id",
                    "use the ServicePrincipal's object_id (not the client id or the "
                    "application object id)",
                )
            )
    return problems


def one_grant_per_identity(resources: Sequence[Any]) -> list[str]:
    """One grant per identity and vault.

    Stack rule: a second access policy for the same object id on one vault (e.g. the deploying
    identity listed again in writerObjectIds) fails on create or, inline, merges into one entry
    with the wrong permissions; a second role assignment of the same role on the same scope
    fails with RoleAssignmentExists."""
    first_by_grant: dict[tuple[str, str, str], str] = {}
    problems = []
    for resource, vault, principal, _, what in _grants(resources):
        key = (vault.lower(), principal.lower(), what.lower())
        if key not in first_by_grant:
            first_by_grant[key] = resource.name
            continue
        problems.append(
            line(
                resource,
                f"grants {principal} on {vault} again (already granted by {first_by_grant[key]})",
                "list each identity once; the deploying identity is always a writer, "
                "so leave it out of writerObjectIds",
            )
        )
    return problems
