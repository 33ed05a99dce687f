"""The inputs every task shares, resolved in one place: flag, then environment, then stack output.

This is the only module of ``scripts/`` and ``tasks.py`` that reads the environment (through
``scripts.local.children``, which takes our secrets out of ``os.environ`` so no child process
inherits them, and says why). Everything below it takes the values, or an ``environ``
mapping, as parameters; tests pass a dict. Each bad value gets one line naming the flag or
variable, what is wrong and the rule.
Secrets are read from the environment or a hidden prompt only, never from a command-line flag
(process arguments are visible to every user of the machine).

Nothing heavy is imported at module level: ``tasks.py`` imports this module to know whether
``SECURE_APP_DEBUG`` is set, and ``invoke --list`` must stay fast.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

from foundation import naming as validators
from foundation.clouds import CLOUD_ENV, Endpoints, resolve_endpoints, validate_vault_url
from foundation.errors import ConfigError
from scripts.types import KeyVaultReader, PartnerApp, StorageOptions, VaultTarget

if TYPE_CHECKING:
    from scripts.local.stack_outputs import StackOutputs

DEBUG_ENV: Final = "SECURE_APP_DEBUG"
STACK_ENV: Final = "PULUMI_STACK"
HOME_ENV: Final = "SECURE_APP_HOME"
RBAC_WAIT_LIMITS: Final = (0.0, 3600.0)


def environment() -> Mapping[str, str]:
    """This process's environment: the one read of ``os.environ`` every other input goes through.

    Our secrets (``CPV_APP_SECRET``, ``KV_CLIENT_APP_SECRET``) are moved out of ``os.environ`` on
    the way and stay readable here only, so the ``az``/``azd``/``pwsh`` that azure-identity may
    start with ``os.environ`` never inherit them (``scripts.local.children``)."""
    from scripts.local.children import process_environment

    return process_environment()


def _env(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return environment() if environ is None else environ


def debug_requested(environ: Mapping[str, str] | None = None) -> bool:
    """``SECURE_APP_DEBUG``: show the SDKs' log records and unexpected errors' tracebacks."""
    return bool(_env(environ).get(DEBUG_ENV))


# -- single values: the rules are the stack config's (foundation.naming), one definition for
# -- flags and config

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


def check_port(port: int) -> int:
    if not 1024 <= port <= 65535:
        raise ConfigError(f"--redirect-port {port} is out of range",
                          fix="use a port from 1024 to 65535 registered on the CPV app")
    return port


def check_format(fmt: str, allowed: tuple[str, ...] = ("table", "json")) -> str:
    if fmt not in allowed:
        raise ConfigError(f"--format {fmt!r} is not known", fix=f"use one of {', '.join(allowed)}")
    return fmt


def check_store(store: str) -> str:
    if store not in ("keyvault", "manual"):
        raise ConfigError(f"--store {store!r} is not known", fix="use keyvault or manual")
    return store


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


# -- this machine: timeouts, waits, the fallback folder, the stack --------------------------------

def rbac_wait_seconds(environ: Mapping[str, str] | None = None) -> float:
    """``SECURE_APP_RBAC_WAIT`` (seconds, 0 = never wait), else 600."""
    from foundation.network.timeouts import seconds_setting
    from scripts.adapters.keyvault import RBAC_WAIT_DEFAULT, RBAC_WAIT_ENV

    value = seconds_setting(
        _env(environ), RBAC_WAIT_ENV, RBAC_WAIT_LIMITS,
        fix=f"set {RBAC_WAIT_ENV} to e.g. 120 (0: do not wait for a new role assignment), or "
        "unset it for the default (600 s)")
    return RBAC_WAIT_DEFAULT if value is None else value


def pending_home(environ: Mapping[str, str] | None = None) -> Path:
    """Where fallback files go: ``$SECURE_APP_HOME``, else ``~/.secure-app``."""
    return Path(_env(environ).get(HOME_ENV) or Path.home() / ".secure-app")


def storage_options(environ: Mapping[str, str] | None = None) -> StorageOptions:
    environ = _env(environ)
    return StorageOptions(pending_home=pending_home(environ),
                          rbac_wait=rbac_wait_seconds(environ))


def endpoints(cloud: str | None, environ: Mapping[str, str] | None = None) -> Endpoints:
    """The cloud's endpoints (``--cloud``, else ``CSP_CLOUD``, else public).

    Bad ``SECURE_APP_HTTP_TIMEOUT`` / ``SECURE_APP_RBAC_WAIT`` are refused here, before any work
    starts (for consent: before the sign-in, so a typo never costs a human's MFA sign-in)."""
    from foundation.network.timeouts import http_timeouts

    environ = _env(environ)
    http_timeouts(environ)
    rbac_wait_seconds(environ)
    return resolve_endpoints(cloud, environ)


def stack_outputs(stack: str | None, cwd: Path,
                  environ: Mapping[str, str] | None = None) -> StackOutputs:
    """``--stack``, else ``PULUMI_STACK``, else the Pulumi project's current stack."""
    from scripts.local.stack_outputs import StackOutputs

    return StackOutputs(stack or _env(environ).get(STACK_ENV), cwd=str(cwd))


# -- what the tasks resolve ----------------------------------------------------------------------

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
                 stack: StackOutputs, endpoints: Endpoints) -> VaultTarget:
    url = first(vault_url, environ.get("KEY_VAULT_URL")) or stack.require(
        "vaultUri", flag="--vault-url", env="KEY_VAULT_URL")
    name = first(secret_name, environ.get("KEY_VAULT_SECRET_NAME")) or stack.require(
        "secretName", flag="--secret-name", env="KEY_VAULT_SECRET_NAME")
    return VaultTarget(vault_url=validate_vault_url(url, endpoints),
                       secret_name=check_secret_name(name, "secret name"))


