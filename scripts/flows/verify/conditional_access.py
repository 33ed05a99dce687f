"""verify's ``conditional-access`` check: which Conditional Access policies would end the stored
refresh token before its 90 days, each with the AADSTS code it would cause and the exclusion
that fixes it, and the state of security defaults.

Entra evaluates Conditional Access at every refresh-token redemption (Learn, "Refresh tokens":
sign-in frequency replaced configurable refresh-token lifetimes; a token past it is refused with
AADSTS70043 "BadTokenDueToSignInFrequency"). A policy applies to the platform's redemption when
its users cover the admin who consented (``includeUsers`` All or their id, or a group or role of
theirs, and none of the ``exclude*``; Learn, "conditionalAccessUsers resource type") and its
target resources cover Partner Center, the resource the token is for (``includeApplications``
All or Partner Center's app id, not in ``excludeApplications``; "conditionalAccessApplications
resource type"). Excluding only the CPV app does not exempt the token: a policy stays enforced on
the resource a client requests, as Learn's "Improved enforcement for All resources policies with
resource exclusions" shows for an excluded app requesting SharePoint. A policy that names the
CPV app among its target resources is counted too: the tenant meant to target it.

The controls that end a stored token (Learn: "conditionalAccessSessionControls",
"signInFrequencySessionControl", "conditionalAccessGrantControls"; the codes from "Microsoft Entra
authentication and authorization error codes"):

* ``sessionControls.signInFrequency`` (``value`` + ``type`` days/hours, or ``frequencyInterval``
  ``everyTime``) shorter than 90 days: AADSTS70043. Longer ones cap the token from the consent
  sign-in, even when rotated: said, not counted;
* ``sessionControls.secureSignInSession`` (token protection; Graph beta only, read when present):
  a server's refresh token is not bound to a device, AADSTS530084;
* ``grantControls.builtInControls`` the platform's server cannot meet: ``block`` (AADSTS53003),
  ``compliantDevice`` (AADSTS53000), ``domainJoinedDevice`` (hybrid-joined, AADSTS53001),
  ``approvedApplication`` (AADSTS53002); with ``operator`` OR, a control the token meets (``mfa``:
  it carries MFA) satisfies the policy instead. ``conditions.locations`` narrows where such a
  control applies: said with it;
* ``sessionControls.persistentBrowser``: browser sessions only, never the stored token: a warning.

Report-only policies (``enabledForReportingButNotEnforced``) enforce nothing: a finding of theirs
is a warning, named as report-only. Legacy ``clientAppTypes`` (exchangeActiveSync, other) do not
cover a modern client. Graph: ``GET /v1.0/identity/conditionalAccess/policies`` and ``GET
/v1.0/policies/identitySecurityDefaultsEnforcementPolicy`` (``isEnabled``), both Policy.Read.All;
the admin's groups (``/groups/{id}/transitiveMembers``, GroupMember.Read.All) and roles
(RoleManagement.Read.Directory) only when a covering candidate names groups or roles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from foundation.errors import ConfigError, SecureAppError
from foundation.text import printable
from foundation.wellknown import PARTNER_CENTER_APP_ID, REFRESH_TOKEN_LIFETIME_DAYS
from scripts.adapters import graph
from scripts.flows.verify.outlook import Outlook, could_not
from scripts.flows.verify.report import Check, Status

NAME = "conditional-access"
POLICY_READ = "Policy.Read.All"
REPORT_ONLY = "enabledForReportingButNotEnforced"
#: Grant controls a server redeeming a token cannot meet, with what they do and the code.
BLOCKING = {
    "block": ("blocks access", "AADSTS53003"),
    "compliantDevice": ("requires a compliant device", "AADSTS53000"),
    "domainJoinedDevice": ("requires a hybrid Microsoft Entra joined device", "AADSTS53001"),
    "approvedApplication": ("requires an approved client app", "AADSTS53002"),
}
#: The client app types a confidential client's refresh-token redemption is one of.
MODERN_CLIENTS = {"all", "browser", "mobileappsanddesktopclients"}
_PLACES = {"all": "any location", "alltrusted": "trusted locations"}

Severity = Literal["broken", "warning", "note"]


@dataclass(frozen=True)
class Finding:
    severity: Severity
    text: str


class _Admin:
    """Who consented, with their groups and roles read from Graph only when a policy asks."""

    def __init__(self, outlook: Outlook, token: str) -> None:
        claims = outlook.tokens.claims if outlook.tokens else None
        self.outlook, self.token = outlook, token
        self.oid = claims.object_id.lower() if claims else ""
        self.name = printable(claims.user or claims.object_id) if claims and self.oid else ""
        self._groups: dict[str, bool] = {}
        self._roles: set[str] | None = None

    def in_group(self, ids: list[str]) -> bool:
        for gid in (str(i).lower() for i in ids):
            if self.oid and gid not in self._groups:
                try:
                    members = graph.read_collection(
                        self.outlook.endpoints, f"/v1.0/groups/{gid}/transitiveMembers?$select=id",
                        self.token, permission="GroupMember.Read.All")
                except ConfigError:  # a policy may still name a group deleted since
                    members = []
                self._groups[gid] = any(str(m.get("id", "")).lower() == self.oid
                                        for m in members)
            if self._groups.get(gid):
                return True
        return False

    def has_role(self, ids: list[str]) -> bool:
        if not ids or not self.oid:
            return False
        if self._roles is None:
            self._roles = {str(a.get("roleDefinitionId", "")).lower()
                           for a in self.outlook.role_assignments(self.oid)}
        return bool(self._roles & {str(i).lower() for i in ids})


def check(outlook: Outlook) -> list[Check]:
    try:
        return [_conditional_access(outlook, outlook.graph_token())]
    except SecureAppError as exc:
        return [could_not(NAME, exc)]


def _conditional_access(outlook: Outlook, token: str) -> Check:
    policies = graph.read_collection(outlook.endpoints, "/v1.0/identity/conditionalAccess/policies",
                                     token, permission=POLICY_READ)
    defaults = graph.read_object(outlook.endpoints,
                                 "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy", token,
                                 permission=POLICY_READ)
    admin = _Admin(outlook, token)
    who = admin.name or "the consenting admin (unknown: the token could not be redeemed)"
    enabled = [p for p in policies if p.get("state") == "enabled"]
    findings: list[Finding] = []
    to_fix: dict[str, list[str]] = {"partner-center": [], "cpv": []}
    covering = 0
    for policy in (p for p in policies if p.get("state") in ("enabled", REPORT_ONLY)):
        target = _target(policy, outlook.app.app_id)
        if target is None or not _covers_user(policy, admin) or not _modern(policy):
            continue
        covering += policy.get("state") == "enabled"
        days = _frequency_days(policy) if policy.get("state") == "enabled" else None
        if days is not None:
            # For liveness's forecast: the token dies this long after the consent sign-in.
            current = outlook.sign_in_frequency_days
            outlook.sign_in_frequency_days = days if current is None else min(current, days)
        finding = _controls(policy)
        if finding is not None:
            findings.append(finding)
            if finding.severity != "note":
                to_fix[target].append(_name(policy))
    state = (defaults or {}).get("isEnabled")
    tail = ("security defaults on (they require MFA, which the stored token carries)" if state
            else "security defaults off" if state is False else "security defaults unknown")
    worst: Status = ("broken" if any(f.severity == "broken" for f in findings) else
                     "warning" if any(f.severity == "warning" for f in findings) else "ok")
    if worst == "ok":
        notes = "".join(f"; {f.text}" for f in findings)
        return Check(NAME, "ok", f"no Conditional Access policy would end the stored token of "
                     f"{who} ({len(enabled)} enabled, {covering} covering the admin for Partner "
                     f"Center){notes}; {tail}")
    text = "; ".join(f.text for f in findings)
    cover = "policy covers" if covering == 1 else "policies cover"
    return Check(NAME, worst, f"{covering} enabled {cover} {who} for Partner Center: {text}; "
                 f"{tail}", _fix(to_fix, admin.name or "the consenting admin", outlook.app.app_id))


def _target(policy: dict[str, Any], app_id: str) -> str | None:
    """How the policy's target resources reach the token: ``"partner-center"`` (All or Partner
    Center), ``"cpv"`` (the CPV app named), or None."""
    apps = (policy.get("conditions") or {}).get("applications") or {}
    include = {str(a).lower() for a in apps.get("includeApplications") or []}
    exclude = {str(a).lower() for a in apps.get("excludeApplications") or []}
    if PARTNER_CENTER_APP_ID not in exclude and ({"all", PARTNER_CENTER_APP_ID} & include):
        return "partner-center"
    if app_id.lower() in include and app_id.lower() not in exclude:
        return "cpv"
    return None


def _covers_user(policy: dict[str, Any], admin: _Admin) -> bool:
    users = (policy.get("conditions") or {}).get("users") or {}
    include = {str(u).lower() for u in users.get("includeUsers") or []}
    if not admin.oid:  # who consented is unknown: only a policy for everyone surely covers them
        return "all" in include
    included = ("all" in include or admin.oid in include
                or admin.in_group(users.get("includeGroups") or [])
                or admin.has_role(users.get("includeRoles") or []))
    excluded = (admin.oid in {str(u).lower() for u in users.get("excludeUsers") or []}
                or admin.in_group(users.get("excludeGroups") or [])
                or admin.has_role(users.get("excludeRoles") or []))
    return included and not excluded


def _modern(policy: dict[str, Any]) -> bool:
    types = (policy.get("conditions") or {}).get("clientAppTypes") or ["all"]
    return bool({str(t).lower() for t in types} & MODERN_CLIENTS)


def _name(policy: dict[str, Any]) -> str:
    return f"'{printable(str(policy.get('displayName') or ''))}' ({policy.get('id')})"


def _controls(policy: dict[str, Any]) -> Finding | None:
    """What in one covering policy ends (or only caps) the stored token, as one finding; a
    report-only policy's is a warning, since it enforces nothing yet."""
    session = policy.get("sessionControls") or {}
    found: list[tuple[Severity, str]] = []
    frequency = session.get("signInFrequency") or {}
    if frequency.get("isEnabled"):
        found += _frequency(frequency)
    if (session.get("secureSignInSession") or {}).get("isEnabled"):
        found.append(("broken", "requires token protection, which a server's refresh token "
                      "cannot meet: it is bound to no device (AADSTS530084)"))
    grant = policy.get("grantControls") or {}
    controls = [str(c) for c in grant.get("builtInControls") or []]
    blocking = [c for c in controls if c in BLOCKING]
    met = [c for c in controls if c not in BLOCKING]
    if blocking and (str(grant.get("operator") or "OR").upper() == "AND" or not met):
        what = " and ".join(f"{BLOCKING[c][0]} ({BLOCKING[c][1]})" for c in blocking)
        where = _where((policy.get("conditions") or {}).get("locations") or {})
        found.append(("broken", f"{what}{where}, which the platform's server redeeming the "
                      "token cannot meet"))
    persistent = session.get("persistentBrowser") or {}
    if persistent.get("isEnabled"):
        found.append(("warning", f"sets persistent browser session "
                      f"'{printable(str(persistent.get('mode', '')))}': browser sessions only, "
                      "not the stored token (no AADSTS code for it), but consent signs in in a "
                      "browser"))
    if not found:
        return None
    label = f"policy {_name(policy)}"
    severity: Severity = next((s for s in ("broken", "warning") if any(f[0] == s for f in found)),
                              "note")
    if policy.get("state") == REPORT_ONLY:
        label = f"report-only {label} (not enforced; once enabled it)"
        severity = "warning" if severity == "broken" else severity
    return Finding(severity, f"{label} {', and '.join(text for _, text in found)}")


