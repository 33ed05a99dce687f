"""``csp-secure-app plan``'s report: what the ``infra`` program declared, checked by the policy
rules.

The offline engine (``scripts.offline.plan_engine``) runs the program under Pulumi's mock engine
with the config of ``Pulumi.<stack>.yaml`` and hands its ``PlanResult`` here: no Pulumi CLI, no
credentials, no network. The report lists one line per resource with the settings a reviewer
cares about (secrets shown as ``***``) and every policy violation; ``tasks.py`` prints the lines
and raises ``PolicyViolation`` when there are problems. Nothing here imports ``infra`` or a
provider SDK: ``invoke --list`` must stay fast.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

from foundation import wellknown
from foundation.resource_types import ResourceLike
from scripts.policy import rules as policy_rules

MASK = "***"


@dataclass(frozen=True)
class StackOutput:
    value: Any
    secret: bool

    def shown(self) -> str:
        return MASK if self.secret else str(self.value)


class PlannedResource(ResourceLike, Protocol):
    """One registration as the engine recorded it (``scripts.offline.plan_mocks.ResourceRecord``):
    what the report reads of it."""

    @property
    def custom(self) -> bool: ...
    @property
    def outputs(self) -> Mapping[str, Any]: ...
    def is_secret(self, path: str) -> bool: ...


@dataclass
class PlanResult:
    resources: Sequence[PlannedResource]
    outputs: dict[str, StackOutput]
    #: What the program logged as warnings (e.g. "the vault is open to every network").
    warnings: list[str] = field(default_factory=list)

    def find(self, kind: str) -> list[PlannedResource]:
        """The records of one kind (``policy_types.kind``: the type token, or VAULT / SECRET for
        the generic ARM resources the vault and the secret are)."""
        return [r for r in self.resources if policy_rules.kind(r) == kind]


@dataclass
class PlanReport:
    stack: str
    result: PlanResult
    problems: list[str]
    #: Advisory policy findings (``policy_rules.WARNING_RULES``): printed, never failing.
    policy_warnings: list[str] = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        return format_plan(self)


def review(stack: str, result: PlanResult, today: date | None = None) -> PlanReport:
    """Every policy rule over what the program declared: violations fail, warnings advise."""
    problems = policy_rules.check_all(result.resources, today)
    warnings = policy_rules.check_warnings(result.resources, today)
    return PlanReport(stack=stack, result=result, problems=problems, policy_warnings=warnings)


def stack_file_location(stack: str, project_dir: Path) -> tuple[str, Path]:
    """``dev`` -> (``dev``, the project); ``some/dir/Pulumi.prod.yaml`` -> (``prod``, that dir),
    so a pipeline can check a stack file before it is committed next to the program."""
    path = Path(stack)
    if path.suffix in (".yaml", ".yml") and path.name.startswith("Pulumi."):
        return path.name[len("Pulumi."):-len(path.suffix)], path.parent.resolve()
    return stack, project_dir


# -- formatting --------------------------------------------------------------------------------

#: Pulumi marks the Secret's whole ``properties`` secret because ``value`` inside it is; these
#: fields are metadata Azure returns in clear anyway, so the plan shows them.
_CLEAR_METADATA = {
    (policy_rules.SECRET, "properties.contentType"),
    (policy_rules.SECRET, "properties.attributes.exp"),
    (policy_rules.SECRET, "properties.attributes.expires"),
}


def _get(record: PlannedResource, path: str) -> Any:
    if record.is_secret(path) and (policy_rules.kind(record), path) not in _CLEAR_METADATA:
        return MASK
    value: Any = record.inputs
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _name(guid: str) -> str:
    return wellknown.NAMES.get(guid, guid)


def _settings(record: PlannedResource) -> str:
    kind = policy_rules.kind(record)
    if kind == policy_rules.APPLICATION:
        permissions = [
            f"{_name(a.get('resourceAppId', ''))}: "
            + ", ".join(_name(i.get("id", "")) for i in a.get("resourceAccesses") or [])
            for a in _get(record, "requiredResourceAccesses") or []
        ]
        text = f"{_get(record, 'displayName')}; audience {_get(record, 'signInAudience')}"
        text += f"; permissions [{'; '.join(permissions)}]"
        redirects = _get(record, "web.redirectUris")
        return text + (f"; redirect URIs {redirects}" if redirects else "")
    if kind == policy_rules.SERVICE_PRINCIPAL:
        return f"client id {_get(record, 'clientId')}; object id {record.outputs.get('objectId')}"
    if kind == policy_rules.APPLICATION_PASSWORD:
        return (
            f"ends {str(_get(record, 'endDate'))[:10]}; rotation "
            f"{_get(record, 'rotateWhenChanged')}; value {MASK}"
        )
    if kind == "azure-native:resources:ResourceGroup":
        return f"{_get(record, 'resourceGroupName')} in {_get(record, 'location')}"
    if kind == policy_rules.VAULT:
        acls = _get(record, "properties.networkAcls") or {}
        ranges = [rule.get("value") for rule in acls.get("ipRules") or []]
        network = f"{acls.get('defaultAction')}" + (f" except {ranges}" if ranges else "")
        return (
            f"{policy_rules.arm_name(record)}; sku {_get(record, 'properties.sku.name')}; "
            f"rbac {_get(record, 'properties.enableRbacAuthorization')}; "
            f"purge protection {_get(record, 'properties.enablePurgeProtection')}; "
            f"soft delete {_get(record, 'properties.softDeleteRetentionInDays')} days; "
            f"network {network}; access policies "
            f"{len(_get(record, 'properties.accessPolicies') or [])}; api "
            f"{_get(record, 'apiVersion') or 'typed'}"
        )
    if kind == policy_rules.ACCESS_POLICY:
        role = "reader" if policy_rules.READER_MARKER in record.name else "writer"
        return (
            f"{role} {_get(record, 'policy.objectId')}; "
            f"secrets {_get(record, 'policy.permissions.secrets')}"
        )
    if kind == policy_rules.ROLE_ASSIGNMENT:
        role = str(_get(record, "roleDefinitionId")).rsplit("/", 1)[-1]
        scope = str(_get(record, "scope")).split("/providers/", 1)[-1]
        return (
            f"{_name(role)} for {_get(record, 'principalType')} {_get(record, 'principalId')} "
            f"on {scope}"
        )
    if kind == policy_rules.FEDERATED_CREDENTIAL:
        return (
            f"issuer {_get(record, 'issuer')}; subject {_get(record, 'subject')}; "
            f"audiences {_get(record, 'audiences')}"
        )
    if kind == policy_rules.CONDITIONAL_ACCESS_POLICY:
        users = _get(record, "conditions.users") or {}
        grant = _get(record, "grantControls") or {}
        return (
            f"{_get(record, 'displayName')}; state {_get(record, 'state')}; users "
            f"{users.get('includedUsers')} except {users.get('excludedUsers') or []}; "
            f"grant {grant.get('builtInControls')}"
        )
    if kind == policy_rules.SECURITY_DEFAULTS:
        return f"security defaults enabled {_get(record, 'enabled')}"
    if kind == policy_rules.SECRET:
        expires = _get(record, "properties.attributes.exp") or _get(
            record, "properties.attributes.expires"
        )
        expiry = (
            datetime.fromtimestamp(expires, UTC).date().isoformat()
            if isinstance(expires, int)
            else expires
        )
        return (
            f"{policy_rules.arm_name(record)}; value {MASK}; content type "
            f"{_get(record, 'properties.contentType')}; expires {expiry}"
        )
    return ""


def _flags(record: PlannedResource) -> str:
    options = record.options
    flags = []
    if options.get("protect"):
        flags.append("protected")
    if options.get("retainOnDelete"):
        flags.append("retained on delete")
    if options.get("ignoreChanges"):
        flags.append(f"ignores changes to {', '.join(options['ignoreChanges'])}")
    return f" [{'; '.join(flags)}]" if flags else ""


def format_plan(report: PlanReport) -> list[str]:
    """Printable lines: resources, outputs, warnings, then the policy verdict."""
    lines = [f"Offline plan for stack {report.stack!r} (no Azure calls were made):"]
    resources = sorted(
        (r for r in report.result.resources if r.custom),
        key=lambda r: (policy_rules.kind(r), r.name),
    )
    for record in resources:
        kind = policy_rules.kind(record).rsplit(":", 1)[-1]
        lines.append(f"  + {kind:<22} {record.name:<40} {_settings(record)}{_flags(record)}")
    lines.append("Outputs:")
    for key, output in sorted(report.result.outputs.items()):
        lines.append(f"  {key} = {output.shown()}")
    lines.extend(f"warning: {warning}" for warning in report.result.warnings)
    lines.extend(f"warning: {warning}" for warning in report.policy_warnings)
    if report.problems:
        lines.append(f"Policy: {len(report.problems)} violation(s):")
        lines.extend(f"  - {problem}" for problem in report.problems)
    else:
        count = len(policy_rules.RESOURCE_RULES) + len(policy_rules.STACK_RULES)
        advice = (
            f" ({len(report.policy_warnings)} warning(s) above)" if report.policy_warnings else ""
        )
        lines.append(f"Policy: all {count} rules pass{advice}.")
    return lines
