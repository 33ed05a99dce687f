"""Writes to the vault happen one after another, and the control plane accepts every one.

The real program runs under Pulumi's mock engine with mocks that forward each Key Vault and
role-assignment registration to the ARM double (``clouddouble.arm``), which refuses parallel
operations on one vault (409 ConflictError) and a principal type that does not match the
principal (400 UnmatchedPrincipalType), as ARM does. Both access modes, every option.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pulumi
import pytest

import infra.program
from clouddouble.arm import ArmDouble
from scripts.flows.plan import PlanResult
from scripts.offline.plan_engine import run_program
from scripts.offline.plan_mocks import RecordingMocks, ResourceRecord, arm_request
from scripts.policy import rules as t
from tests.infra.spec_scenarios import (
    GROUP,
    OPTIONS,
    ROBOT,
    SCENARIOS,
    TODAY,
    WRITER,
    scenario_config,
)


class ArmMocks(RecordingMocks):
    """Creates each Key Vault resource and role assignment in the ARM double as the provider
    would PUT it, and keeps ARM's refusals."""

    def __init__(self, arm: ArmDouble, deployer_kind: str) -> None:
        super().__init__()
        self.arm = arm
        self.refusals: list[tuple[str, int, str | None]] = []
        arm.add_principal(self.deployer_object_id, deployer_kind)
        for object_id, kind in ((WRITER, "User"), (GROUP, "Group"), (ROBOT, "ServicePrincipal")):
            arm.add_principal(object_id, kind)

    def create(self, record: ResourceRecord) -> tuple[str, dict[str, Any]]:
        resource_id, state = super().create(record)
        if record.type == t.SERVICE_PRINCIPAL:
            self.arm.add_principal(state["objectId"], "ServicePrincipal")
        request = arm_request(record)
        # An imported resource is read (GET), not written: nothing reaches the PUT handler.
        if request is not None and not record.options.get("importId"):
            answer = self.arm.put(resource_id, *request)
            if not answer.ok:
                self.refusals.append((record.name, answer.status, answer.code))
        return resource_id, state


def deploy(
    config: dict[str, str], deployer_kind: str | None = None, operation_seconds: float = 0.1
) -> tuple[PlanResult, ArmMocks]:
    kind = deployer_kind or config.get("deployerPrincipalType", "User")
    mocks = ArmMocks(ArmDouble(operation_seconds=operation_seconds, today=TODAY), kind)
    return run_program(config, mocks, today=TODAY), mocks


def vault_writes(result: PlanResult) -> list[ResourceRecord]:
    """The vault, then the secret, then the role assignments, as the program declares them."""
    order = {t.VAULT: 0, t.SECRET: 1, t.ROLE_ASSIGNMENT: 2}
    records = [r for r in result.resources if t.kind(r) in order]
    return sorted(records, key=lambda r: order[t.kind(r)])


_DEPLOYED: dict[tuple[str, str], tuple[PlanResult, ArmMocks]] = {}


def deployed(mode: str, option: str) -> tuple[PlanResult, ArmMocks]:
    """``deploy`` of a scenario, run once per process: the two tests below each read (never
    change) the same deployment of every scenario."""
    if (mode, option) not in _DEPLOYED:
        _DEPLOYED[mode, option] = deploy(scenario_config(mode, option))
    return _DEPLOYED[mode, option]


@pytest.mark.parametrize(("mode", "option"), SCENARIOS)
def test_arm_accepts_every_write_of_the_program(mode: str, option: str) -> None:
    _, mocks = deployed(mode, option)
    assert mocks.refusals == []
    statuses = [status for _, _, status in mocks.arm.log]
    expected = 2 + (5 + ("pipelineIdentity" in OPTIONS[option]) if mode == "rbac" else 0)
    assert len(statuses) == expected and all(200 <= s < 300 for s in statuses)


@pytest.mark.parametrize(("mode", "option"), SCENARIOS)
def test_each_write_to_the_vault_depends_on_the_one_before(mode: str, option: str) -> None:
    result, mocks = deployed(mode, option)
    writes = vault_writes(result)
    for previous, current in itertools.pairwise(writes):
        assert previous.urn in current.options["dependencies"], (current.name, previous.name)
    # And the control plane saw them in that order, none overlapping (no 409 above).
    logged = [resource_id for resource_id, _, _ in mocks.arm.log]
    assert logged == [r.id for r in writes]


@pytest.mark.parametrize("mode", ["rbac", "accessPolicy"])
def test_an_import_writes_neither_the_vault_nor_the_secret(mode: str) -> None:
    """Upgrading a stack of the previous program: the import run PUTs nothing to the vault or
    the token secret (every secret version stays as it is); only role assignments are made."""
    config = {**scenario_config(mode, "plain"), "importSubscriptionId": ROBOT}
    result, mocks = deploy(config)
    assert mocks.refusals == []
    imported = [r for r in result.resources if r.options.get("importId")]
    assert sorted(t.kind(r) for r in imported) == [t.SECRET, t.VAULT]
    written = [resource_id for resource_id, _, _ in mocks.arm.log]
    assert all("/roleAssignments/" in resource_id for resource_id in written)
    assert len(written) == (5 if mode == "rbac" else 0)


def test_a_deployer_of_the_wrong_principal_type_is_refused_as_arm_does() -> None:
    """The double can fail the program: a service principal deploying with the default
    (User, no provider client id) gets UnmatchedPrincipalType for its own assignment."""
    _, mocks = deploy(scenario_config("rbac", "plain"), deployer_kind="ServicePrincipal")
    assert mocks.refusals == [("token-vault-access-writer-deployer", 400, "UnmatchedPrincipalType")]
    _, fixed = deploy(
        {**scenario_config("rbac", "plain"), "deployerPrincipalType": "ServicePrincipal"}
    )
    assert fixed.refusals == []


def _drop_depends_on(opts: pulumi.ResourceOptions) -> pulumi.ResourceOptions:
    copy = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions())
    copy.depends_on = None
    return copy


@pytest.mark.parametrize("mode", ["rbac", "accessPolicy"])
def test_without_the_dependencies_the_double_refuses_the_parallel_writes(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Proof that the ordering test can fail: the same program with its explicit dependencies
    stripped writes the vault and the secret at the same time, and gets Key Vault's 409."""
    declare = infra.program.declare

    def declare_without_dependencies(cfg: Any, *, today: dt.date | None = None) -> Any:
        pulumi.runtime.register_stack_transformation(_drop_transformation)
        return declare(cfg, today=today)

    monkeypatch.setattr(infra.program, "declare", declare_without_dependencies)
    # Both wait only for the resource group, then start together; each takes 0.3 s.
    _, mocks = deploy(scenario_config(mode, "plain"), operation_seconds=0.3)
    conflicts = [name for name, status, code in mocks.refusals if code == "ConflictError"]
    assert conflicts, mocks.refusals
    assert set(conflicts) <= {"token-vault-vault", "token-vault-token-secret"}


def _drop_transformation(
    args: pulumi.ResourceTransformationArgs,
) -> pulumi.ResourceTransformationResult:
    return pulumi.ResourceTransformationResult(props=args.props, opts=_drop_depends_on(args.opts))
