"""The demo world: the local cloud double, provisioned by the real ``infra`` program.

``csp-secure-app demo`` (``run_demo``) starts the double (Entra ID, Key Vault, Partner Center,
Graph on
127.0.0.1), adds the partner tenant, its MFA admin and a pipeline identity, then runs the
program through the plan's mock engine with ``DoubleMocks``, which *create* what it declares in
the double: the app registrations, service principal, password, vault (with its inline access
policies), role assignments and the placeholder secret are exactly the ones the double then
enforces, so a wrong object id in an access policy fails the demo, as it would in Azure. The
rehearsal's steps themselves are ``scripts.flows.demo.rehearse``.

The process environment is the double's while the demo runs (azure-identity and requests read
it) and is restored afterwards, also after an error: an in-process caller finds it unchanged.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from clouddouble import CloudDouble, Vault
from clouddouble.arm import ArmDouble
from foundation.clouds import resolve_endpoints
from foundation.errors import ServiceError
from foundation.resource_types import GENERIC_RESOURCE, Registration, vault_name_of
from foundation.wellknown import (
    MICROSOFT_GRAPH_APP_ID,
    PARTNER_CENTER_APP_ID,
    PARTNER_CENTER_USER_IMPERSONATION,
    VERIFY_GRAPH_APP_ROLES,
    loopback_redirect_uri,
)
from scripts.flows.consent import SignInUI
from scripts.flows.demo import DemoResult, Rehearsal, rehearse
from scripts.local.ports import free_port
from scripts.offline.plan_engine import load_stack_config, run_program
from scripts.offline.plan_mocks import RecordingMocks, ResourceRecord, arm_request
from scripts.policy import rules as types
from scripts.types import PartnerApp, Say


@contextmanager
def restored_environment() -> Iterator[None]:
    """Whatever the block sets in ``os.environ`` is undone when it ends, also on an error."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        for name in set(os.environ) - set(saved):
            del os.environ[name]
        for name, value in saved.items():
            if os.environ.get(name) != value:
                os.environ[name] = value


def scripted_user(cloud: CloudDouble, upn: str, password: str) -> Callable[[str], str]:
    """The double's scripted user: signs in at an authorize URL with the password and MFA, and
    returns the loopback redirect URL the browser would follow."""
    return lambda url: cloud.sign_in(url, upn, password, mfa_code="auto")


def run_demo(project_dir: Path, say: Say, *, use_browser: bool = False,
             stack: str = "dev", clock: SignInUI | None = None) -> DemoResult:
    config = load_stack_config(stack, project_dir)
    # A rehearsal is a fresh deployment: its client secrets are issued today, so the example
    # stack's rotation date can never make the rehearsal's secrets expired.
    config["clientSecretRotation"] = dt.date.today().isoformat()
    # The rehearsal's deployer is a service principal (a pipeline), and its role assignment
    # must say so: ARM refuses a mismatch (UnmatchedPrincipalType).
    config["deployerPrincipalType"] = "ServicePrincipal"
    with restored_environment(), CloudDouble() as cloud, \
            tempfile.TemporaryDirectory() as home:
        # The rehearsal's fallback files (if any) go to a throwaway folder, not ~/.secure-app.
        os.environ["SECURE_APP_HOME"] = home
        say(f"1/6 Local cloud double (a rehearsal: nothing leaves this machine): Entra ID "
            f"{cloud.authority_host}, Partner Center {cloud.partner_center_endpoint}, Graph "
            f"{cloud.graph_endpoint}; each vault gets its own address when it is created.")
        os.environ.update(cloud.env())
        endpoints = resolve_endpoints(None, os.environ)

        tenant_id = config.get("tenantId") or None
        domain = config.get("cspDomain", "contoso.onmicrosoft.com")
        tenant = cloud.add_tenant(domain=domain, tenant_id=tenant_id)
        password = secrets.token_urlsafe(12)
        admin = cloud.add_user(tenant.id, f"admin@{domain}", password=password, mfa=True,
                               admin=True)
        # Who runs `pulumi up`, writes the token and runs verify: a pipeline identity, as in
        # GitOps, with the Graph permissions verify reads with, consented by an administrator
        # (the one step the program cannot take: README "Graph permissions of the identity
        # that runs verify").
        deployer = cloud.register_app(
            tenant.id, "deployment pipeline",
            required_resource_access=[(MICROSOFT_GRAPH_APP_ID,
                                       [(role, "Role") for role in VERIFY_GRAPH_APP_ROLES])])
        cloud.grant_admin_consent(tenant.id, deployer.app_id)  # creates its service principal
        deployer_sp = cloud.add_service_principal(tenant.id, deployer.app_id)
        os.environ.update({"AZURE_TENANT_ID": tenant.id, "AZURE_CLIENT_ID": deployer.app_id,
                           "AZURE_CLIENT_SECRET": cloud.add_password(deployer.app_id)})

        say(f"2/6 Provisioning: the infra/ program (stack {stack}) through Pulumi's mock engine, "
            "each resource created in the double.")
        mocks = DoubleMocks(cloud, tenant.id, deployer_sp)
        plan = run_program(config, mocks, stack=stack)
        if mocks.refusals:
            refused = ", ".join(f"{name} ({code})" for name, code in mocks.refusals)
            raise ServiceError(f"the control plane refused {refused} in the rehearsal",
                               fix="this is a bug in the program; please report it")
        # The engine registers resources as their inputs resolve, in no fixed order: list them
        # sorted, so two runs print the same lines.
        for record in sorted(plan.resources, key=lambda r: (r.type.split(":")[-1], r.name)):
            if record.custom:
                say(f"    + {record.type.split(':')[-1]} {record.name}")

        port = free_port()
        vendor = cloud.add_tenant(domain="cpv-vendor.onmicrosoft.com")
        cpv = cloud.register_app(
            vendor.id, "CPV automation platform", multi_tenant=True,
            redirect_uris=[loopback_redirect_uri(port)],
            required_resource_access=[(PARTNER_CENTER_APP_ID,
                                       [(PARTNER_CENTER_USER_IMPERSONATION, "Scope")])])
        cloud.add_service_principal(vendor.id, cpv.app_id)
        app = PartnerApp(csp_domain=domain, app_id=cpv.app_id,
                         app_secret=cloud.add_password(cpv.app_id))
        world = Rehearsal(
            endpoints=endpoints, domain=domain, admin_upn=admin.upn, password=password,
            app=app, port=port, outputs={k: v.value for k, v in plan.outputs.items()},
            scripted_sign_in=scripted_user(cloud, admin.upn, password),
            mfa_code=lambda: cloud.mfa_code(admin.upn),
            request_count=lambda: len(cloud.requests))
        return rehearse(world, say, use_browser=use_browser, clock=clock)


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
