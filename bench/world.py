"""The partner world every benchmark seeds on the local cloud double, in one place.

``partner_world(tag)`` starts a double and seeds, without a browser:

* a partner tenant ``contoso-{tag}.onmicrosoft.com`` and an admin with MFA, created
  ``admin=True``: the double makes such a user a Global Administrator and, the first time the
  tenant's partner groups are read, a member of AdminAgents (``clouddouble.graph_directory``),
  so verify's ``consent`` check finds who consented able to consent again;
* a writer identity (the pipeline's ``AZURE_*``, set in ``os.environ``) with every Graph
  application permission verify reads with (``foundation.wellknown.VERIFY_GRAPH_APP_ROLES``),
  granted by admin consent as a portal admin would: each of verify's checks runs, none is
  ``unknown`` for want of a permission;
* the Key Vault client app the platform reads with, and a vault ``kv-{tag}`` where the writer
  may get, list and set the secrets and the client app get;
* a multi-tenant CPV app in its vendor's tenant ``vendor-{tag}.onmicrosoft.com``, asking for
  Partner Center ``user_impersonation``;
* unless ``consent=False`` (``bench/requests_count.py`` measures the consent itself): one real
  consent by the double's scripted admin, its token stored in the vault.

``csp``: how the CSP tenant is named to the CPV app and the Key Vault client app, by its GUID
(as a pipeline names it) or by its domain (the README's own usage).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The token's secret in the vault, as the README names it.
NAME = "PartnerCenterRefreshToken"
#: How a user names the CSP tenant: the README's own usage passes the partner's domain
#: (``--csp-domain contoso.onmicrosoft.com``), a pipeline often its GUID. Both must stay at the
#: minimum: discovery is fetched once per tenant, whichever name came first.
FORMS = ("domain", "guid")


@dataclass
class PartnerWorld:
    cloud: Any  # clouddouble.CloudDouble
    home: Path  # SECURE_APP_HOME, a temporary folder
    endpoints: Any  # foundation.clouds.Endpoints
    tenant: Any  # clouddouble Tenant: the partner
    admin: Any  # clouddouble User: the MFA admin who consents
    password: str
    #: The writer identity's AZURE_* variables (already in ``os.environ``) and its service
    #: principal's object id.
    writer_env: dict[str, str]
    writer_sp: str
    app: Any  # scripts.types.PartnerApp: the CPV app, the CSP tenant named by ``csp``
    kv_client: Any  # scripts.types.KeyVaultReader: the platform's Key Vault client app
    vault: Any  # clouddouble Vault
    target: Any  # scripts.types.VaultTarget: the vault and the token's secret
    port: int  # the CPV app's loopback redirect port

    @property
    def vault_host(self) -> str:
        return str(self.vault.uri).split("//", 1)[1].rstrip("/")

    def consent(self) -> Any:
        """One real consent: the scripted admin signs in (password and MFA, no browser), the
        token is redeemed and stored in the vault as a new version. Returns what was stored."""
        from scripts.flows import consent
        from scripts.flows.demo import played_ui
        from scripts.offline.demo_world import scripted_user

        ui = played_ui(scripted_user(self.cloud, self.admin.upn, self.password),
                       lambda _line: None)
        return consent.store(consent.sign_in(self.app, self.endpoints, ui, mode="no-browser",
                                             port=self.port), self.app, self.target,
                             self.endpoints)


def grant_verify_graph_roles(cloud: Any, tenant_id: str, app_id: str) -> None:
    """Every Graph application permission verify's checks read with, with admin consent."""
    from foundation import wellknown as wk

    known = {p.id for p in cloud.catalog.graph.permissions if p.kind == "Role"}
    missing = [r for r in wk.VERIFY_GRAPH_APP_ROLES if r not in known]
    if missing:
        raise SystemExit(f"the double's Graph catalog lacks the app roles {missing}")
    cloud.update_app(app_id, required_resource_access=[
        (wk.MICROSOFT_GRAPH_APP_ID, [(role, "Role") for role in wk.VERIFY_GRAPH_APP_ROLES])])
    cloud.grant_admin_consent(tenant_id, app_id)


