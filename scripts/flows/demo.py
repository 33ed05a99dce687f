"""``invoke demo``: the whole secure application model, rehearsed on this machine.

Nothing leaves 127.0.0.1: a local HTTPS double of Entra ID, Key Vault, Partner Center and Graph
stands in for Microsoft's cloud. The steps are the real ones, with the real code and SDKs:
provision (the ``infra`` program through Pulumi's mock engine, creating each resource in the
double), consent (MSAL sign-in with MFA and a loopback redirect), store (azure-keyvault-secrets),
read back as the platform would (Key Vault client app, then redeem and call Partner Center), and
print the module settings.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
import sys
import tempfile
import threading
import urllib.request
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from clouddouble import CloudDouble
from foundation.clouds import resolve_endpoints
from foundation.errors import ServiceError
from foundation.wellknown import (
    GRAPH_APPLICATION_READ_ALL_ROLE,
    MICROSOFT_GRAPH_APP_ID,
    PARTNER_CENTER_APP_ID,
    PARTNER_CENTER_USER_IMPERSONATION,
)
from scripts.flows import consent, settings, verify
from scripts.flows.plan import load_stack_config, run_program
from scripts.inputs import KeyVaultClientApp, PartnerApp, VaultTarget
from scripts.local import children

Say = Callable[[str], None]


@dataclass(frozen=True)
class DemoResult:
    settings: settings.ModuleSettings
    health: verify.HealthReport
    request_count: int


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _deliver(redirect_url: str) -> None:
    """Do what the browser does at the end of the sign-in: GET the loopback redirect."""
    parts = urlsplit(redirect_url)
    local = urlunsplit(("http", f"127.0.0.1:{parts.port}", parts.path or "/", parts.query, ""))
    with urllib.request.urlopen(local, timeout=10) as answer:  # noqa: S310 (loopback http) # nosec B310
        answer.read()


def loopback_redirect_uri(port: int) -> str:
    """The CPV app's loopback redirect URI, with the slash: Entra stores a URI without a path that
    way, and the provider behind pulumi-azuread refuses one without it."""
    return f"http://localhost:{port}/"


def run_demo(project_dir: Path, say: Say, *, use_browser: bool = False,
             stack: str = "dev") -> DemoResult:
    config = load_stack_config(stack, project_dir)
    # A rehearsal is a fresh deployment: its client secrets are issued today, so the example
    # stack's rotation date can never make the rehearsal's secrets expired.
    config["clientSecretRotation"] = dt.date.today().isoformat()
    # The rehearsal's deployer is a service principal (a pipeline), and its role assignment
    # must say so: ARM refuses a mismatch (UnmatchedPrincipalType).
    config["deployerPrincipalType"] = "ServicePrincipal"
    with CloudDouble() as cloud, tempfile.TemporaryDirectory() as home:
        # The rehearsal's fallback files (if any) go to a throwaway folder, not ~/.secure-app.
        os.environ["SECURE_APP_HOME"] = home
        say(f"1/6 Local cloud double on {cloud.authority_host} (a rehearsal: nothing leaves "
            "this machine).")
        os.environ.update(cloud.env())
        endpoints = resolve_endpoints(None, os.environ)

        tenant_id = config.get("tenantId") or None
        domain = config.get("cspDomain", "contoso.onmicrosoft.com")
        tenant = cloud.add_tenant(domain=domain, tenant_id=tenant_id)
        password = secrets.token_urlsafe(12)
        admin = cloud.add_user(tenant.id, f"admin@{domain}", password=password, mfa=True,
                               admin=True)
        # Who runs `pulumi up` and writes the token: a pipeline identity, as in GitOps.
        deployer = cloud.register_app(
            tenant.id, "deployment pipeline",
            required_resource_access=[(MICROSOFT_GRAPH_APP_ID,
                                       [(GRAPH_APPLICATION_READ_ALL_ROLE, "Role")])])
        cloud.grant_admin_consent(tenant.id, deployer.app_id)  # creates its service principal
        deployer_sp = cloud.add_service_principal(tenant.id, deployer.app_id)
        os.environ.update({"AZURE_TENANT_ID": tenant.id, "AZURE_CLIENT_ID": deployer.app_id,
                           "AZURE_CLIENT_SECRET": cloud.add_password(deployer.app_id)})

        say(f"2/6 Provisioning: the infra/ program (stack {stack}) through Pulumi's mock engine, "
            "each resource created in the double.")
        from scripts.offline.demo_world import DoubleMocks

        mocks = DoubleMocks(cloud, tenant.id, deployer_sp)
        plan = run_program(config, mocks, stack=stack)
        if mocks.refusals:
            refused = ", ".join(f"{name} ({code})" for name, code in mocks.refusals)
            raise ServiceError(f"the control plane refused {refused} in the rehearsal",
                               fix="this is a bug in the program; please report it")
        out = {k: v.value for k, v in plan.outputs.items()}
        for record in plan.resources:
            if record.custom:
                say(f"    + {record.type.split(':')[-1]} {record.name}")

        port = _free_port()
        vendor = cloud.add_tenant(domain="cpv-vendor.onmicrosoft.com")
        cpv = cloud.register_app(
            vendor.id, "CPV automation platform", multi_tenant=True,
            redirect_uris=[loopback_redirect_uri(port)],
            required_resource_access=[(PARTNER_CENTER_APP_ID,
                                       [(PARTNER_CENTER_USER_IMPERSONATION, "Scope")])])
        cloud.add_service_principal(vendor.id, cpv.app_id)
        app = PartnerApp(csp_domain=domain, app_id=cpv.app_id,
                         app_secret=cloud.add_password(cpv.app_id))

        say(f"3/6 Consent: {admin.upn} signs in with MFA and consents for the CPV app.")
        ui = _browser_ui(say, admin.upn, password, cloud) if use_browser else _played_ui(
            cloud, admin.upn, password, say)
        tokens = consent.sign_in(app, endpoints, ui, mode="browser" if use_browser
                                 else "no-browser", port=port, timeout=300)
        say(f"    signed in: amr={','.join(tokens.claims.amr)}; Partner Center: "
            f"{tokens.profile.company_name}")

        target = VaultTarget(vault_url=str(out["vaultUri"]), secret_name=str(out["secretName"]))
        stored = consent.store(tokens, app, target, endpoints)
        say(f"4/6 Stored as version {stored.version} of {target.secret_name} "
            "(90-day expiry, tags: who, when, tenant, app).")

        say("5/6 Reading it back as the platform does: Key Vault client app -> secret -> "
            "redeem -> Partner Center.")
        kv_client = KeyVaultClientApp(app_id=str(out["keyVaultClientAppId"]),
                                      app_secret=str(out["keyVaultClientAppSecret"]),
                                      csp_domain=str(out["keyVaultClientCspDomain"]))
        health = verify.verify(kv_client, app, target, endpoints)
        for line in health.table().splitlines():
            say(f"    {line}")
        if health.status == "broken":
            raise ServiceError("the platform could not use the stored token in the rehearsal",
                               fix="see the checks above; this is a bug in the demo")

        say("6/6 Module settings for the platform (secrets masked; the real run prints yours):")
        result = settings.build(csp_domain=domain, csp_account_id=tokens.claims.tenant_id,
                                app_id=app.app_id, app_secret=app.app_secret,
                                kv_client=kv_client, secret_id=stored.secret_id)
        return DemoResult(settings=result, health=health, request_count=len(cloud.requests))


def _played_ui(cloud: CloudDouble, upn: str, password: str, say: Say) -> consent.SignInUI:
    """No browser: the double's scripted user fills in the same pages a person would."""

    def play(url: str) -> None:
        def user() -> None:
            try:
                _deliver(cloud.sign_in(url, upn, password, mfa_code="auto"))
            except Exception as exc:  # the listener times out and reports it
                say(f"    the scripted sign-in failed: {type(exc).__name__}")

        threading.Thread(target=user, daemon=True).start()

    return consent.SignInUI(show_url=play)


def _browser_ui(say: Say, upn: str, password: str, cloud: CloudDouble) -> consent.SignInUI:
    def show(url: str) -> None:
        say(f"    Sign in as {upn} / {password} (a fake demo user). Your browser will warn "
            "about the test CA: it is the local double's.")
        say(url)

    def tell(message: str) -> None:
        say(f"    note: {message}")

    def mfa_hint() -> None:
        say(f"    MFA code: {cloud.mfa_code(upn)}")

    def open_browser(url: str) -> bool:
        mfa_hint()
        return children.open_browser(url)

    return consent.SignInUI(show_url=show, open_browser=open_browser, tell=tell)


def browser_available() -> bool:
    """Open a real browser only for a person at a desktop; CI and SSH sessions get the scripted
    user, so the README's first command completes anywhere."""
    if os.environ.get("CI") or not sys.stdin.isatty():
        return False
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                 or os.environ.get("WAYLAND_DISPLAY")):
        return False
    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True
