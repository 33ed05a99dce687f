"""National clouds: which sign-in, Partner Center, Key Vault and Graph endpoints a partner uses.

A partner's tenant lives in exactly one cloud (public, US Government or China/21Vianet), and a
token from one cloud's identity platform is useless in another (AADSTS90038). So every task
resolves one :class:`Endpoints` up front and passes it down, instead of hard-coding hosts.

Resolution order, most specific first:

1. explicit overrides in the environment — ``AZURE_AUTHORITY_HOST`` (the variable azure-identity
   itself reads), ``PARTNER_CENTER_ENDPOINT``, ``GRAPH_ENDPOINT``; these point the tool at a proxy
   or at the local HTTPS cloud double;
2. the preset of the cloud named by the ``cloud`` argument, else ``CSP_CLOUD``, else ``public``.

``CSP_CLOUD`` (not ``AZURE_CLOUD``) because other tools already use ``AZURE_CLOUD`` with their own
value sets; a namespaced variable never collides. Azure CLI's names (``AzureCloud``,
``AzureUSGovernment``, ``AzureChinaCloud``) are accepted as aliases. Empty variables count as
unset, because CI systems often define a variable with an empty value.

Sources: Partner-Center-PowerShell ``EnvironmentConstants.cs`` / ``PartnerEnvironment.cs`` (China
Partner Center endpoint ``https://partner.partnercenterapi.microsoftonline.cn``, Graph
``https://microsoftgraph.chinacloudapi.cn``, US Government Graph ``https://graph.microsoft.us`` and
the *global* Partner Center endpoint for US Government); its ``ConnectPartnerCenter.cs`` requests
``$"{environment.PartnerCenterEndpoint}/user_impersonation"``, so the delegated scope in China is
``https://partner.partnercenterapi.microsoftonline.cn/user_impersonation``. Partner Center's
"REST URLs" page lists the same two base URLs. Key Vault suffixes: Azure's national cloud docs.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Final
from urllib.parse import SplitResult, urlsplit

from foundation import naming as validators
from foundation.errors import ConfigError, InvalidConfig
from foundation.wellknown import PARTNER_CENTER_RESOURCE

CLOUD_ENV: Final = "CSP_CLOUD"
AUTHORITY_ENV: Final = "AZURE_AUTHORITY_HOST"
PARTNER_CENTER_ENV: Final = "PARTNER_CENTER_ENDPOINT"
GRAPH_ENV: Final = "GRAPH_ENDPOINT"

#: Authority hosts Microsoft's instance discovery knows (mirrors msal.authority's list). For any
#: other host MSAL must be built with ``instance_discovery=False`` and azure-identity with
#: ``disable_instance_discovery=True``, or they try to validate it against Microsoft first.
MICROSOFT_AUTHORITY_HOSTS: Final = frozenset(
    {
        "login.microsoftonline.com",
        "login.microsoft.com",
        "login.windows.net",
        "sts.windows.net",
        "login.chinacloudapi.cn",  # deprecated alias (msal.authority.DEPRECATED_AZURE_CHINA)
        "login.partner.microsoftonline.cn",
        "login-us.microsoftonline.com",
        "login.microsoftonline.us",
        "login.usgovcloudapi.net",
    }
)
_LOOPBACK_NAMES: Final = frozenset({"localhost"})
# Key Vault names: 3-24 characters, letters, digits and hyphens, start with a letter, end with a
# letter or digit, no "--" (Azure's naming rules for Microsoft.KeyVault/vaults).


@dataclass(frozen=True)
class Endpoints:
    """Every endpoint a task needs for one cloud. URLs carry no trailing slash."""

    cloud: str  # "public" | "usgov" | "china" | "custom"
    authority_host: str  # "https://login.microsoftonline.com"
    partner_center: str  # "https://api.partnercenter.microsoft.com"
    partner_center_scope: str  # "https://api.partnercenter.microsoft.com/user_impersonation"
    vault_suffix: str  # "vault.azure.net"
    vault_resource: str  # "https://vault.azure.net"
    graph: str  # "https://graph.microsoft.com"
    graph_scope: str  # "https://graph.microsoft.com/.default"
    instance_discovery: bool  # False when authority_host is not a known Microsoft host


def _preset(
    cloud: str, authority: str, partner_center: str, vault_suffix: str, graph: str
) -> Endpoints:
    return Endpoints(
        cloud=cloud,
        authority_host=authority,
        partner_center=partner_center,
        partner_center_scope=f"{partner_center}/user_impersonation",
        vault_suffix=vault_suffix,
        vault_resource=f"https://{vault_suffix}",
        graph=graph,
        graph_scope=f"{graph}/.default",
        instance_discovery=True,
    )


PRESETS: Final[Mapping[str, Endpoints]] = {
    "public": _preset(
        "public",
        "https://login.microsoftonline.com",
        PARTNER_CENTER_RESOURCE,
        "vault.azure.net",
        "https://graph.microsoft.com",
    ),
    # US Government partners use the global Partner Center API (PowerShell module: AzureUSGovernment
    # maps to the same PartnerCenterEndpoint), but their own identity, vault and Graph hosts.
    "usgov": _preset(
        "usgov",
        "https://login.microsoftonline.us",
        PARTNER_CENTER_RESOURCE,
        "vault.usgovcloudapi.net",
        "https://graph.microsoft.us",
    ),
    # China's sign-in host as Microsoft Learn's "National clouds" page lists it (Microsoft Entra
    # authentication endpoints: https://login.partner.microsoftonline.cn). MSAL Python calls the
    # older login.chinacloudapi.cn DEPRECATED_AZURE_CHINA (msal/authority.py); it stays in
    # MICROSOFT_AUTHORITY_HOSTS, so an AZURE_AUTHORITY_HOST naming it still works.
    "china": _preset(
        "china",
        "https://login.partner.microsoftonline.cn",
        "https://partner.partnercenterapi.microsoftonline.cn",
        "vault.azure.cn",
        "https://microsoftgraph.chinacloudapi.cn",
    ),
}
#: Every vault suffix a Key Vault URL may end with, whatever cloud the tool runs in.
KNOWN_VAULT_SUFFIXES: Final = frozenset(p.vault_suffix for p in PRESETS.values())

_ALIASES: Final[Mapping[str, str]] = {
    "public": "public",
    "azurecloud": "public",
    "azurepubliccloud": "public",
    "global": "public",
    "usgov": "usgov",
    "azureusgovernment": "usgov",
    "azureusgovernmentcloud": "usgov",
    "china": "china",
    "azurechinacloud": "china",
    "custom": "custom",
}
VALID_CLOUDS: Final = ("public", "usgov", "china", "custom")


def shown(value: str) -> str:
    """``value`` as it may appear in an error line: any ``user:password@`` part masked."""
    return repr(re.sub(r"(//)[^/@]*@", r"\1***@", value))


def _env(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


def is_loopback_host(url: str) -> bool:
    """True when ``url`` (or a bare host) names this machine: localhost, 127.0.0.0/8 or ::1."""
    parts = urlsplit(url if "//" in url else f"//{url}")
    host = (parts.hostname or "").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _https_url(name: str, value: str, *, host_only: bool) -> str:
    """Validate one override: an https URL with a host, no query/fragment/credentials.

    ``host_only`` (the authority) also refuses a path, since MSAL appends ``/{tenant}`` itself;
    as azure-identity does, a bare host ("login.microsoftonline.us") is taken as https.
    """
    expected = "https://host[:port]" if host_only else "https://host[:port][/path]"
    raw = value if "://" in value or not host_only else f"https://{value}"
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises ValueError on a non-numeric or out-of-range port
    except ValueError:
        raise ConfigError(
            f"{name}={shown(value)} is not a valid URL", fix=f"use the form {expected}"
        ) from None
    problem = _url_problem(parts, raw, host_only=host_only)
    if problem:
        raise ConfigError(f"{name}={shown(value)} {problem}", fix=f"use the form {expected}")
    path = parts.path.rstrip("/")
    return f"https://{parts.netloc.lower()}{path}"


def _url_problem(parts: SplitResult, raw: str, *, host_only: bool) -> str | None:
    if parts.scheme.lower() != "https":
        return "must use https (tokens and secrets travel over it)"
    if not parts.hostname:
        return "has no host"
    if parts.username is not None or parts.password is not None:
        return "must not carry credentials"
    if "?" in raw or "#" in raw:
        # Even an empty one: the value was pasted from a secret identifier or a browser bar.
        return "must not have a query or fragment"
    if host_only and parts.path.strip("/"):
        return "must be a host only, without a path (the tenant is added per request)"
    return None


def _cloud_name(cloud: str | None, environ: Mapping[str, str]) -> str:
    source, value = ("cloud", cloud) if cloud else (CLOUD_ENV, _env(environ, CLOUD_ENV))
    if value is None:
        return "public"
    name = _ALIASES.get(value.strip().lower().replace("-", "").replace("_", ""))
    if name is None:
        raise ConfigError(
            f"{source}={value!r} is not a known cloud",
            fix=f"use one of: {', '.join(VALID_CLOUDS)}",
        )
    return name


def resolve_endpoints(
    cloud: str | None = None, environ: Mapping[str, str] | None = None
) -> Endpoints:
    """The endpoints for ``cloud`` (else ``CSP_CLOUD``, else public), environment overrides winning.

    ``environ``: the mapping ``scripts.inputs`` resolves every input from (tests pass a dict);
    None for this process's, for callers that resolve nothing else (the Pulumi program). Raises
    :class:`ConfigError` (one bad value) or :class:`InvalidConfig` (several) naming each
    variable.
    """
    if environ is None:
        environ = os.environ
    errors: list[ConfigError] = []
    try:
        name = _cloud_name(cloud, environ)
    except ConfigError as exc:
        errors.append(exc)
        name = "public"
    base = PRESETS["public" if name == "custom" else name]

    overrides: dict[str, str] = {}
    for var, field, host_only in (
        (AUTHORITY_ENV, "authority_host", True),
        (PARTNER_CENTER_ENV, "partner_center", False),
        (GRAPH_ENV, "graph", False),
    ):
        value = _env(environ, var)
        if value is None:
            continue
        try:
            overrides[field] = _https_url(var, value, host_only=host_only)
        except ConfigError as exc:
            errors.append(exc)
    if name == "custom" and _env(environ, AUTHORITY_ENV) is None:
        errors.append(
            ConfigError(
                f"{CLOUD_ENV}=custom needs {AUTHORITY_ENV}",
                fix=f"set {AUTHORITY_ENV} to the identity endpoint (https://host[:port]), or "
                "pick public, usgov or china",
            )
        )
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise InvalidConfig([e.one_line() for e in errors])

    authority = overrides.get("authority_host", base.authority_host)
    partner_center = overrides.get("partner_center", base.partner_center)
    graph = overrides.get("graph", base.graph)
    # Scopes name the resource (the token's audience), not the address it is reached at: an
    # override (a proxy, a national-cloud mirror, the local double) keeps the cloud's scopes.
    endpoints = replace(
        base, authority_host=authority, partner_center=partner_center, graph=graph
    )
    host = (urlsplit(endpoints.authority_host).hostname or "").lower()
    changed = any(getattr(base, field) != value for field, value in overrides.items())
    return replace(
        endpoints,
        cloud="custom" if name == "custom" or changed else name,
        instance_discovery=host in MICROSOFT_AUTHORITY_HOSTS,
    )


def vault_url_for(name: str, endpoints: Endpoints) -> str:
    """The vault URL for a vault ``name`` in ``endpoints``' cloud: ``https://{name}.{suffix}/``."""
    lowered = name.strip().lower()
    if validators.check_vault_name(lowered):
        raise ConfigError(
            f"Key Vault name {name!r} is not valid",
            fix="use 3-24 letters, digits and single hyphens, starting with a letter and ending "
            "with a letter or digit",
        )
    return f"https://{lowered}.{endpoints.vault_suffix}/"


