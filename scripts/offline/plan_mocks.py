"""The plan's Pulumi mocks: they record every registration and answer as Azure would.

``RecordingMocks`` answers the program's invokes (the deploying identity, as both providers see it)
and gives each resource realistic, distinct ids, so a mix-up such as granting the application's
client id instead of its service principal's object id shows in the plan and fails the policy rules.
Vault URIs carry the stack's national cloud suffix, as ARM would return them.
``scripts.offline.plan_engine`` runs the program under them (its ``RecordingMonitor`` records
resource *options* too, which the stock mocks drop).

Extension point (``csp-secure-app demo`` builds on it): subclass ``RecordingMocks`` and override
``create(record)`` to create each resource somewhere (e.g. the local cloud double) and return its
id and output state; ``new_guid`` and ``deploying_identity`` are overridable as well.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc

from foundation import wellknown
from foundation.clouds import PRESETS
from scripts.policy import rules as tokens

_NAMESPACE = uuid.UUID("9b6f7a3e-58a5-4c55-9d8a-2f1f6c0d7e11")
AZUREAD_CLIENT_CONFIG = "azuread:index/getClientConfig:getClientConfig"
ARM_CLIENT_CONFIG = "azure-native:authorization:getClientConfig"
RESOURCE_GROUP = "azure-native:resources:ResourceGroup"


@dataclass
class ResourceRecord:
    """One registration as the engine saw it. ``inputs`` are plain values (secrets unwrapped);
    ``secret_paths`` holds the dotted input paths that arrived marked secret."""

    type: str
    name: str
    urn: str
    custom: bool
    inputs: dict[str, Any]
    options: dict[str, Any]
    secret_paths: frozenset[str] = frozenset()
    id: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)

    def is_secret(self, path: str) -> bool:
        """True when ``path`` or one of its ancestors was marked secret."""
        parts = path.split(".")
        return any(".".join(parts[:i]) in self.secret_paths for i in range(1, len(parts) + 1))


def unwrap_secrets(value: Any, path: str = "") -> tuple[Any, set[str]]:
    """Strip the wire format's secret markers, remembering where they were."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            inner, paths = unwrap_secrets(value.get("value"), path)
            return inner, {*paths, path}
        result: dict[str, Any] = {}
        found: set[str] = set()
        for key, item in value.items():
            result[key], paths = unwrap_secrets(item, f"{path}.{key}" if path else key)
            found |= paths
        return result, found
    if isinstance(value, float) and value.is_integer():
        # The wire format (protobuf Struct) carries every number as a double.
        return int(value), set()
    if isinstance(value, list):
        items = []
        found = set()
        for index, item in enumerate(value):
            unwrapped, paths = unwrap_secrets(item, f"{path}.{index}")
            items.append(unwrapped)
            found |= paths
        return items, found
    return value, set()


