"""The inputs every task shares, resolved in one place: flag, then environment, then stack output.

Each bad value gets one line naming the flag or variable, what is wrong and the rule. Secrets are
read from the environment or a hidden prompt only, never from a command-line flag (process
arguments are visible to every user of the machine).
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from foundation import naming as validators
from foundation.errors import ConfigError
from scripts.local.stack_outputs import StackOutputs


@dataclass(frozen=True)
class PartnerApp:
    """The CSP tenant and the CPV (automation platform) app that acts for it."""

    csp_domain: str
    app_id: str
    app_secret: str

    def __repr__(self) -> str:
        return f"PartnerApp(csp_domain={self.csp_domain!r}, app_id={self.app_id!r})"


@dataclass(frozen=True)
class VaultTarget:
    vault_url: str
    secret_name: str


@dataclass(frozen=True)
class KeyVaultClientApp:
    """The app the platform reads the vault with (module settings "Key Vault Client ...")."""

    app_id: str
    app_secret: str
    csp_domain: str

    def __repr__(self) -> str:
        return f"KeyVaultClientApp(app_id={self.app_id!r})"


# The rules are the stack config's (infra/validators.py): one definition for flags and config.

def check_tenant(value: str, source: str) -> str:
    value = value.strip()
    if validators.check_guid(value) is None or validators.check_domain(value) is None:
        return value.lower()
    raise ConfigError(
        f"{source} {value!r} is neither a tenant id (GUID) nor a domain name",
        fix="use the partner tenant's GUID or a verified domain such as contoso.onmicrosoft.com",
    )


def check_guid(value: str, source: str) -> str:
    value = value.strip()
    problem = validators.check_guid(value)
    if problem:
        raise ConfigError(f"{source} {problem}",
                          fix="copy the Application (client) ID from the app registration")
    return value.lower()


def check_secret_name(value: str, source: str) -> str:
    problem = validators.check_secret_name(value)
    if problem:
        raise ConfigError(f"{source} {problem}", fix="use 1-127 letters, digits and hyphens")
    return value


def first(*values: str | None) -> str | None:
    return next((v for v in values if v), None)


def read_secret(env_name: str, label: str, environ: Mapping[str, str],
                prompt: Callable[[str], str] | None = None) -> str:
    """A secret from the environment, else a hidden prompt when someone is at the keyboard."""
    value = environ.get(env_name, "")
    if not value and prompt is None and sys.stdin.isatty():
        prompt = getpass.getpass
    if not value and prompt is not None:
        value = prompt(f"{label} (input hidden): ")
    if not value.strip():
        raise ConfigError(f"no {label}",
                          fix=f"set {env_name} (it is never accepted as a command-line flag)")
    return value.strip()


def partner_app(csp_domain: str | None, app_id: str | None, environ: Mapping[str, str],
                prompt: Callable[[str], str] | None = None) -> PartnerApp:
    domain = first(csp_domain, environ.get("CSP_DOMAIN"))
    if not domain:
        raise ConfigError("no CSP tenant", fix="pass --csp-domain or set CSP_DOMAIN")
    app = first(app_id, environ.get("CPV_APP_ID"))
    if not app:
        raise ConfigError("no CPV app id", fix="pass --app-id or set CPV_APP_ID")
    source_domain = "--csp-domain" if csp_domain else "CSP_DOMAIN"
    source_app = "--app-id" if app_id else "CPV_APP_ID"
    return PartnerApp(
        csp_domain=check_tenant(domain, source_domain),
        app_id=check_guid(app, source_app),
        app_secret=read_secret("CPV_APP_SECRET", "CPV app secret", environ, prompt),
    )


def vault_target(vault_url: str | None, secret_name: str | None, environ: Mapping[str, str],
                 stack: StackOutputs, validate_url: Callable[[str], str]) -> VaultTarget:
    url = first(vault_url, environ.get("KEY_VAULT_URL")) or stack.require(
        "vaultUri", flag="--vault-url", env="KEY_VAULT_URL")
    name = first(secret_name, environ.get("KEY_VAULT_SECRET_NAME")) or stack.require(
        "secretName", flag="--secret-name", env="KEY_VAULT_SECRET_NAME")
    return VaultTarget(vault_url=validate_url(url),
                       secret_name=check_secret_name(name, "secret name"))


def key_vault_client_app(environ: Mapping[str, str], stack: StackOutputs) -> KeyVaultClientApp:
    app_id = first(environ.get("KV_CLIENT_APP_ID")) or stack.require(
        "keyVaultClientAppId", flag="KV_CLIENT_APP_ID", env="KV_CLIENT_APP_ID")
    secret = first(environ.get("KV_CLIENT_APP_SECRET")) or stack.require(
        "keyVaultClientAppSecret", flag="KV_CLIENT_APP_SECRET", env="KV_CLIENT_APP_SECRET")
    domain = first(environ.get("KV_CLIENT_CSP_DOMAIN")) or stack.require(
        "keyVaultClientCspDomain", flag="KV_CLIENT_CSP_DOMAIN", env="KV_CLIENT_CSP_DOMAIN")
    return KeyVaultClientApp(app_id=check_guid(app_id, "KV_CLIENT_APP_ID"), app_secret=secret,
                             csp_domain=check_tenant(domain, "KV_CLIENT_CSP_DOMAIN"))


def check_port(port: int) -> int:
    if not 1024 <= port <= 65535:
        raise ConfigError(f"--redirect-port {port} is out of range",
                          fix="use a port from 1024 to 65535 registered on the CPV app")
    return port
