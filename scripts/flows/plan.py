"""``invoke plan``: the real ``infra`` program run offline, then checked by the policy rules.

No Pulumi CLI, no credentials, no network: the program runs under the Pulumi SDK's mock engine
(``scripts.offline.plan_engine``) with the config of ``Pulumi.<stack>.yaml``. The report lists one
line per
resource with the settings a reviewer cares about (secrets shown as ``***``) and every policy
violation; ``tasks.py`` prints the lines and raises ``PolicyViolation`` when there are problems.

Provider SDKs are imported inside the functions that run the program, never at import time:
``tasks.py`` imports lazily and ``invoke --list`` must stay fast.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from foundation import wellknown
from foundation.errors import ConfigError
from scripts.offline.plan_engine import RecordingMocks, RecordingMonitor, ResourceRecord
from scripts.policy import rules as policy_rules

__all__ = [
    "PlanReport",
    "PlanResult",
    "RecordingMocks",
    "ResourceRecord",
    "StackOutput",
    "format_plan",
    "load_stack_config",
    "run_plan",
    "run_program",
]

MASK = "***"


@dataclass(frozen=True)
class StackOutput:
    value: Any
    secret: bool

    def shown(self) -> str:
        return MASK if self.secret else str(self.value)


@dataclass
class PlanResult:
    resources: list[ResourceRecord]
    outputs: dict[str, StackOutput]
    #: What the program logged as warnings (e.g. "the vault is open to every network").
    warnings: list[str] = field(default_factory=list)

    def find(self, kind: str) -> list[ResourceRecord]:
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


class _WarningCollector(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(level=logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record.getMessage())


def run_program(
    config: Mapping[str, str],
    mocks: RecordingMocks | None = None,
    *,
    stack: str = "dev",
    today: date | None = None,
) -> PlanResult:
    """Validate ``config`` (bare keys; raises ``InvalidConfig``) and run ``infra.program`` under
    ``mocks``. Safe to call repeatedly in one process: the Pulumi runtime is reset each time.
    Pass a fresh ``mocks`` per run (records accumulate on an instance)."""
    from pulumi.runtime import settings
    from pulumi.runtime.mocks import set_mocks
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from infra.config import PROJECT, parse_config
    from infra.program import declare

    cfg = parse_config(config, today=today)
    mocks = mocks if mocks is not None else RecordingMocks()
    mocks.cloud_name = cfg.cloud
    warnings: list[str] = []
    logger = logging.getLogger(f"{__name__}.engine")
    logger.propagate = False
    logger.addHandler(_WarningCollector(warnings))

    # A previous run leaves its root Stack resource behind; set_mocks only creates a new one
    # (registered with the new monitor) when there is none.
    settings.ROOT.set(None)
    set_mocks(
        mocks,
        project=PROJECT,
        stack=stack,
        preview=False,
        logger=logger,
        monitor=RecordingMonitor(mocks),
    )
    resolved: dict[str, StackOutput] = {}

    async def program() -> None:
        for key, output in declare(cfg, today=today).items():
            value = await output.future()
            resolved[key] = StackOutput(value=value, secret=await output.is_secret())

    try:
        _sync_await(run_pulumi_func(program))
    finally:
        settings.ROOT.set(None)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
    return PlanResult(resources=list(mocks.records), outputs=resolved, warnings=warnings)


def stack_file_location(stack: str, project_dir: Path) -> tuple[str, Path]:
    """``dev`` -> (``dev``, the project); ``some/dir/Pulumi.prod.yaml`` -> (``prod``, that dir),
    so a pipeline can check a stack file before it is committed next to the program."""
    path = Path(stack)
    if path.suffix in (".yaml", ".yml") and path.name.startswith("Pulumi."):
        return path.name[len("Pulumi."):-len(path.suffix)], path.parent.resolve()
    return stack, project_dir


def load_stack_config(stack: str, project_dir: Path) -> dict[str, str]:
    """The ``config:`` block of ``Pulumi.<stack>.yaml`` as ``parse_config`` input."""
    import yaml

    from infra.config import config_values_from_stack_file

    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise ConfigError(
            f"no stack file {path} for stack {stack!r}",
            fix="copy Pulumi.dev.yaml to that name and edit it, or pass an existing stack",
        )
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path} is not valid YAML{where}", fix="correct the syntax") from None
    config = document.get("config") if isinstance(document, dict) else None
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: 'config' is not a mapping", fix="use key: value lines")
    return config_values_from_stack_file(config)


def run_plan(stack: str, project_dir: Path, *, today: date | None = None) -> PlanReport:
    """Load the stack's config (raises ``ConfigError``/``InvalidConfig``), run the program
    offline and every policy rule over what it declared."""
    result = run_program(load_stack_config(stack, project_dir), stack=stack, today=today)
    problems = policy_rules.check_all(result.resources, today)
    warnings = policy_rules.check_warnings(result.resources, today)
    return PlanReport(stack=stack, result=result, problems=problems, policy_warnings=warnings)


# -- formatting --------------------------------------------------------------------------------

#: Pulumi marks the Secret's whole ``properties`` secret because ``value`` inside it is; these
#: fields are metadata Azure returns in clear anyway, so the plan shows them.
_CLEAR_METADATA = {
    (policy_rules.SECRET, "properties.contentType"),
    (policy_rules.SECRET, "properties.attributes.exp"),
    (policy_rules.SECRET, "properties.attributes.expires"),
}


def _get(record: ResourceRecord, path: str) -> Any:
    if record.is_secret(path) and (policy_rules.kind(record), path) not in _CLEAR_METADATA:
        return MASK
    value: Any = record.inputs
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _name(guid: str) -> str:
    return wellknown.NAMES.get(guid, guid)


def _settings(record: ResourceRecord) -> str:
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


def _flags(record: ResourceRecord) -> str:
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
