"""The module settings the automation platform's form asks for, in its order, and how they print.

Secrets (the CPV app secret, the Key Vault client app secret, a manual refresh token) print as
``***`` unless the user explicitly asks with ``--show-secrets``. ``csp-secure-app settings`` prints them
later without a new consent (:func:`current`): from the stack and the secret's current version.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, fields

from foundation.clouds import Endpoints
from foundation.errors import ConfigError
from scripts.types import KeyVaultReader, PartnerApp, VaultTarget

MASK = "***"
MFA_KEY_VAULT = "Azure Key Vault"
MFA_MANUAL = "Manually"
FORMATS = ("table", "json", "env")


@dataclass(frozen=True)
class ModuleSettings:
    csp_domain: str
    csp_account_id: str
    app_id: str
    app_secret: str
    mfa_method: str
    refresh_token: str | None
    key_vault_client_app_id: str | None
    key_vault_client_app_secret: str | None
    key_vault_client_csp_domain: str | None
    key_vault_url: str | None

    def __repr__(self) -> str:
        return f"ModuleSettings(csp_domain={self.csp_domain!r}, mfa_method={self.mfa_method!r})"


SECRET_FIELDS = frozenset({"app_secret", "refresh_token", "key_vault_client_app_secret"})
LABELS = {
    "csp_domain": "CSP Domain",
    "csp_account_id": "CSP MS ID / Account ID",
    "app_id": "App ID",
    "app_secret": "App Secret",
    "mfa_method": "MFA Method",
    "refresh_token": "Refresh Token",
    "key_vault_client_app_id": "Key Vault Client App ID",
    "key_vault_client_app_secret": "Key Vault Client App Secret",
    "key_vault_client_csp_domain": "Key Vault Client CSP Domain",
    "key_vault_url": "Key Vault URL",
}


def as_dict(settings: ModuleSettings, *, show_secrets: bool) -> dict[str, str | None]:
    """The JSON shape: every key always present, except ``refresh_token``, which only the manual
    method has (with Key Vault the platform reads the token from the vault)."""
    out: dict[str, str | None] = {}
    for f in fields(settings):
        value = getattr(settings, f.name)
        if f.name == "refresh_token" and settings.mfa_method != MFA_MANUAL:
            continue
        if f.name in SECRET_FIELDS and value and not show_secrets:
            value = MASK
        out[f.name] = value
    return out


def render(settings: ModuleSettings, fmt: str, *, show_secrets: bool) -> str:
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}", fix=f"use one of {', '.join(FORMATS)}")
    data = as_dict(settings, show_secrets=show_secrets)
    if fmt == "json":
        return json.dumps(data, indent=2)
    if fmt == "env":
        return "\n".join(f"{k.upper()}={shlex.quote(v or '')}" for k, v in data.items())
    width = max(len(LABELS[k]) for k in data)
    return "\n".join(f"{LABELS[k]:<{width}}  {v if v is not None else '-'}"
                     for k, v in data.items())


def build(*, csp_domain: str, csp_account_id: str, app_id: str, app_secret: str,
          refresh_token: str | None = None, kv_client: KeyVaultReader | None = None,
          secret_id: str | None = None) -> ModuleSettings:
    """Manual (``refresh_token`` given, guide option 4.1) or Azure Key Vault (``secret_id``)."""
    from foundation.wellknown import PLATFORM_KEY_VAULT_API_VERSION
    from scripts.adapters.keyvault import platform_key_vault_url

    manual = refresh_token is not None
    return ModuleSettings(
        csp_domain=csp_domain,
        csp_account_id=csp_account_id,
        app_id=app_id,
        app_secret=app_secret,
        mfa_method=MFA_MANUAL if manual else MFA_KEY_VAULT,
        refresh_token=refresh_token,
        key_vault_client_app_id=None if manual or kv_client is None else kv_client.app_id,
        key_vault_client_app_secret=None if manual or kv_client is None else kv_client.app_secret,
        key_vault_client_csp_domain=None if manual or kv_client is None else kv_client.csp_domain,
        key_vault_url=None if manual or secret_id is None
        else platform_key_vault_url(secret_id, PLATFORM_KEY_VAULT_API_VERSION),
    )


def current(app: PartnerApp, target: VaultTarget, reader: KeyVaultReader,
            endpoints: Endpoints) -> ModuleSettings:
    """The settings for the secret's current version, read with the writer's credential (as
    consent stored it). An expired version is refused: its identifier must not reach the
    platform."""
    from scripts.adapters import keyvault as vault

    stored = vault.read_token(vault.secret_client(target.vault_url,
                                                  vault.writer_credential(endpoints)),
                              target.secret_name)
    vault.require_unexpired(stored, target.secret_name, target.vault_url)
    return build(csp_domain=app.csp_domain,
                 csp_account_id=stored.tags.get("tenantId", app.csp_domain), app_id=app.app_id,
                 app_secret=app.app_secret, kv_client=reader, secret_id=stored.secret_id)