def _frequency_days(policy: dict[str, Any]) -> float | None:
    """A policy's sign-in frequency in days (hours as a fraction; 'every time' is 0), or None."""
    frequency = (policy.get("sessionControls") or {}).get("signInFrequency") or {}
    if not frequency.get("isEnabled"):
        return None
    if frequency.get("frequencyInterval") == "everyTime":
        return 0.0
    value, unit = frequency.get("value"), frequency.get("type")
    if not isinstance(value, int) or unit not in ("days", "hours"):
        return None
    return float(value) if unit == "days" else value / 24


def _frequency(frequency: dict[str, Any]) -> list[tuple[Severity, str]]:
    if frequency.get("frequencyInterval") == "everyTime":
        return [("broken", "sets sign-in frequency 'every time': the stored token is refused at "
                 "its next redemption (AADSTS70043)")]
    value, unit = frequency.get("value"), str(frequency.get("type") or "")
    if not isinstance(value, int) or unit not in ("days", "hours"):
        return []
    days = value if unit == "days" else value / 24
    if days < REFRESH_TOKEN_LIFETIME_DAYS:
        return [("broken", f"sets sign-in frequency {value} {unit}: the stored token is refused "
                 f"{value} {unit} after the admin's sign-in, before its "
                 f"{REFRESH_TOKEN_LIFETIME_DAYS} days (AADSTS70043)")]
    return [("note", f"sets sign-in frequency {value} {unit}: the token ends {value} {unit} after "
             "the consent sign-in even when rotated (AADSTS70043 then)")]


