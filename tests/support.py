"""Test support, shared by every layer's tests: one seeded world of a partner inside the cloud
double (`PartnerWorld`, `make_partner`), the CLI driven as a subprocess, MSAL sign-ins through the
double's pages, and the lifecycle helpers (seed by a real consent, redeem as the platform does,
Graph roles). The fault matrix's runner builds on it (tests/matrix/runner.py)."""

from __future__ import annotations

import datetime as dt
import os
import random
import socket
import subprocess
import sys
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import msal
import requests

from clouddouble import App, CloudDouble, Tenant, User
from foundation import wellknown as wk
from scripts.local.ports import free_port as free_port  # tests/local/ bind what it returns at once

REDIRECT_URI = f"http://localhost:{wk.DEFAULT_REDIRECT_PORT}"
PC_ACCESS = (wk.PARTNER_CENTER_APP_ID, [(wk.PARTNER_CENTER_USER_IMPERSONATION, "Scope")])


def unique_domain(prefix: str = "contoso") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}.onmicrosoft.com"


def query_params(url: str) -> dict[str, str]:
    """The query of a redirect URL as the flat dict MSAL's auth-code flow expects."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@dataclass
class Partner:
    """A CSP partner tenant with an MFA admin and a single-tenant app asking for Partner Center."""

    cloud: CloudDouble
    tenant: Tenant
    admin: User
    password: str
    app: App
    secret: str

    @property
    def authority(self) -> str:
        return f"{self.cloud.authority_host}/{self.tenant.id}"

    def msal_app(
        self,
        secret: str | None = None,
        client_id: str | None = None,
    ) -> msal.ConfidentialClientApplication:
        return msal.ConfidentialClientApplication(
            client_id or self.app.app_id,
            client_credential=secret or self.secret,
            authority=self.authority,
            instance_discovery=False,
        )

    def add_user(self, name: str, mfa: bool = True, admin: bool = False) -> User:
        return self.cloud.add_user(
            self.tenant.id,
            f"{name}@{self.tenant.initial_domain}",
            password=self.password,
            mfa=mfa,
            admin=admin,
        )


def make_partner(
    cloud: CloudDouble,
    *,
    multi_tenant: bool = False,
    access: list[tuple[str, list[tuple[str, str]]]] | None = None,
    redirect_uris: list[str] | None = None,
    mfa: bool = True,
    public_client: bool = False,
) -> Partner:
    tenant = cloud.add_tenant(domain=unique_domain())
    password = f"Pw-{uuid.uuid4().hex}"
    admin = cloud.add_user(
        tenant.id, f"admin@{tenant.initial_domain}", password=password, mfa=mfa, admin=True
    )
    app = cloud.register_app(
        tenant.id,
        "Partner Center SAM app",
        multi_tenant=multi_tenant,
        redirect_uris=redirect_uris or [REDIRECT_URI],
        required_resource_access=access if access is not None else [PC_ACCESS],
        public_client=public_client,
    )
    secret = cloud.add_password(app.app_id)
    return Partner(cloud, tenant, admin, password, app, secret)


def sign_in_with_msal(
    partner: Partner,
    scopes: list[str] | None = None,
    user: User | None = None,
    cca: msal.ConfidentialClientApplication | None = None,
    password: str | None = None,
    **sign_in: Any,
) -> dict[str, Any]:
    """The product's consent path: MSAL builds the authorize URL, the double's pages are filled
    in by the programmatic user, MSAL redeems the code. Returns MSAL's result dict."""
    cca = cca or partner.msal_app()
    flow = cca.initiate_auth_code_flow(
        scopes=scopes or [wk.PARTNER_CENTER_SCOPE], redirect_uri=REDIRECT_URI, prompt="login"
    )
    who = user or partner.admin
    redirect = partner.cloud.sign_in(
        flow["auth_uri"], who.upn, password or partner.password, **sign_in
    )
    result: dict[str, Any] = cca.acquire_token_by_auth_code_flow(flow, query_params(redirect))
    return result

ROOT = Path(__file__).resolve().parents[1]


def redirect_port() -> int:
    """A free port below Linux's ephemeral range (32768-60999), for a world's redirect listener.
    A port the kernel hands out (``free_port``'s bind to port 0) is one it may hand out again,
    to an outgoing connection or another listener bound to port 0 (the double's vaults), between
    choosing it and consent listening on it: that run then fails with "already in use"."""
    for _ in range(200):
        port = random.randrange(20000, 32000)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port in 20000-32000")


