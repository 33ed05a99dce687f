"""A partner's whole setup inside the cloud double, and a driver for the CLI as a subprocess.

Used by the consent, store-token and lifecycle tests: a CSP tenant with an MFA admin, the CPV
vendor's multi-tenant app, the Key Vault client app, a pipeline identity that writes the token,
and a vault whose access policies are the ones the Pulumi program declares.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from foundation import wellknown as wk
from scripts.local.ports import free_port

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class PartnerWorld:
    cloud: Any
    home: Path
    port: int = field(default_factory=free_port)

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
        return subprocess.run([sys.executable, "-m", "invoke", *args], cwd=ROOT, text=True,
                              capture_output=True, env=env or self.env(), timeout=timeout,
                              check=False)

    def consent(self, *args: str, user: str | None = None, accept: bool = True,
                tamper: Any = None, env: dict[str, str] | None = None,
                ) -> subprocess.CompletedProcess[str]:
        """Run ``invoke consent --no-browser``; play the user on the URL it prints on stderr,
        then deliver the redirect to its listener, as the browser would."""
        cmd = [sys.executable, "-m", "invoke", "consent", "--no-browser",
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
