"""The module settings the automation platform's form asks for, in its order, and how they print.

Secrets (the CPV app secret, the Key Vault client app secret, a manual refresh token) print as
``***`` unless the user explicitly asks with ``--show-secrets``. ``csp-secure-app settings`` prints
them later without a new consent (:func:`current`): from the stack and the secret's current
version, refused while the secret still holds the placeholder ``pulumi up`` wrote.

The setting "Key Vault URL" has two forms (``--identifier``). *versioned*
(``.../secrets/NAME/VERSION?api-version=7.0``, what the partner guide asks for) pins the
platform to one version: every rotation stores a new one, which the platform reads only once it
is given the new identifier. *versionless* (``.../secrets/NAME?api-version=7.0``) makes the
platform read the newest version, so a rotation reaches it at once.
``scripts.flows.platform_url`` reads either back (``verify --platform-url``).

Output keys are the settings' snake_case names in every JSON result; ``--format env`` prefixes
each with ``MODULE_`` (:data:`ENV_PREFIX`), so that
``eval "$(csp-secure-app settings --format env)"`` never sets a variable the tool itself reads
(``KEY_VAULT_URL`` is the *vault*, ``CSP_DOMAIN`` the tenant to sign in to, ...).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from foundation import naming
from foundation.errors import ConfigError, SignInError
from foundation.wellknown import PLATFORM_KEY_VAULT_API_VERSION
from scripts.flows.placeholder import is_placeholder, no_token_yet
from scripts.types import KeyVaultReader, PartnerApp, VaultTarget

if TYPE_CHECKING:
    from foundation.clouds import Endpoints
    from scripts.adapters.keyvault import StoredToken

MASK = "***"
MFA_KEY_VAULT = "Azure Key Vault"
MFA_MANUAL = "Manually"
FORMATS = ("table", "json", "env")
#: ``--identifier``: the form of "Key Vault URL"; versioned is what the partner guide asks for.
IDENTIFIERS = ("versioned", "versionless")
#: ``--format env`` names: ``MODULE_`` + the setting's key in capitals. No variable the tool
#: reads starts with it (tests/cli/test_outputs_round_trip.py scans the sources to keep it so).
ENV_PREFIX: Final = "MODULE_"


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
    #: The versioned form; :func:`render` prints the versionless one on request.
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


def check_identifier(identifier: str) -> str:
    if identifier not in IDENTIFIERS:
        raise ConfigError(f"--identifier {identifier!r} is not known",
                          fix="use versioned (the platform reads one version, as the partner "
                          "guide asks) or versionless (it reads the newest)")
    return identifier


def env_name(key: str) -> str:
    return f"{ENV_PREFIX}{key.upper()}"


def as_dict(settings: ModuleSettings, *, show_secrets: bool,
            identifier: str = "versioned") -> dict[str, str | None]:
    """The JSON shape: every key always present, except ``refresh_token``, which only the manual
    method has (with Key Vault the platform reads the token from the vault)."""
    out: dict[str, str | None] = {}
    for f in fields(settings):
        value = getattr(settings, f.name)
        if f.name == "refresh_token" and settings.mfa_method != MFA_MANUAL:
            continue
        if f.name in SECRET_FIELDS and value and not show_secrets:
            value = MASK
        if f.name == "key_vault_url" and value and check_identifier(identifier) == "versionless":
            value = versionless(value)
        out[f.name] = value
    return out


def render(settings: ModuleSettings, fmt: str, *, show_secrets: bool,
           identifier: str = "versioned") -> str:
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}", fix=f"use one of {', '.join(FORMATS)}")
    data = as_dict(settings, show_secrets=show_secrets, identifier=identifier)
    if fmt == "json":
        return json.dumps(data, indent=2)
    if fmt == "env":
        import shlex  # only the env format quotes

        return "\n".join(f"{env_name(k)}={shlex.quote(v or '')}" for k, v in data.items())
    width = max(len(LABELS[k]) for k in data)
    return "\n".join(f"{LABELS[k]:<{width}}  {v if v is not None else '-'}"
                     for k, v in data.items())


def versionless(key_vault_url: str) -> str:
    """``.../secrets/NAME/VERSION?api-version=...`` without its version (as it is when it has
    none): the identifier with which the platform reads the newest version."""
    parts = urlsplit(key_vault_url)
    segments = parts.path.split("/")
    if len(segments) >= 3 and segments[-3].lower() == "secrets" and segments[-1]:
        parts = parts._replace(path="/".join(segments[:-1]))
    return parts.geturl()


def build(*, csp_domain: str, csp_account_id: str, app_id: str, app_secret: str,
          refresh_token: str | None = None, kv_client: KeyVaultReader | None = None,
          secret_id: str | None = None) -> ModuleSettings:
    """Manual (``refresh_token`` given, guide option 4.1) or Azure Key Vault (``secret_id``)."""
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
    consent stored it). The placeholder and an expired version are refused: no identifier of a
    version without a working token may reach the platform."""
    from scripts.adapters import keyvault as vault

    stored = vault.read_token(vault.secret_client(target.vault_url,
                                                  vault.writer_credential(endpoints)),
                              target.secret_name)
    if is_placeholder(stored.value):
        raise no_token_yet(target.secret_name, target.vault_url)
    vault.require_unexpired(stored, target.secret_name, target.vault_url)
    return build(csp_domain=app.csp_domain, csp_account_id=account_id(stored, app, endpoints),
                 app_id=app.app_id, app_secret=app.app_secret, kv_client=reader,
                 secret_id=stored.secret_id)


def account_id(stored: StoredToken, app: PartnerApp, endpoints: Endpoints) -> str:
    """"CSP MS ID / Account ID" is the partner tenant's GUID, never its domain. Consent tags every
    version with it; a version stored another way (pasted in the portal) has no tag, and then
    the tenant's discovery document, which MSAL fetches under the domain, names the GUID."""
    tagged = stored.tags.get("tenantId", "").strip().lower()
    if naming.is_guid(tagged):
        return tagged
    if naming.is_guid(app.csp_domain):
        return app.csp_domain
    from scripts.adapters.identity import confidential_client, tenant_of

    tenant = tenant_of(confidential_client(app, endpoints), app)
    if not naming.is_guid(tenant):
        raise SignInError(f"the identity platform did not name the tenant id of {app.csp_domain}",
                          fix="pass the tenant's GUID as --csp-domain (CSP_DOMAIN)",
                          error="invalid_tenant")
    return tenant.lower()