def key_vault_reader(environ: Mapping[str, str], stack: StackOutputs) -> KeyVaultReader:
    app_id = first(environ.get("KV_CLIENT_APP_ID")) or stack.require(
        "keyVaultClientAppId", flag="KV_CLIENT_APP_ID", env="KV_CLIENT_APP_ID")
    secret = first(environ.get("KV_CLIENT_APP_SECRET")) or stack.require(
        "keyVaultClientAppSecret", flag="KV_CLIENT_APP_SECRET", env="KV_CLIENT_APP_SECRET")
    domain = first(environ.get("KV_CLIENT_CSP_DOMAIN")) or stack.require(
        "keyVaultClientCspDomain", flag="KV_CLIENT_CSP_DOMAIN", env="KV_CLIENT_CSP_DOMAIN")
    return KeyVaultReader(app_id=check_guid(app_id, "KV_CLIENT_APP_ID"), app_secret=secret,
                          csp_domain=check_tenant(domain, "KV_CLIENT_CSP_DOMAIN"))


@dataclass(frozen=True)
class PartnerInputs:
    """What rotate, settings and verify share (and consent, with ``--store keyvault``)."""

    endpoints: Endpoints
    app: PartnerApp
    target: VaultTarget
    storage: StorageOptions
    outputs: StackOutputs = field(repr=False, compare=False)
    environ: Mapping[str, str] = field(repr=False, compare=False)

    def key_vault_reader(self) -> KeyVaultReader:
        """Asked for only by the tasks that need it (consent to Key Vault, settings, verify):
        rotate runs without KV_CLIENT_* and without those stack outputs."""
        return key_vault_reader(self.environ, self.outputs)


def partner_inputs(csp_domain: str | None, app_id: str | None, vault_url: str | None,
                   secret_name: str | None, cloud: str | None, stack: str | None, *, cwd: Path,
                   environ: Mapping[str, str] | None = None) -> PartnerInputs:
    """Flags, then the environment, then the stack's outputs (fetched only when a value is
    missing). The cloud: --cloud, else CSP_CLOUD, else the stack's ``cloud`` output, else
    public."""
    environ = _env(environ)
    outputs = stack_outputs(stack, cwd, environ)
    where = endpoints(cloud or environ.get(CLOUD_ENV) or outputs.get("cloud"), environ)
    app = partner_app(csp_domain, app_id, environ)
    target = vault_target(vault_url, secret_name, environ, outputs, where)
    return PartnerInputs(endpoints=where, app=app, target=target,
                         storage=storage_options(environ), outputs=outputs, environ=environ)


@dataclass(frozen=True)
class ConsentInputs:
    """``--store manual`` has no vault: ``target`` and ``reader`` are None, and the stack's
    outputs are never asked for."""

    endpoints: Endpoints
    app: PartnerApp
    target: VaultTarget | None
    #: The Key Vault client app, for the module settings consent prints.
    reader: KeyVaultReader | None
    storage: StorageOptions
    #: The loopback redirect port.
    port: int


def consent_inputs(store: str, csp_domain: str | None, app_id: str | None,
                   vault_url: str | None, secret_name: str | None, cloud: str | None,
                   stack: str | None, redirect_port: int, *, cwd: Path,
                   environ: Mapping[str, str] | None = None) -> ConsentInputs:
    environ = _env(environ)
    if check_store(store) == "keyvault":
        given = partner_inputs(csp_domain, app_id, vault_url, secret_name, cloud, stack,
                               cwd=cwd, environ=environ)
        reader = given.key_vault_reader()
        return ConsentInputs(endpoints=given.endpoints, app=given.app, target=given.target,
                             reader=reader, storage=given.storage,
                             port=check_port(int(redirect_port)))
    where = endpoints(cloud, environ)
    return ConsentInputs(endpoints=where, app=partner_app(csp_domain, app_id, environ),
                         target=None, reader=None, storage=storage_options(environ),
                         port=check_port(int(redirect_port)))


@dataclass(frozen=True)
class KeptTokenInputs:
    """``csp-secure-app store-token``: the fallback file, and where its token goes."""

    path: Path
    endpoints: Endpoints
    #: The flags', else the vault and secret the file recorded: checked either way.
    target: VaultTarget
    storage: StorageOptions


def kept_token_inputs(from_file: str, vault_url: str | None, secret_name: str | None,
                      cloud: str | None,
                      environ: Mapping[str, str] | None = None) -> KeptTokenInputs:
    """``--vault-url`` / ``--secret-name`` win over what the fallback file recorded; what the file
    recorded is checked exactly as those flags are (a file is input too: one that names
    ``https://user:pw@evil.example:8443/x/`` or a secret ``../../keys/x`` is refused, exit 2)."""
    from scripts.local import pending

    environ = _env(environ)
    path = Path(from_file)
    where = endpoints(cloud, environ)
    kept = pending.load(path)
    url, name = first(vault_url, kept.vault_url), first(secret_name, kept.secret_name)
    if not url or not name:
        raise ConfigError(f"{path} names no vault (it was kept by a consent with --store manual)",
                          fix="pass --vault-url and --secret-name")
    try:
        checked_url = validate_vault_url(url, where)
    except ConfigError as exc:
        if vault_url:
            raise
        raise ConfigError(f"{exc.message}, as recorded in {path}", fix=exc.fix) from None
    target = VaultTarget(
        vault_url=checked_url,
        secret_name=check_secret_name(name, "--secret-name" if secret_name
                                      else f"the secret name recorded in {path}:"))
    return KeptTokenInputs(path=path, endpoints=where, target=target,
                           storage=storage_options(environ))