@contextmanager
def partner_world(tag: str, *, csp: str = "guid", consent: bool = True) -> Iterator[PartnerWorld]:
    """A double, started and seeded (the module's docstring); ``os.environ`` is restored after."""
    from clouddouble import CloudDouble
    from foundation import wellknown as wk
    from foundation.clouds import resolve_endpoints
    from scripts.local.ports import free_port
    from scripts.offline.demo_world import restored_environment
    from scripts.types import KeyVaultReader, PartnerApp, VaultTarget

    if csp not in FORMS:
        raise ValueError(f"csp must be one of {FORMS}, not {csp!r}")
    with restored_environment(), CloudDouble() as cloud, tempfile.TemporaryDirectory() as home:
        os.environ.update(cloud.env())
        os.environ["SECURE_APP_HOME"] = home
        endpoints = resolve_endpoints(None, os.environ)
        domain = f"contoso-{tag}.onmicrosoft.com"
        tenant = cloud.add_tenant(domain=domain)
        csp_name = tenant.initial_domain if csp == "domain" else tenant.id
        password = secrets.token_urlsafe(12)
        admin = cloud.add_user(tenant.id, f"admin@{domain}", password=password, mfa=True,
                               admin=True)
        writer = cloud.register_app(tenant.id, "pipeline writer")
        writer_sp = cloud.add_service_principal(tenant.id, writer.app_id)
        grant_verify_graph_roles(cloud, tenant.id, writer.app_id)
        writer_env = {"AZURE_TENANT_ID": tenant.id, "AZURE_CLIENT_ID": writer.app_id,
                      "AZURE_CLIENT_SECRET": cloud.add_password(writer.app_id)}
        os.environ.update(writer_env)
        kv_app = cloud.register_app(tenant.id, "Azure Key Vault Client App")
        kv_sp = cloud.add_service_principal(tenant.id, kv_app.app_id)
        kv_client = KeyVaultReader(app_id=kv_app.app_id,
                                   app_secret=cloud.add_password(kv_app.app_id),
                                   csp_domain=csp_name)
        vault = cloud.create_vault(f"kv-{tag}", tenant.id)
        vault.set_access_policy(writer_sp, secrets=["get", "list", "set"])
        vault.set_access_policy(kv_sp, secrets=["get"])
        port = free_port()
        vendor = cloud.add_tenant(domain=f"vendor-{tag}.onmicrosoft.com")
        cpv = cloud.register_app(vendor.id, "CPV", multi_tenant=True,
                                 redirect_uris=[f"http://localhost:{port}"],
                                 required_resource_access=[(wk.PARTNER_CENTER_APP_ID, [(
                                     wk.PARTNER_CENTER_USER_IMPERSONATION, "Scope")])])
        cloud.add_service_principal(vendor.id, cpv.app_id)
        app = PartnerApp(csp_domain=csp_name, app_id=cpv.app_id,
                         app_secret=cloud.add_password(cpv.app_id))
        world = PartnerWorld(
            cloud=cloud, home=Path(home), endpoints=endpoints, tenant=tenant, admin=admin,
            password=password, writer_env=writer_env, writer_sp=writer_sp, app=app,
            kv_client=kv_client, vault=vault,
            target=VaultTarget(vault_url=vault.uri, secret_name=NAME), port=port)
        if consent:
            world.consent()
        yield world


#: What ``verify`` must ask, at the least, in this world (every check runs and finds it healthy:
#: no Conditional Access policy, so no group or role of the admin is looked up for one; the
#: admin is still a Global Administrator and an Admin Agent, so no one else is looked for). The
#: CSP tenant's discovery document is fetched once whichever way it is named
#: (``foundation/network/discovery.py``); a "token" is one token-endpoint call.
VERIFY_MINIMUM: Counter[str] = Counter({
    # The tenant's OpenID configuration, shared by MSAL (the CPV app) and azure-identity (the
    # Key Vault client app, the writer).
    "openid configuration": 1,
    # 1. the Key Vault client app's client-credentials token for the vault (the read, as the
    #    platform reads it); 2. the CPV app's refresh-token redemption (the App+User token for
    #    Partner Center, and the claims of who consented); 3. the writer's app-only Graph token,
    #    one for every Graph read below (all the same resource and identity); 4. the writer's
    #    token for the vault (liveness's PATCH: the platform's identity may only get).
    "token": 4,
    # The vault's bearer challenge, once per process (azure-keyvault caches it per vault, so
    # the writer's client answers it without a second 401), the platform's GET of the newest
    # version, and liveness's PATCH of that version's tags (lastRedeemedAt), every tag kept.
    "vault challenge": 1, "vault GET": 1, "vault PATCH": 1,
    # GET /v1/profiles/organization: the token works with Partner Center (App+User, MFA).
    "Partner Center": 1,
    # partner-center-mfa: GET /v1/applicationmfaadoptionstatus (the CPV app's App+User requests
    # of the last 7 days, with and without MFA) and GET /v1/nonMfaCompliantPartnerPrincipals
    # (the partner's users seen without MFA): two reports, one page each here.
    "Partner Center report": 2,
    # 1. applications(appId=Key Vault client app): its secrets' end dates (core); consent:
    # 2. servicePrincipals(appId=CPV app): present and enabled; 3. servicePrincipals(appId=
    # Partner Center): its object id, the grants' resourceId; 4. oauth2PermissionGrants of the
    # CPV app's service principal: user_impersonation still granted; 5. roleAssignments of the
    # admin who consented: Global Administrator; 6. groups AdminAgents and 7. its members: an
    # Admin Agent (``$expand=members`` would make them one, but Graph expands at most 20
    # members); conditional-access: 8. the Conditional Access policies and 9. the security
    # defaults policy. One page each here.
    "Graph": 9,
})


#: What ``rotate`` must ask: the tenant's discovery, two tokens (the CPV app's redemption, the
#: writer's for the vault), the vault's challenge, the GET of the stored token and the PUT of the
#: new one, and the one Partner Center call that confirms the new token works.
ROTATE_MINIMUM: Counter[str] = Counter({"openid configuration": 1, "token": 2,
                                        "vault challenge": 1, "vault GET": 1,
                                        "Partner Center": 1, "vault PUT": 1})


def off_minimum(counted: Counter[str], minimum: Counter[str]) -> dict[str, int]:
    """Beyond the minimum (+) or short of it (-), by kind of request; empty when exactly at it."""
    return {kind: counted[kind] - minimum[kind] for kind in sorted(set(counted) | set(minimum))
            if counted[kind] != minimum[kind]}
