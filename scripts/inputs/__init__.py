"""The inputs every task shares, resolved in one place: flag, then environment, then stack output.

This is the only module of ``scripts/`` and ``tasks.py`` that reads the environment (through
``scripts.local.children``, which takes our secrets out of ``os.environ`` so no child process
inherits them, and says why). Everything below it takes the values, or an ``environ``
mapping, as parameters; tests pass a dict. Each bad or missing value gets one line naming the
real flag and variable, what is wrong and the rule, and a task reports all of them in one run
(``scripts.inputs.gather``, the way ``plan`` reports a stack's config), with "did you mean" for
a variable set under a near-miss name and, once, why the stack outputs were not there.
Secrets are read from the environment or a hidden prompt only, never from a command-line flag
(process arguments are visible to every user of the machine); the prompt comes last, once every
other input is right, so neither a typed secret nor (for consent) an MFA sign-in is wasted.

Nothing heavy is imported at module level: ``tasks.py`` imports this module to know whether
``SECURE_APP_DEBUG`` is set, and ``invoke --list`` must stay fast.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar

from foundation import naming as validators
from foundation.clouds import (
    CLOUD_ENV,
    Endpoints,
    resolve_endpoints,
    validate_vault_url,
)
from foundation.errors import ConfigError
from scripts.inputs.gather import (
    CPV_APP,
    CPV_SECRET,
    CSP_TENANT,
    DEBUG_ENV,
    HOME_ENV,
    KV_APP,
    KV_DOMAIN,
    KV_SECRET,
    SECRET_NAME,
    STACK_ENV,
    VAULT_URL,
    Gather,
    _sure,
)
from scripts.types import KeyVaultReader, PartnerApp, StorageOptions, VaultTarget

if TYPE_CHECKING:
    from scripts.local.stack_outputs import StackOutputs

RBAC_WAIT_LIMITS: Final = (0.0, 3600.0)
T = TypeVar("T")


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
    """The cloud's endpoints (``--cloud``, else ``CSP_CLOUD``, else public). Bad
    ``SECURE_APP_HTTP_TIMEOUT`` / ``SECURE_APP_RBAC_WAIT`` are refused here too, all together,
    before any work starts."""
    run = Gather(_env(environ))
    where, _ = _machine(run, cloud)
    run.done()
    return _sure(where)


def stack_outputs(stack: str | None, cwd: Path,
                  environ: Mapping[str, str] | None = None) -> StackOutputs:
    """``--stack``, else ``PULUMI_STACK``, else the Pulumi project's current stack."""
    from scripts.local.stack_outputs import StackOutputs

    return StackOutputs(stack or _env(environ).get(STACK_ENV), cwd=str(cwd))


# -- what the tasks resolve ----------------------------------------------------------------------

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


def _machine(run: Gather, cloud: str | None) -> tuple[Endpoints | None, StorageOptions | None]:
    """The cloud's endpoints and this machine's settings (timeouts, RBAC wait, fallback home)."""
    from foundation.network.timeouts import http_timeouts

    run.check(lambda: http_timeouts(run.environ))
    storage = run.check(lambda: storage_options(run.environ))
    return run.check(lambda: resolve_endpoints(cloud, run.environ)), storage


def _reader(run: Gather) -> KeyVaultReader | None:
    kv_app = run.checked(run.value(KV_APP), check_guid)
    kv_secret = run.value(KV_SECRET)
    kv_domain = run.checked(run.value(KV_DOMAIN), check_tenant)
    if kv_app and kv_secret and kv_domain:
        return KeyVaultReader(app_id=kv_app, app_secret=kv_secret[0], csp_domain=kv_domain)
    return None


