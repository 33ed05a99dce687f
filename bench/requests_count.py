"""Round trips per consent / rotate / verify, counted at the local cloud double.

Only the tool's own requests count: the pages the admin's browser loads (authorize, login, MFA,
consent) are the user's, not ours. Each flow is compared with its protocol minimum, with the CSP
tenant named by its domain and by its GUID (``FORMS``).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections import Counter
from collections.abc import Callable

from azure.keyvault.secrets._shared.challenge_auth_policy import ChallengeCache

from clouddouble import CloudDouble, RequestRecord
from foundation.clouds import resolve_endpoints
from foundation.network import discovery
from foundation.wellknown import PARTNER_CENTER_APP_ID, PARTNER_CENTER_USER_IMPERSONATION
from scripts.flows import consent, rotate, verify
from scripts.flows.demo import played_ui
from scripts.local.ports import free_port
from scripts.offline.demo_world import restored_environment, scripted_user
from scripts.types import KeyVaultReader, PartnerApp, VaultTarget

BROWSER_STEPS = ("/oauth2/v2.0/authorize", "/login", "/mfa", "/consent")

#: The issue's protocol minimum for consent, and the same reasoning for rotate and verify. A
#: "token" is one token-endpoint call: code or refresh-token redemption, the vault's
#: client-credentials token, and (verify) the Graph token for the app secret's expiry.
MINIMUM: dict[str, Counter[str]] = {
    "consent": Counter({"openid configuration": 1, "token": 2, "Partner Center": 1,
                        "vault challenge": 1, "vault PUT": 1}),
    "rotate": Counter({"openid configuration": 1, "token": 2, "vault challenge": 1,
                       "vault GET": 1, "Partner Center": 1, "vault PUT": 1}),
    "verify": Counter({"openid configuration": 1, "token": 3, "vault challenge": 1,
                       "vault GET": 1, "Partner Center": 1, "Graph": 1}),
}


def classify(record: RequestRecord, vault_host: str) -> str | None:
    path = record.path
    if any(path.endswith(step) for step in BROWSER_STEPS):
        return None  # the admin's browser, not the tool
    if path.endswith("/.well-known/openid-configuration"):
        return "openid configuration"
    if record.host_port == vault_host:
        return "vault challenge" if record.status == 401 else f"vault {record.method}"
    if path.endswith("/oauth2/v2.0/token"):
        return "token"
    if path.startswith("/v1/profiles"):
        return "Partner Center"
    if path.startswith("/v1.0/"):
        return "Graph"
    return f"other {record.method} {path}"


#: How a user names the CSP tenant: the README's own usage passes the partner's domain
#: (``--csp-domain contoso.onmicrosoft.com``), a pipeline often its GUID. Both must stay at the
#: minimum: discovery is fetched once per tenant, whichever name came first.
FORMS = ("domain", "guid")


def count_requests(form: str = "guid") -> dict[str, tuple[Counter[str], Counter[str]]]:
    """Requests per flow with the CSP tenant (CPV app and Key Vault client app) named by
    ``form``: its domain or its GUID."""
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, not {form!r}")
    with restored_environment(), CloudDouble() as cloud, tempfile.TemporaryDirectory() as home:
        os.environ.update(cloud.env())
        os.environ["SECURE_APP_HOME"] = home
        endpoints = resolve_endpoints(None, os.environ)
        tenant = cloud.add_tenant(domain="contoso-bench.onmicrosoft.com")
        csp_name = tenant.initial_domain if form == "domain" else tenant.id
        password = secrets.token_urlsafe(12)
        admin = cloud.add_user(tenant.id, "admin@contoso-bench.onmicrosoft.com",
                               password=password, mfa=True, admin=True)
        writer = cloud.register_app(tenant.id, "writer")
        writer_sp = cloud.add_service_principal(tenant.id, writer.app_id)
        os.environ.update({"AZURE_TENANT_ID": tenant.id, "AZURE_CLIENT_ID": writer.app_id,
                           "AZURE_CLIENT_SECRET": cloud.add_password(writer.app_id)})
        kv_app = cloud.register_app(tenant.id, "kv client")
        kv_sp = cloud.add_service_principal(tenant.id, kv_app.app_id)
        kv_client = KeyVaultReader(app_id=kv_app.app_id,
                                   app_secret=cloud.add_password(kv_app.app_id),
                                   csp_domain=csp_name)
        vault = cloud.create_vault("kv-bench", tenant.id)
        vault.set_access_policy(writer_sp, secrets=["get", "list", "set"])
        vault.set_access_policy(kv_sp, secrets=["get"])
        port = free_port()
        vendor = cloud.add_tenant(domain="vendor-bench.onmicrosoft.com")
        cpv = cloud.register_app(vendor.id, "CPV", multi_tenant=True,
                                 redirect_uris=[f"http://localhost:{port}"],
                                 required_resource_access=[(PARTNER_CENTER_APP_ID, [(
                                     PARTNER_CENTER_USER_IMPERSONATION, "Scope")])])
        app = PartnerApp(csp_domain=csp_name, app_id=cpv.app_id,
                         app_secret=cloud.add_password(cpv.app_id))
        target = VaultTarget(vault_url=vault.uri, secret_name="PartnerCenterRefreshToken")
        vault_host = vault.uri.split("//", 1)[1].rstrip("/")

        def measured(run: Callable[[], object]) -> Counter[str]:
            # Each task runs in a fresh process in real use: forget the vault challenge the SDK
            # caches per process, so every flow pays for it as it would.
            ChallengeCache.clear()
            discovery.clear()
            cloud.clear_requests()
            run()
            return Counter(n for n in (classify(r, vault_host) for r in cloud.requests) if n)

        ui = played_ui(scripted_user(cloud, admin.upn, password), lambda _line: None)
        results = {
            "consent": measured(lambda: consent.store(
                consent.sign_in(app, endpoints, ui, mode="no-browser", port=port), app,
                target, endpoints)),
            "rotate": measured(lambda: rotate.rotate(app, target, endpoints)),
            "verify": measured(lambda: verify.verify(kv_client, app, target, endpoints)),
        }
        return {flow: (counted, MINIMUM[flow]) for flow, counted in results.items()}


if __name__ == "__main__":
    for csp_form in FORMS:
        for name, (got, minimum) in count_requests(csp_form).items():
            print(f"{name} ({csp_form})", dict(got), "minimum", sum(minimum.values()))