class RecordingMocks(pulumi.runtime.Mocks):
    """Mocks with a deploying identity, distinct realistic ids, and a record of everything."""

    def __init__(
        self,
        *,
        deployer_object_id: str | None = None,
        tenant_id: str | None = None,
        subscription_id: str | None = None,
        seed: str = "csp-secure-app",
        cloud_name: str = "public",
    ) -> None:
        self.seed = seed
        #: The stack's cloud (``scripts.offline.plan_engine.run_program`` sets it from the
        #: config): fake vault URIs use its vault suffix, as ARM would (vault.azure.cn in China).
        self.cloud_name = cloud_name
        self.deployer_object_id = deployer_object_id or self.new_guid("deployer", "object")
        self.deployer_client_id = self.new_guid("deployer", "client")
        self.tenant_id = tenant_id or self.new_guid("tenant")
        self.subscription_id = subscription_id or self.new_guid("subscription")
        self.records: list[ResourceRecord] = []
        self.calls: list[str] = []
        self._lock = threading.Lock()

    # -- overridable pieces -------------------------------------------------------------------

    def new_guid(self, *parts: str) -> str:
        """Deterministic per (seed, parts): plans are stable across runs, ids distinct."""
        return str(uuid.uuid5(_NAMESPACE, ":".join((self.seed, *parts))))

    def deploying_identity(self) -> dict[str, str]:
        """What both ``getClientConfig`` invokes return: who runs ``pulumi up``."""
        return {
            "clientId": self.deployer_client_id,
            "objectId": self.deployer_object_id,
            "tenantId": self.tenant_id,
            "subscriptionId": self.subscription_id,
        }

    def create(self, record: ResourceRecord) -> tuple[str, dict[str, Any]]:
        """Return (id, output state) for a new resource. Override to create it for real."""
        if not record.custom:
            return "", {}
        return self.fake_state(record)

    # -- pulumi.runtime.Mocks -----------------------------------------------------------------

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        with self._lock:
            self.calls.append(args.token)
        identity = self.deploying_identity()
        if args.token == AZUREAD_CLIENT_CONFIG:
            identity.pop("subscriptionId")
            return identity, []
        if args.token == ARM_CLIENT_CONFIG:
            return identity, []
        raise NotImplementedError(f"the offline plan has no answer for invoke {args.token}")

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        """Used for reads and by a stock MockMonitor (no options known then)."""
        inputs, secrets = unwrap_secrets(args.inputs)
        record = ResourceRecord(
            type=args.typ,
            name=args.name,
            urn="",
            custom=bool(args.custom if args.custom is not None else True),
            inputs=inputs,
            options={},
            secret_paths=frozenset(secrets),
        )
        return self.register(record)

    def register(self, record: ResourceRecord) -> tuple[str, dict[str, Any]]:
        resource_id, state = self.create(record)
        record.id = resource_id or None
        record.outputs = state
        with self._lock:
            self.records.append(record)
        return resource_id, state

    # -- fakes --------------------------------------------------------------------------------

    def fake_state(self, record: ResourceRecord) -> tuple[str, dict[str, Any]]:
        inputs = record.inputs
        name = record.name
        group = f"/subscriptions/{self.subscription_id}/resourceGroups/"
        vaults = "/providers/Microsoft.KeyVault/vaults/"
        suffix = PRESETS[self.cloud_name].vault_suffix
        if record.type == tokens.GENERIC_RESOURCE:
            return self._generic_state(record)
        if record.type == tokens.APPLICATION:
            object_id = self.new_guid("application-object", name)
            client_id = self.new_guid("application-client", name)
            state = {**inputs, "objectId": object_id, "clientId": client_id}
            return f"/applications/{object_id}", state
        if record.type == tokens.SERVICE_PRINCIPAL:
            object_id = self.new_guid("service-principal-object", name)
            state = {**inputs, "objectId": object_id, "applicationTenantId": self.tenant_id}
            return f"/servicePrincipals/{object_id}", state
        if record.type == tokens.APPLICATION_PASSWORD:
            key_id = self.new_guid("password-key", name)
            # A recognisable fake, never a usable credential.
            state = {**inputs, "keyId": key_id, "value": f"offline-plan-fake-{key_id[:8]}"}
            return f"{inputs.get('applicationId')}/password/{key_id}", state
        if record.type == RESOURCE_GROUP:
            group_name = str(inputs.get("resourceGroupName") or name)
            return f"{group}{group_name}", {**inputs, "name": group_name}
        if record.type == tokens.VAULT:
            vault = inputs.get("vaultName") or name
            properties = {
                **(inputs.get("properties") or {}),
                "vaultUri": f"https://{vault}.{suffix}/",
            }
            state = {**inputs, "name": vault, "properties": properties}
            return f"{group}{inputs.get('resourceGroupName')}{vaults}{vault}", state
        if record.type == tokens.SECRET:
            vault = inputs.get("vaultName")
            secret = inputs.get("secretName") or name
            # Azure never returns a secret's value; neither do the fakes.
            properties = {k: v for k, v in (inputs.get("properties") or {}).items() if k != "value"}
            properties["secretUri"] = f"https://{vault}.{suffix}/secrets/{secret}"
            state = {**inputs, "name": secret, "properties": properties}
            vault_id = f"{group}{inputs.get('resourceGroupName')}{vaults}{vault}"
            return f"{vault_id}/secrets/{secret}", state
        if record.type == tokens.ACCESS_POLICY:
            grantee = (inputs.get("policy") or {}).get("objectId")
            vault_id = f"{group}{inputs.get('resourceGroupName')}{vaults}{inputs.get('vaultName')}"
            return f"{vault_id}/accessPolicy/{grantee}", dict(inputs)
        if record.type == tokens.FEDERATED_CREDENTIAL:
            credential = self.new_guid("federated-credential", name)
            state = {**inputs, "credentialId": credential}
            return f"{inputs.get('applicationId')}/federatedIdentityCredential/{credential}", state
        if record.type == tokens.CONDITIONAL_ACCESS_POLICY:
            policy = self.new_guid("conditional-access-policy", name)
            return policy, {**inputs, "objectId": policy}
        if record.type == tokens.SECURITY_DEFAULTS:
            # What the dynamic provider's create returns; the tenant's previous value is not
            # known offline, so it is left out.
            return "identitySecurityDefaultsEnforcementPolicy", {
                **inputs,
                "isEnabled": inputs.get("enabled"),
            }
        if record.type == tokens.ROLE_ASSIGNMENT:
            assignment = self.new_guid("role-assignment", name)
            role_path = "/providers/Microsoft.Authorization/roleAssignments/"
            return f"{inputs.get('scope')}{role_path}{assignment}", {**inputs, "name": assignment}
        return f"{name}-id", dict(inputs)

    def _generic_state(self, record: ResourceRecord) -> tuple[str, dict[str, Any]]:
        """What azure-native's generic Resource returns: the ARM id, ``name`` and the
        resource's ``properties`` as ARM answers them (a vault's URI; never a secret's value)."""
        inputs = record.inputs
        imported = record.options.get("importId")
        parent = str(inputs.get("parentResourcePath") or "")
        arm_id = "/".join(
            part
            for part in (
                f"/subscriptions/{self.subscription_id}/resourceGroups",
                str(inputs.get("resourceGroupName")),
                "providers",
                str(inputs.get("resourceProviderNamespace")),
                parent,
                str(inputs.get("resourceType")),
                str(inputs.get("resourceName") or record.name),
            )
            if part
        )
        properties = dict(inputs.get("properties") or {})
        suffix = PRESETS[self.cloud_name].vault_suffix
        kind = tokens.kind(record)
        if kind == tokens.VAULT:
            properties["vaultUri"] = f"https://{inputs.get('resourceName')}.{suffix}/"
        elif kind == tokens.SECRET:
            properties.pop("value", None)
            vault = parent.split("/", 1)[-1]
            properties["secretUri"] = (
                f"https://{vault}.{suffix}/secrets/{inputs.get('resourceName')}"
            )
        state = {**inputs, "name": inputs.get("resourceName"), "properties": properties}
        return str(imported or arm_id), state


