"""Policy rules for the tenant-side resources: client secrets, MFA enforcement and the pipeline's
federation.

Same contract as ``scripts.policy_rules`` (which lists these rules with the others): a rule takes
what Pulumi sends (camelCase inputs) and returns ``"<resource>: <problem>. Fix: <fix>."`` lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from scripts import wellknown
from scripts.policy_types import (
    APPLICATION_PASSWORD,
    CONDITIONAL_ACCESS_POLICY,
    FEDERATED_CREDENTIAL,
    SECURITY_DEFAULTS,
    ResourceLike,
    line,
    mapping,
    parse_day,
)

#: The grant control that requires multifactor authentication.
MFA_CONTROL = "mfa"
REPORT_ONLY = "enabledForReportingButNotEnforced"
MAX_PASSWORD_LIFETIME_DAYS = 730


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
    if MFA_CONTROL not in controls or (grant.get("operator") != "AND" and controls != ["mfa"]):
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
