"""Pulumi mocks that *create* what the program declares inside the local cloud double.

``invoke demo`` runs the real ``infra`` program through the SDK's mock engine with these mocks,
so the app registrations, service principal, password, vault (with its inline access policies),
role assignments and the placeholder secret the program declares are exactly the ones the double
then enforces: a wrong object id in an access policy would make the demo fail, as it would in
Azure.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from clouddouble import CloudDouble, Vault
from clouddouble.arm import ArmDouble
from foundation.resource_types import GENERIC_RESOURCE, Registration, vault_name_of
from scripts.offline.plan_engine import RecordingMocks, ResourceRecord, arm_request
from scripts.policy import rules as types


class DoubleMocks(RecordingMocks):
    def __init__(self, cloud: CloudDouble, tenant_id: str, deployer_object_id: str) -> None:
        super().__init__(deployer_object_id=deployer_object_id, tenant_id=tenant_id,
                         seed="csp-secure-app-demo")
        self.cloud = cloud
        self.app_ids: dict[str, str] = {}  # application object id -> client id
        self.vaults: dict[str, Vault] = {}
        # The control plane: every Key Vault write and role assignment goes through it too, so
        # the rehearsal fails where ARM would (parallel vault writes, a wrong principal type).
        self.arm = ArmDouble(operation_seconds=0.01)
        self.arm.add_principal(deployer_object_id, "ServicePrincipal")
        #: (resource name, ARM error code) for every write ARM refused.
        self.refusals: list[tuple[str, str]] = []

    def create(self, record: ResourceRecord) -> tuple[str, dict[str, Any]]:
        resource_id, state = super().create(record)
        request = arm_request(record)
        if request is not None and not record.options.get("importId"):
            answer = self.arm.put(resource_id, *request)
            if not answer.ok:
                self.refusals.append((record.name, str(answer.code)))
        handler = {
            types.APPLICATION: self._application,
            types.SERVICE_PRINCIPAL: self._service_principal,
            types.APPLICATION_PASSWORD: self._password,
            types.VAULT: self._vault,
            types.ACCESS_POLICY: self._access_policy,
            types.ROLE_ASSIGNMENT: self._role_assignment,
            types.SECRET: self._secret,
        }.get(types.kind(record))
        if handler is not None:
            handler(record.inputs, state)
        return resource_id, state

    def _application(self, inputs: dict[str, Any], state: dict[str, Any]) -> None:
        access = [
            (str(r["resourceAppId"]), [(str(a["id"]), str(a["type"]))
                                       for a in r.get("resourceAccesses", [])])
            for r in inputs.get("requiredResourceAccesses") or []
        ]
        self.cloud.register_app(
            self.tenant_id, str(inputs.get("displayName", "app")),
            multi_tenant=inputs.get("signInAudience") == "AzureADMultipleOrgs",
            redirect_uris=list((inputs.get("web") or {}).get("redirectUris") or []),
            required_resource_access=access,
            app_id=state["clientId"], object_id=state["objectId"])
        self.app_ids[state["objectId"]] = state["clientId"]

    def _service_principal(self, inputs: dict[str, Any], state: dict[str, Any]) -> None:
        self.cloud.add_service_principal(self.tenant_id, str(inputs["clientId"]),
                                         object_id=state["objectId"])
        self.arm.add_principal(str(state["objectId"]), "ServicePrincipal")

    def _password(self, inputs: dict[str, Any], state: dict[str, Any]) -> None:
        object_id = str(inputs["applicationId"]).rsplit("/", 1)[-1]
        end = inputs.get("endDate")
        state["value"] = self.cloud.add_password(
            self.app_ids[object_id],
            end=dt.datetime.fromisoformat(str(end).replace("Z", "+00:00")) if end else None)

    def _vault(self, inputs: dict[str, Any], state: dict[str, Any]) -> None:
        props = inputs.get("properties") or {}
        vault = self.cloud.create_vault(
            str(state["name"]), self.tenant_id,
            rbac=bool(props.get("enableRbacAuthorization")),
            purge_protection=bool(props.get("enablePurgeProtection")))
        self.vaults[str(state["name"]).lower()] = vault
        state["properties"]["vaultUri"] = vault.uri
        # accessPolicy mode: the entries are inline in the vault's body (the vault owns them).
        for entry in props.get("accessPolicies") or []:
            secrets = list((entry.get("permissions") or {}).get("secrets") or [])
            vault.set_access_policy(str(entry["objectId"]), secrets=secrets)

    def _access_policy(self, inputs: dict[str, Any], state: dict[str, Any]) -> None:
        """A standalone access policy (only the previous program declared them)."""
        policy = inputs.get("policy") or {}
        secrets = list((policy.get("permissions") or {}).get("secrets") or [])
        self.vaults[str(inputs["vaultName"]).lower()].set_access_policy(
            str(policy["objectId"]), secrets=secrets)

    def _role_assignment(self, inputs: dict[str, Any], state: dict[str, Any]) -> None:
        scope = str(inputs.get("scope", ""))
        name = scope.split("/vaults/", 1)[-1].split("/", 1)[0].lower()
        role = str(inputs["roleDefinitionId"]).rsplit("/", 1)[-1]
        self.vaults[name].grant_role(str(inputs["principalId"]), role, scope)

    def _secret(self, inputs: dict[str, Any], state: dict[str, Any]) -> None:
        owner = vault_name_of(Registration(type=GENERIC_RESOURCE, name="", inputs=inputs))
        vault = self.vaults[str(owner).lower()]
        props = inputs.get("properties") or {}
        attributes = props.get("attributes") or {}
        # ARM's SecretAttributes name the expiry `exp` (the typed resource said `expires`).
        expires = attributes.get("exp") or attributes.get("expires")
        vault.set_secret(
            str(state["name"]), str(props.get("value", "")),
            content_type=props.get("contentType"), tags=inputs.get("tags"),
            expires=dt.datetime.fromtimestamp(int(expires), dt.UTC) if expires else None)
        state["properties"]["secretUri"] = f"{vault.uri.rstrip('/')}/secrets/{state['name']}"