def validate_vault_url(url: str, endpoints: Endpoints) -> str:
    """Check a Key Vault URL and normalise it to ``https://{name}.{suffix}/``.

    Accepts a vault in any known cloud (or ``endpoints``' own suffix), or any https loopback URL
    (the local cloud double). Rejects everything else with one line: what is wrong and the
    expected form. A *secret* identifier is refused too: platforms want the vault URL here.
    """
    suffixes = sorted(KNOWN_VAULT_SUFFIXES | {endpoints.vault_suffix})
    expected = f"https://<vault-name>.{endpoints.vault_suffix}/"

    def bad(problem: str) -> ConfigError:
        return ConfigError(f"Key Vault URL {shown(url)} {problem}", fix=f"use the form {expected}")

    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise bad("is not a valid URL") from None
    if parts.scheme.lower() != "https":
        raise bad("must use https")
    host = (parts.hostname or "").lower()
    if not host:
        raise bad("has no host")
    if parts.username is not None or parts.password is not None:
        raise bad("must not carry credentials")
    if "?" in text or "#" in text:
        raise bad("must not have a query or fragment")
    if is_loopback_host(text):
        path = parts.path.rstrip("/")
        return f"https://{parts.netloc.lower()}{path}/"
    if parts.path.strip("/"):
        if parts.path.lstrip("/").lower().startswith("secrets/"):
            raise bad("is a secret identifier, not a vault URL")
        raise bad("must not have a path")
    return vault_origin(host, port, suffixes, bad)


def vault_origin(host: str, port: int | None, suffixes: list[str],
                 bad: Callable[[str], ConfigError]) -> str:
    """``https://<vault>.<suffix>/`` for a Key Vault host (on 443, under one of ``suffixes``,
    a valid vault name), else ``bad``'s error: the one rule for a vault URL and for the vault
    part of a secret identifier."""
    if port is not None and port != 443:
        raise bad("must not name a port")
    suffix = next((s for s in suffixes if host.endswith(f".{s}")), None)
    if suffix is None:
        raise bad(f"is not a Key Vault host (expected a name under one of: {', '.join(suffixes)})")
    name = host.removesuffix(f".{suffix}")
    if validators.check_vault_name(name):
        raise bad(f"has an invalid vault name {name!r} (3-24 letters, digits, single hyphens)")
    return f"https://{name}.{suffix}/"