@dataclass
class PartnerWorld:
    cloud: Any
    home: Path
    port: int = field(default_factory=redirect_port)

    def __post_init__(self) -> None:
        tag = uuid.uuid4().hex[:8]
        self.domain = f"contoso{tag}.onmicrosoft.com"
        self.tenant = self.cloud.add_tenant(domain=self.domain)
        self.password = f"Pw-{uuid.uuid4().hex}"
        self.admin = self.cloud.add_user(self.tenant.id, f"admin@{self.domain}",
                                         password=self.password, mfa=True, admin=True)
        self.no_mfa = self.cloud.add_user(self.tenant.id, f"nomfa@{self.domain}",
                                          password=self.password, mfa=False, admin=True)
        vendor = self.cloud.add_tenant(domain=f"vendor{tag}.onmicrosoft.com")
        self.cpv = self.cloud.register_app(
            vendor.id, "CPV automation platform", multi_tenant=True,
            redirect_uris=[f"http://localhost:{self.port}"],
            required_resource_access=[(wk.PARTNER_CENTER_APP_ID,
                                       [(wk.PARTNER_CENTER_USER_IMPERSONATION, "Scope")])])
        self.cloud.add_service_principal(vendor.id, self.cpv.app_id)
        self.cpv_secret = self.cloud.add_password(self.cpv.app_id)
        self.kv_app = self.cloud.register_app(self.tenant.id, "Azure Key Vault Client App")
        self.kv_sp = self.cloud.add_service_principal(self.tenant.id, self.kv_app.app_id)
        self.kv_secret = self.cloud.add_password(self.kv_app.app_id)
        self.writer_app = self.cloud.register_app(self.tenant.id, "pipeline writer")
        self.writer_sp = self.cloud.add_service_principal(self.tenant.id, self.writer_app.app_id)
        self.writer_secret = self.cloud.add_password(self.writer_app.app_id)
        self.vault = self.cloud.create_vault(f"kv-{tag}", self.tenant.id)
        self.vault.set_access_policy(self.kv_sp, secrets=["get"])
        self.vault.set_access_policy(self.writer_sp, secrets=["get", "list", "set"])
        self.secret_name = "PartnerCenterRefreshToken"

    def secrets(self) -> list[str]:
        """Every secret this world knows, for the no-leak assertions."""
        return [self.cpv_secret, self.kv_secret, self.writer_secret, self.password]

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "PULUMI_"))}
        env.update(self.cloud.env())
        env.update({
            "CSP_DOMAIN": self.domain, "CPV_APP_ID": self.cpv.app_id,
            "CPV_APP_SECRET": self.cpv_secret,
            "KEY_VAULT_URL": self.vault.uri, "KEY_VAULT_SECRET_NAME": self.secret_name,
            "KV_CLIENT_APP_ID": self.kv_app.app_id, "KV_CLIENT_APP_SECRET": self.kv_secret,
            "KV_CLIENT_CSP_DOMAIN": self.domain,
            "AZURE_TENANT_ID": self.tenant.id, "AZURE_CLIENT_ID": self.writer_app.app_id,
            "AZURE_CLIENT_SECRET": self.writer_secret,
            "SECURE_APP_HOME": str(self.home),
        })
        env.update(extra)
        return env

    def invoke(self, *args: str, env: dict[str, str] | None = None,
               timeout: float = 90) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "scripts.cli", *args], cwd=ROOT, text=True,
                              capture_output=True, env=env or self.env(), timeout=timeout,
                              check=False)

    def consent(self, *args: str, user: str | None = None, accept: bool = True,
                tamper: Any = None, env: dict[str, str] | None = None,
                ) -> subprocess.CompletedProcess[str]:
        """Run ``csp-secure-app consent --no-browser``; play the user on the URL it prints on
        stderr,
        then deliver the redirect to its listener, as the browser would."""
        cmd = [sys.executable, "-m", "scripts.cli", "consent", "--no-browser",
               "--redirect-port", str(self.port), "--timeout", "30", *args]
        proc = subprocess.Popen(cmd, cwd=ROOT, text=True, env=env or self.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stderr is not None
        seen: list[str] = []
        for line in proc.stderr:
            seen.append(line)
            if line.startswith("https://"):
                redirect = self.cloud.sign_in(line.strip(), user or self.admin.upn,
                                              self.password, mfa_code="auto", consent=accept)
                if tamper:
                    redirect = tamper(redirect)
                deliver(redirect)
                break
        out, rest = proc.communicate(timeout=60)
        return subprocess.CompletedProcess(cmd, proc.returncode, out, "".join(seen) + rest)


def deliver(redirect_url: str) -> requests.Response:
    """GET the redirect on the loopback listener (127.0.0.1, where it listens)."""
    parts = urlsplit(redirect_url)
    local = urlunsplit(("http", f"127.0.0.1:{parts.port}", parts.path or "/", parts.query, ""))
    return requests.get(local, timeout=10)


def assert_no_secret(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret and secret not in text, "a secret appeared in the output"

PC_SCOPE = [wk.PARTNER_CENTER_SCOPE]


def seed(world: PartnerWorld) -> PartnerWorld:
    """Store one version with a real ``csp-secure-app consent`` (the MFA admin signs in)."""
    result = world.consent()
    assert result.returncode == 0, result.stderr
    assert len(world.vault.secret_versions(world.secret_name)) == 1
    return world


@contextmanager
def world_environ(world: PartnerWorld, **extra: str) -> Iterator[None]:
    """This process's environment is exactly what ``world.invoke`` gives the CLI, until the
    block ends; the process-wide discovery cache starts and ends empty, as in a new process."""
    from foundation.network import discovery

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(world.env(**extra))
    discovery.clear()
    try:
        yield
    finally:
        discovery.clear()
        os.environ.clear()
        os.environ.update(saved)


def seed_in_process(world: PartnerWorld) -> PartnerWorld:
    """``seed`` without the child process: the consent flow the console command runs
    (``scripts.flows.consent.consent``: inputs from the environment, the loopback sign-in, the
    token's checks, the vault write with consent's tags), called here with the CLI's
    environment while the MFA admin signs in. For tests whose subject is what happens to a
    consented token, not the consent command (that is tests/flows/test_consent_cli.py); a
    process start costs several times the flow itself.
    tests/flows/test_consent_cli.py checks that it stores what ``seed`` stores."""
    import threading

    from scripts import inputs
    from scripts.flows import consent as flow

    def person(url: str) -> None:
        def play() -> None:
            deliver(world.cloud.sign_in(url, world.admin.upn, world.password, mfa_code="auto",
                                        consent=True))
        threading.Thread(target=play, name="seed: the admin's browser", daemon=True).start()

    said: list[str] = []
    with world_environ(world):
        given = inputs.consent_inputs("keyvault", None, None, None, None, None, None,
                                      world.port, cwd=ROOT)
        ui = flow.SignInUI(show_url=person, open_browser=lambda _url: False)
        flow.consent(given, ui, mode="no-browser", timeout=30, say=said.append)
    assert len(world.vault.secret_versions(world.secret_name)) == 1, said
    return world


def cpv_client(world: PartnerWorld) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        world.cpv.app_id, client_credential=world.cpv_secret,
        authority=f"{world.cloud.authority_host}/{world.domain}", instance_discovery=False)


def redeems(world: PartnerWorld, refresh_token: str) -> bool:
    """Whether the CPV app can still redeem this refresh token for Partner Center."""
    result = cpv_client(world).acquire_token_by_refresh_token(refresh_token, scopes=PC_SCOPE)
    return "access_token" in result


def token_without_mfa(world: PartnerWorld) -> str:
    """A refresh token from a sign-in without MFA (what a consent by the wrong admin yields)."""
    cca = cpv_client(world)
    with warnings.catch_warnings():  # the loopback redirect uses the query (see consent.py)
        warnings.filterwarnings("ignore", message="response_mode", category=UserWarning)
        flow = cca.initiate_auth_code_flow(scopes=PC_SCOPE,
                                           redirect_uri=f"http://localhost:{world.port}")
    redirect = world.cloud.sign_in(flow["auth_uri"], world.no_mfa.upn, world.password,
                                   mfa_code="auto")
    result = cca.acquire_token_by_auth_code_flow(flow, query_params(redirect))
    assert "refresh_token" in result, result.get("error_description")
    return str(result["refresh_token"])


def grant_graph_roles(cloud: CloudDouble, tenant_id: str, app_id: str, *names: str) -> None:
    """Give an app Graph application permissions with admin consent, as a portal admin would."""
    graph = cloud.catalog.graph
    ids = [(p.id, "Role") for p in graph.permissions if p.kind == "Role" and p.name in names]
    assert len(ids) == len(names), f"unknown Graph role among {names}"
    cloud.update_app(app_id, required_resource_access=[(wk.MICROSOFT_GRAPH_APP_ID, ids)])
    cloud.grant_admin_consent(tenant_id, app_id)


def graph_reader(cloud: CloudDouble, tenant: Tenant, *roles: str) -> tuple[dict[str, str], str]:
    """A pipeline identity in ``tenant`` with the given Graph roles: (its AZURE_* env, secret)."""
    app = cloud.register_app(tenant.id, f"graph reader {uuid.uuid4().hex[:6]}")
    cloud.add_service_principal(tenant.id, app.app_id)
    secret = cloud.add_password(app.app_id)
    grant_graph_roles(cloud, tenant.id, app.app_id, *roles)
    env = {"AZURE_TENANT_ID": tenant.id, "AZURE_CLIENT_ID": app.app_id,
           "AZURE_CLIENT_SECRET": secret}
    return env, secret


def written_earlier(world: PartnerWorld, seconds: float = 1) -> None:
    """Move every version of the world's secret ``seconds`` into the past, as if written that
    much earlier (``Vault.add_history`` makes its old versions the same way). Key Vault's
    timestamps have one-second steps and rotate's ``--keep`` disables only versions created
    strictly before the one it writes: rotations are days apart in real life, and this puts the
    next one in a later second without waiting for the clock to tick over. (Not the double's
    clock: a token minted after ``advance_clock`` fails PyJWT's ``iat`` check in the double's
    own resource servers.)"""
    back = dt.timedelta(seconds=seconds)
    for version in world.vault.secret_versions(world.secret_name):
        version.created -= back
        version.updated -= back


def snapshot(world: PartnerWorld) -> list[tuple[str, str, bool]]:
    """The secret's versions as (version, value, enabled), oldest first."""
    return [(v.version, v.value, v.enabled) for v in world.vault.secret_versions(world.secret_name)]