#: Inputs of azure-native's generic Resource that go into the request URL, not the body.
_GENERIC_URL_INPUTS = frozenset(
    {
        "apiVersion",
        "resourceProviderNamespace",
        "resourceType",
        "parentResourcePath",
        "resourceGroupName",
        "resourceName",
    }
)
#: RoleAssignment inputs that go into the URL ({scope}/providers/.../roleAssignments/{name}).
_ROLE_ASSIGNMENT_URL_INPUTS = frozenset({"scope", "roleAssignmentName"})


def arm_request(record: ResourceRecord) -> tuple[str, dict[str, Any]] | None:
    """(api version, JSON body) of the PUT the azure-native provider sends for a generic ARM
    resource or a role assignment, built from the registered inputs; None for other types.
    Every input that is not part of the URL lands in the body, so a misspelled input shows up
    as an unknown property when the body is checked against the API specification."""
    inputs = record.inputs
    if record.type == tokens.GENERIC_RESOURCE:
        body = {k: v for k, v in inputs.items() if k not in _GENERIC_URL_INPUTS}
        return str(inputs.get("apiVersion")), body
    if record.type == tokens.ROLE_ASSIGNMENT:
        properties = {k: v for k, v in inputs.items() if k not in _ROLE_ASSIGNMENT_URL_INPUTS}
        # pulumi-azure-native sends principalType User when none is given.
        properties.setdefault("principalType", "User")
        return wellknown.ARM_ROLE_ASSIGNMENT_API_VERSION, {"properties": properties}
    return None