def _where(locations: dict[str, Any]) -> str:
    """`` from <included> except <excluded>`` for a location-scoped control, else ``""``."""
    def place(ref: object) -> str:
        text = str(ref)
        return _PLACES.get(text.lower(), f"named location {printable(text)}")

    include = [place(r) for r in locations.get("includeLocations") or []]
    exclude = [place(r) for r in locations.get("excludeLocations") or []]
    if not include:
        return ""
    return f" from {', '.join(include)}" + (f" except {', '.join(exclude)}" if exclude else "")


def _fix(to_fix: dict[str, list[str]], who: str, app_id: str) -> str:
    """The exclusions that fix it: the admin or Partner Center from the policies that target
    Partner Center, the CPV app from those that name it."""
    def policies(names: list[str]) -> str:
        return f"polic{'y' if len(names) == 1 else 'ies'} {' and '.join(names)}"

    fixes = []
    if names := to_fix["partner-center"]:
        their = "its" if len(names) == 1 else "their"
        fixes.append(f"exclude {who} from {policies(names)}, or exclude Partner Center "
                     f"({PARTNER_CENTER_APP_ID}) from {their} target resources (excluding only "
                     f"the CPV app {app_id} does not help: a policy is enforced on the resource "
                     "the token is for, Partner Center)")
    if names := to_fix["cpv"]:
        fixes.append(f"remove the CPV app {app_id} from the target resources of {policies(names)}")
    return "; ".join(fixes)
