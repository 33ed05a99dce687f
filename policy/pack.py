"""The CrossGuard policies: each wraps one function of ``scripts.policy.rules``.

Kept apart from ``__main__.py`` (which starts the policy server on import) so tests can call the
validate callbacks with stand-in argument objects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

from scripts.policy import rules as policy_rules

PACK_NAME = "csp-secure-app-security"


def summary(rule: Callable[..., Any]) -> str:
    """A rule's description is the first line of its docstring (one source of truth)."""
    return (rule.__doc__ or rule.__name__).strip().splitlines()[0]


def registration_from_args(args: Any) -> policy_rules.Registration:
    """A ``ResourceValidationArgs`` (or stand-in) as the shared rules expect it. CrossGuard
    exposes protect/ignoreChanges/deleteBeforeReplace but not retainOnDelete, so that one is
    left out (and not judged)."""
    opts = getattr(args, "opts", None)
    options: dict[str, Any] = {}
    if opts is not None:
        options = {
            "protect": bool(getattr(opts, "protect", False)),
            "ignoreChanges": list(getattr(opts, "ignore_changes", None) or []),
            "deleteBeforeReplace": bool(getattr(opts, "delete_before_replace", False)),
        }
    return policy_rules.Registration(
        type=args.resource_type, name=args.name, inputs=args.props, options=options
    )


def _resource_policy(
    rule: policy_rules.Rule, level: EnforcementLevel = EnforcementLevel.MANDATORY
) -> ResourceValidationPolicy:
    def validate(args: Any, report_violation: ReportViolation) -> None:
        today = datetime.now(UTC).date()
        for line in rule(registration_from_args(args), today):
            report_violation(line, None)

    name = rule.__name__
    return ResourceValidationPolicy(
        name=name.replace("_", "-"),
        description=summary(rule),
        enforcement_level=level,
        validate=validate,
    )


def _stack_policy(rule: Callable[[Sequence[Any]], list[str]]) -> StackValidationPolicy:
    def validate(args: Any, report_violation: ReportViolation) -> None:
        # Stack policies see each resource's state (outputs), so object ids can be compared.
        # During a preview they may be unknown; the rules then skip them.
        resources = [
            policy_rules.Registration(
                type=r.resource_type, name=r.name, inputs=r.props, outputs=r.props
            )
            for r in args.resources
        ]
        for line in rule(resources):
            report_violation(line, None)

    return StackValidationPolicy(
        name=rule.__name__.replace("_", "-"),
        description=summary(rule),
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate,
    )


def build_policies() -> list[ResourceValidationPolicy | StackValidationPolicy]:
    policies: list[ResourceValidationPolicy | StackValidationPolicy] = [
        _resource_policy(rule) for rule in policy_rules.RESOURCE_RULES
    ]
    policies += [_stack_policy(rule) for rule in policy_rules.STACK_RULES]
    # Warnings (e.g. an expired client secret) are shown on every preview but never block it.
    policies += [
        _resource_policy(rule, EnforcementLevel.ADVISORY) for rule in policy_rules.WARNING_RULES
    ]
    return policies