def _resolve(run: Gather, csp_domain: str | None, app_id: str | None, cloud: str | None,
             vault: tuple[str | None, str | None] | None, *, reader: bool,
             port: int | None = None,
             prompt: Callable[[str], str] | None = None) -> ConsentInputs:
    """Every input of a task, each problem noted and none stopping the others; last the CPV app
    secret (a prompt only when nothing else is missing or wrong). ``vault``: the vault flags
    (None: no vault, ``--store manual``); ``reader``: the Key Vault client app too; ``port``
    (consent only): the redirect port, and the fallback folder is made safe before the prompt,
    as the sign-in would make it."""
    outputs = run.outputs
    if not cloud and not run.environ.get(CLOUD_ENV) and outputs is not None:
        cloud = outputs.get("cloud")  # else CSP_CLOUD, named as such in its own error
    where, storage = _machine(run, cloud)
    tenant = run.checked(run.value(CSP_TENANT, csp_domain), check_tenant)
    app = run.checked(run.value(CPV_APP, app_id), check_guid)
    secret, slot = run.value(CPV_SECRET, note=False), len(run.errors)
    target = None
    if vault is not None:
        url = run.value(VAULT_URL, vault[0])
        name = run.checked(run.value(SECRET_NAME, vault[1]), check_secret_name)
        checked_url = (run.check(lambda: validate_vault_url(url[0], where))
                       if url is not None and where is not None else None)
        target = VaultTarget(checked_url, name) if checked_url and name else None
    kv = _reader(run) if reader else None
    if port is not None:
        from scripts.local import pending

        run.check(lambda: check_port(port))
        home = storage.pending_home if storage else None
        run.check(lambda: pending.prepare(home) if home else None)
    app_secret = run.secret_last(CPV_SECRET, secret, slot, prompt)
    run.done()
    return ConsentInputs(
        endpoints=_sure(where), storage=_sure(storage), port=port or 0,
        app=PartnerApp(csp_domain=_sure(tenant), app_id=_sure(app), app_secret=_sure(app_secret)),
        target=_sure(target) if vault is not None else None, reader=_sure(kv) if reader else None)


@dataclass(frozen=True)
class PartnerInputs:
    """What rotate, settings and verify share (and consent, with ``--store keyvault``)."""

    endpoints: Endpoints
    app: PartnerApp
    target: VaultTarget
    storage: StorageOptions
    outputs: StackOutputs = field(repr=False, compare=False)
    environ: Mapping[str, str] = field(repr=False, compare=False)
    #: Resolved with every other input when :func:`partner_inputs` got ``reader=True``.
    reader: KeyVaultReader | None = field(default=None, repr=False, compare=False)

    def key_vault_reader(self) -> KeyVaultReader:
        """Only the tasks that need it ask (consent to Key Vault, settings, verify): rotate runs
        without KV_CLIENT_* and without those stack outputs."""
        if self.reader is None:
            run = Gather(self.environ, self.outputs)
            reader = _reader(run)
            run.done()
            return _sure(reader)
        return self.reader


def partner_inputs(csp_domain: str | None, app_id: str | None, vault_url: str | None,
                   secret_name: str | None, cloud: str | None, stack: str | None, *, cwd: Path,
                   environ: Mapping[str, str] | None = None, reader: bool = False,
                   prompt: Callable[[str], str] | None = None) -> PartnerInputs:
    """Flags, then the environment, then the stack's outputs (fetched only when a value is
    missing), every gap of the run reported together. The cloud: --cloud, else CSP_CLOUD, else
    the stack's ``cloud`` output, else public. ``reader``: the Key Vault client app too."""
    environ = _env(environ)
    outputs = stack_outputs(stack, cwd, environ)
    got = _resolve(Gather(environ, outputs), csp_domain, app_id, cloud, (vault_url, secret_name),
                   reader=reader, prompt=prompt)
    return PartnerInputs(endpoints=got.endpoints, app=got.app, target=_sure(got.target),
                         storage=got.storage, outputs=outputs, environ=environ,
                         reader=got.reader)


def consent_inputs(store: str, csp_domain: str | None, app_id: str | None,
                   vault_url: str | None, secret_name: str | None, cloud: str | None,
                   stack: str | None, redirect_port: int, *, cwd: Path,
                   environ: Mapping[str, str] | None = None,
                   prompt: Callable[[str], str] | None = None) -> ConsentInputs:
    """Everything consent needs, checked before anyone signs in and before the CPV app secret's
    prompt: a refresh token got through MFA, or a typed secret, is never wasted on a gap."""
    environ = _env(environ)
    keyvault = check_store(store) == "keyvault"
    return _resolve(Gather(environ, stack_outputs(stack, cwd, environ) if keyvault else None),
                    csp_domain, app_id, cloud, (vault_url, secret_name) if keyvault else None,
                    reader=keyvault, port=int(redirect_port), prompt=prompt)
