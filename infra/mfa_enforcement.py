"""Entra ID security defaults as a Pulumi resource (a dynamic provider).

Neither pulumi-azuread (v6) nor the Terraform azuread provider it wraps has a resource for the
tenant's ``identitySecurityDefaultsEnforcementPolicy`` (hashicorp/terraform-provider-azuread#1432),
and there is no Pulumi Microsoft Graph provider for Python. So this small provider does the one
Graph call itself: ``PATCH {graph}/v1.0/policies/identitySecurityDefaultsEnforcementPolicy``.

The policy is a tenant-wide singleton, not something the stack creates. Hence:

* create records the value it found (``previousIsEnabled``) before setting ``enabled``;
* delete (``pulumi destroy``, or switching ``mfaEnforcement`` away) restores that value, so
  removing the stack leaves the tenant as it was, not with security defaults forced off or on;
* read (``pulumi refresh``) reports the live value as ``isEnabled``; when someone flipped it in
  the portal, the next ``pulumi up`` shows a diff and sets it back.

The provider runs in Pulumi's dynamic-provider host, a separate process: it is pickled by
reference (``infra`` is an installed package), signs in and calls Graph as every task does
(``foundation.network.graph``: ``DefaultAzureCredential`` for the deploying identity, ``az login``
or a pipeline's ``AZURE_*`` variables, with our timeouts and retries) and finds Graph through
``foundation.clouds.resolve_endpoints`` for the stack's cloud (``GRAPH_ENDPOINT`` and
``AZURE_AUTHORITY_HOST`` still override, as for every task). The identity needs
Policy.ReadWrite.SecurityDefaults (or, delegated, the Security Administrator role).
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from foundation.clouds import PRESETS, Endpoints, resolve_endpoints
from foundation.errors import ConfigError, ServiceError, SignInError
from foundation.network import graph

POLICY_PATH = "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy"
#: The resource id: there is exactly one such policy per tenant.
RESOURCE_ID = "identitySecurityDefaultsEnforcementPolicy"
PERMISSION_FIX = (
    "give the deploying identity Microsoft Graph Policy.ReadWrite.SecurityDefaults (application, "
    "with admin consent) or sign in as a Security Administrator"
)


class GraphPolicyClient:
    """GET and PATCH of the one policy, with the deploying identity's Graph token."""

    def __init__(self, cloud: str | None) -> None:
        self.endpoints: Endpoints = resolve_endpoints(cloud or None)

    def _call(self, method: str, body: dict[str, Any] | None = None) -> Any:
        token = graph.graph_token(
            self.endpoints,
            fix="sign in with 'az login', or set AZURE_TENANT_ID, AZURE_CLIENT_ID and "
            "AZURE_CLIENT_SECRET (or a federated token) for the deploying identity")
        status, answer = graph.call(self.endpoints, method, POLICY_PATH, token, body)
        if status in (401, 403):
            raise SignInError(
                f"Microsoft Graph refused {method} security defaults ({status})",
                fix=PERMISSION_FIX,
                error="forbidden",
            )
        if 400 <= status < 500:
            # Not transient: Graph says why. The documented case: security defaults "won't be
            # available" while Conditional Access policies are enabled (Learn, "Security
            # defaults in Microsoft Entra ID"; see infra.mfa), so switching them on fails.
            raise ConfigError(
                f"Microsoft Graph refused {method} security defaults ({status}: "
                f"{graph.error_message(answer)})",
                fix="security defaults and enabled Conditional Access policies exclude each "
                "other: choose mfaEnforcement conditionalAccess, or turn those policies off",
            )
        if status >= 500:
            raise ServiceError(
                f"Microsoft Graph answered {status} to {method} security defaults",
                fix="try again later; if it persists, check the tenant in the Entra admin center",
            )
        return answer

    def is_enabled(self) -> bool:
        body = self._call("GET")
        value = body.get("isEnabled") if isinstance(body, dict) else None
        if not isinstance(value, bool):
            raise ServiceError(
                "Microsoft Graph returned no isEnabled for security defaults",
                fix="check GRAPH_ENDPOINT; a proxy may be rewriting responses",
            )
        return value

    def set_enabled(self, enabled: bool) -> None:
        self._call("PATCH", {"isEnabled": enabled})


def _inputs(props: dict[str, Any]) -> dict[str, Any]:
    return {"enabled": props.get("enabled"), "cloud": props.get("cloud")}


class SecurityDefaultsProvider(ResourceProvider):
    """CRUD for the tenant's security defaults; see the module docstring."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        if not isinstance(news.get("enabled"), bool):
            failures.append(CheckFailure("enabled", "must be true or false"))
        if news.get("cloud") not in PRESETS:
            failures.append(CheckFailure("cloud", f"must be one of {', '.join(PRESETS)}"))
        return CheckResult(news, failures)

    def create(self, props: dict[str, Any]) -> CreateResult:
        client = GraphPolicyClient(props.get("cloud"))
        previous = client.is_enabled()
        if previous != props["enabled"]:
            client.set_enabled(bool(props["enabled"]))
        outs = {**_inputs(props), "isEnabled": props["enabled"], "previousIsEnabled": previous}
        return CreateResult(RESOURCE_ID, outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        current = GraphPolicyClient(props.get("cloud")).is_enabled()
        outs = {**_inputs(props), "isEnabled": current}
        # Imported (`pulumi import`) rather than created: what is there now is what to restore.
        previous = props.get("previousIsEnabled")
        outs["previousIsEnabled"] = previous if isinstance(previous, bool) else current
        return ReadResult(id_ or RESOURCE_ID, outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # Another cloud means another tenant: restore the old one, then take over the new one.
        replaces = ["cloud"] if olds.get("cloud") != news.get("cloud") else []
        # `isEnabled` is the live value as of the last create/update/refresh: a drift found by
        # `pulumi refresh` shows as a change even when the desired value did not change.
        wanted = news.get("enabled")
        changes = bool(replaces) or wanted != olds.get("enabled") or wanted != olds.get("isEnabled")
        return DiffResult(changes=changes, replaces=replaces, delete_before_replace=True)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        client = GraphPolicyClient(news.get("cloud"))
        if client.is_enabled() != news["enabled"]:
            client.set_enabled(bool(news["enabled"]))
        previous = olds.get("previousIsEnabled")
        outs = {**_inputs(news), "isEnabled": news["enabled"], "previousIsEnabled": previous}
        return UpdateResult(outs)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        previous = props.get("previousIsEnabled")
        if not isinstance(previous, bool):
            return
        client = GraphPolicyClient(props.get("cloud"))
        if client.is_enabled() != previous:
            client.set_enabled(previous)


class SecurityDefaults(pulumi.dynamic.Resource, module="mfa", name="SecurityDefaults"):
    """The tenant's security defaults, switched to ``enabled`` while the stack exists."""

    # Graph's property name, as in the state (type token: pulumi-python:dynamic/mfa:...).
    isEnabled: pulumi.Output[bool]
    previousIsEnabled: pulumi.Output[bool]

    def __init__(
        self,
        name: str,
        *,
        enabled: bool,
        cloud: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            SecurityDefaultsProvider(),
            name,
            {"enabled": enabled, "cloud": cloud, "isEnabled": None, "previousIsEnabled": None},
            opts,
        )
