"""What the security policy rules work on: type tokens, name markers, the resource shape, and the
violation line format. Shared by ``scripts.policy.rules`` (the Key Vault and secret rules, and the
rule lists) and ``scripts.policy.identity_rules`` (MFA enforcement and the pipeline identity).

Deliberately light: no provider SDK is imported (``tasks.py`` imports lazily and
``invoke --list`` must stay fast).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

#: What a resource *is*, for the rules. For most resources that is its type token. The vault and
#: the token secret are azure-native's generic ``resources.Resource`` (one type token for any ARM
#: resource), told apart by namespace and resource type (``kind``); VAULT and SECRET keep the
#: typed tokens of the previous program as their kind names, so its stacks are judged alike.
VAULT = "azure-native:keyvault:Vault"
#: Standalone access policies: only the previous program declared them (now inline in the vault).
ACCESS_POLICY = "azure-native:keyvault:AccessPolicy"
SECRET = "azure-native:keyvault:Secret"  # noqa: S105 - a type token
GENERIC_RESOURCE = "azure-native:resources:Resource"
#: (resourceProviderNamespace, resourceType) of a generic resource -> its kind.
_GENERIC_KINDS = {
    ("microsoft.keyvault", "vaults"): VAULT,
    ("microsoft.keyvault", "secrets"): SECRET,
}
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
APPLICATION = "azuread:index/application:Application"
SERVICE_PRINCIPAL = "azuread:index/servicePrincipal:ServicePrincipal"
APPLICATION_PASSWORD = "azuread:index/applicationPassword:ApplicationPassword"  # noqa: S105
FEDERATED_CREDENTIAL = (
    "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
)
CONDITIONAL_ACCESS_POLICY = "azuread:index/conditionalAccessPolicy:ConditionalAccessPolicy"
#: The dynamic resource of ``infra.mfa_enforcement`` (kept in sync by a test).
SECURITY_DEFAULTS = "pulumi-python:dynamic/mfa:SecurityDefaults"

#: Resource names carry the role they grant, so a rule can tell the reader (the Key Vault client
#: app) from writers even during a preview, when object ids are not known yet.
READER_MARKER = "-reader"
WRITER_MARKER = "-writer-"
#: The secret permissions an access policy may grant: the reader only gets, writers also list
#: and set.
READER_PERMISSIONS = ("get",)
WRITER_PERMISSIONS = ("get", "list", "set")
#: The Conditional Access grant control that requires multifactor authentication: what the
#: program declares and what the policy rules demand.
MFA_CONTROL = "mfa"


class ResourceLike(Protocol):
    """What a rule needs from a registration: the offline plan's records and ``Registration``
    both fit."""

    @property
    def type(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def inputs(self) -> Mapping[str, Any]: ...
    @property
    def options(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class Registration:
    """A resource as a rule sees it: type token, logical name, inputs, resource options
    (``protect``, ``retainOnDelete``, ``ignoreChanges``, ...), and outputs when known."""

    type: str
    name: str
    inputs: Mapping[str, Any]
    options: Mapping[str, Any] = field(default_factory=dict)
    outputs: Mapping[str, Any] = field(default_factory=dict)


Rule = Callable[[ResourceLike, date], list[str]]


def line(resource: ResourceLike, problem: str, fix: str) -> str:
    """One violation: ``"<resource>: <what is wrong>. Fix: <what to do>."``"""
    return f"{resource.name}: {problem}. Fix: {fix}."


def kind(resource: ResourceLike) -> str:
    """The resource's kind: its type token, or for a generic ARM resource the kind its
    namespace and resource type name (VAULT, SECRET), else the type token."""
    if resource.type != GENERIC_RESOURCE:
        return resource.type
    inputs = resource.inputs
    key = (
        str(inputs.get("resourceProviderNamespace") or "").lower(),
        str(inputs.get("resourceType") or "").lower(),
    )
    return _GENERIC_KINDS.get(key, resource.type)


def arm_name(resource: ResourceLike) -> Any:
    """The Azure name of a vault or secret: ``resourceName`` (generic) or the typed inputs'."""
    inputs = resource.inputs
    typed = inputs.get("secretName") if kind(resource) == SECRET else inputs.get("vaultName")
    return inputs.get("resourceName") or typed


def vault_name_of(resource: ResourceLike) -> Any:
    """The vault a vault, secret or (legacy) access policy belongs to."""
    inputs = resource.inputs
    if kind(resource) == VAULT:
        return arm_name(resource)
    parent = str(inputs.get("parentResourcePath") or "")
    if parent.lower().startswith("vaults/"):
        return parent.split("/", 1)[1]
    return inputs.get("vaultName")


def arm_properties(resource: ResourceLike) -> Mapping[str, Any]:
    value = resource.inputs.get("properties")
    return value if isinstance(value, Mapping) else {}


def mapping(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a mapping, else an empty one (inputs may be missing or unknown)."""
    return value if isinstance(value, Mapping) else {}


def parse_day(text: str) -> date | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).date()
    except ValueError:
        return None


def output_of(resource: Any, key: str) -> Any:
    outputs = getattr(resource, "outputs", None) or {}
    return outputs.get(key)
