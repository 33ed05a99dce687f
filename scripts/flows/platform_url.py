"""The module setting "Key Vault URL" as the platform holds it (``verify --platform-url``), read
back and checked piece by piece: versioned (``.../secrets/NAME/VERSION?api-version=7.0``) or
versionless (``.../secrets/NAME?api-version=7.0``; ``scripts.flows.settings`` prints both).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from foundation import naming
from foundation.clouds import KNOWN_VAULT_SUFFIXES, is_loopback_host, shown, vault_origin
from foundation.errors import ConfigError
from foundation.wellknown import PLATFORM_KEY_VAULT_API_VERSION

if TYPE_CHECKING:
    from foundation.clouds import Endpoints

_VERSION = re.compile(r"^[0-9a-fA-F]{32}$")
#: Key Vault data-plane api-versions: ``7.0`` ... ``7.6``, ``2025-07-01``, optionally ``-preview``.
_API_VERSION = re.compile(r"^(\d+\.\d+|\d{4}-\d{2}-\d{2})(-preview)?$")


@dataclass(frozen=True)
class PlatformUrl:
    """The module setting "Key Vault URL" as the platform holds it, checked piece by piece."""

    #: ``https://{host}/``, as ``foundation.clouds.validate_vault_url`` normalises a vault URL.
    vault_url: str
    secret_name: str
    #: None: versionless, the platform reads the newest version.
    version: str | None
    #: The ``?api-version=`` the platform quotes (None when the URL has none).
    api_version: str | None
    #: The URL as given (JSON echoes it: what was checked).
    given: str = field(default="", compare=False)

    @property
    def vault_host(self) -> str:
        return urlsplit(self.vault_url).netloc

    @property
    def versionless(self) -> str:
        return self.with_version(None)

    def with_version(self, version: str | None) -> str:
        """This identifier for another version (None: versionless), with its api-version."""
        tail = f"/{version}" if version else ""
        api = self.api_version or PLATFORM_KEY_VAULT_API_VERSION
        return f"{self.vault_url}secrets/{self.secret_name}{tail}?api-version={api}"

    @classmethod
    def parse(cls, url: str, source: str = "--platform-url") -> PlatformUrl:
        """Every rule a Key Vault secret identifier follows, the first one broken said in one
        line (exit 2): https, a vault host (``<vault>.`` a known cloud's suffix, or loopback for
        the local double), ``/secrets/<name>`` by Key Vault's name rule, an optional 32-hex
        version, no query but one ``api-version``. The cloud is checked by :meth:`in_cloud`."""
        expected = ("https://<vault>.vault.azure.net/secrets/<name>[/<version>]"
                    f"?api-version={PLATFORM_KEY_VAULT_API_VERSION}")
        def bad(problem: str) -> ConfigError:
            return ConfigError(f"{source} {shown(url)} {problem}",
                               fix=f"pass the platform's \"Key Vault URL\" as it holds it, of "
                               f"the form {expected}")

        text = url.strip()
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:
            raise bad("is not a valid URL") from None
        if parts.scheme.lower() != "https" or not parts.hostname:
            raise bad("is not an https URL with a host")
        if parts.username is not None or parts.password is not None:
            raise bad("must not carry credentials")
        if "#" in text:
            raise bad("must not have a fragment")
        vault_url = _vault_origin(parts.netloc.lower(), parts.hostname.lower(), port, bad)
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) not in (2, 3) or segments[0].lower() != "secrets":
            raise bad("is not a secret identifier (the path is /secrets/<name>[/<version>])")
        name = segments[1]
        problem = naming.check_secret_name(name)
        if problem:
            raise bad(f"names no valid secret: {problem}")
        version = segments[2] if len(segments) == 3 else None
        if version is not None and not _VERSION.match(version):
            raise bad(f"has version {version!r} (rule: a Key Vault version is 32 hex digits)")
        return cls(vault_url=vault_url, secret_name=name,
                   version=version.lower() if version else None,
                   api_version=_api_version(parts.query, bad), given=text)

    def in_cloud(self, endpoints: Endpoints, source: str = "--platform-url") -> PlatformUrl:
        """The vault must be in the cloud this run signs in to: a token from another cloud's
        identity platform is not accepted there, so the platform could not read it either."""
        if is_loopback_host(self.vault_url) or self.vault_host.endswith(
                f".{endpoints.vault_suffix}"):
            return self
        raise ConfigError(
            f"{source} names a vault in another cloud ({self.vault_host}) than this run's "
            f"({endpoints.cloud}: vaults under {endpoints.vault_suffix})",
            fix="pass --cloud (or CSP_CLOUD) of the vault's cloud")


def _vault_origin(netloc: str, host: str, port: int | None,
                  bad: Callable[[str], ConfigError]) -> str:
    """``https://{vault}.{suffix}/`` (or the loopback origin of the local double)."""
    if is_loopback_host(host):
        return f"https://{netloc}/"
    return vault_origin(host, port, sorted(KNOWN_VAULT_SUFFIXES), bad)


def _api_version(query: str, bad: Callable[[str], ConfigError]) -> str | None:
    if not query:
        return None
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise bad("has a malformed query") from None
    if [k for k, _ in pairs] != ["api-version"]:
        raise bad("has a query other than one api-version")
    value = pairs[0][1]
    if not _API_VERSION.match(value):
        raise bad(f"has api-version {value!r} (rule: a Key Vault data-plane version such as "
                  f"{PLATFORM_KEY_VAULT_API_VERSION} or 2025-07-01)")
    return value
