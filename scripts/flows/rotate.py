"""Token rotation: redeem the stored refresh token and store the new one as a new version.

A Partner Center refresh token rolls: each redemption returns a new one valid 90 days, and the
old one is not revoked. So rotation never leaves the secret without a working token: the new
version is written only after the redeemed token passed every check, and two rotations racing
each other both redeem a valid token and both write a valid one, whichever lands last. The new
token is stored as every token is (``scripts.storage``: kept in the fallback file until the vault
confirmed it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from foundation.clouds import Endpoints
from foundation.errors import ConfigError
from foundation.wellknown import PLATFORM_KEY_VAULT_API_VERSION
from scripts import inputs, storage
from scripts.adapters import keyvault as vault
from scripts.adapters.identity import confidential_client, redeem
from scripts.types import PartnerApp, Say, StorageOptions, VaultTarget

if TYPE_CHECKING:
    from azure.keyvault.secrets import SecretClient, SecretProperties

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Rotation:
    previous_version: str
    stored: vault.StoredToken
    disabled_versions: tuple[str, ...]

    @property
    def key_vault_url(self) -> str:
        """The new module setting "Key Vault URL": the platform must be given the new version."""
        return vault.platform_key_vault_url(self.stored.secret_id, PLATFORM_KEY_VAULT_API_VERSION)

    def as_json(self) -> dict[str, object]:
        return {"previousVersion": self.previous_version, "version": self.stored.version,
                "key_vault_url": self.key_vault_url,
                "disabledVersions": list(self.disabled_versions)}

    def table(self) -> str:
        return f"Key Vault URL (new module setting)  {self.key_vault_url}"


def rotate(app: PartnerApp, target: VaultTarget, endpoints: Endpoints, *,
           keep: int | None = None, options: StorageOptions | None = None,
           say: Say = lambda _line: None) -> Rotation:
    """Redeem, check, store. Any refusal (expired, revoked, MFA again) raises before the vault
    is touched, so a failed rotation leaves the secret exactly as it was. ``options``: None for
    the environment's (``scripts.inputs``)."""
    if keep is not None and keep < 1:
        raise ConfigError(f"--keep {keep} would disable every version",
                          fix="use --keep 1 or more (or leave it out to keep all)")
    # Built first: one discovery fetch serves it and the vault's credential (confidential_client).
    partner_client = confidential_client(app, endpoints)
    client = vault.secret_client(target.vault_url, vault.writer_credential(endpoints))
    current = vault.read_token(client, target.secret_name)
    expected = current.tags.get("tenantId") or app.csp_domain
    tokens = redeem(app, endpoints, current.value, expected, client=partner_client)
    stored = storage.store(tokens, app, target, endpoints, options or inputs.storage_options(),
                           source="rotate", client=client)
    disabled = disable_older(client, target.secret_name, keep, stored) if keep else ()
    say(f"Rotated: version {current.version} -> {stored.version}.")
    return Rotation(previous_version=current.version, stored=stored, disabled_versions=disabled)


def disable_older(client: SecretClient, name: str, keep: int,
                  mine: vault.StoredToken) -> tuple[str, ...]:
    """Disable every enabled version but the newest ``keep``: the platform may still hold an
    older identifier, so this is opt-in (``--keep N``).

    Key Vault's timestamps have one-second resolution, and another rotation may be writing at
    the same moment. So the version just written counts as the newest of its second, and only
    versions created strictly before it are ever disabled: a racing rotation's version (same
    second or later) stays enabled, and the newest version of the secret is never disabled.
    """
    def created(props: SecretProperties) -> dt.datetime:
        return props.created_on or _EPOCH

    mine_created = mine.created_on or dt.datetime.now(dt.UTC)
    try:
        enabled = [p for p in client.list_properties_of_secret_versions(name) if p.enabled]
        enabled.sort(key=lambda p: (created(p), p.version == mine.version), reverse=True)
        stale = [p for p in enabled[keep:]
                 if p.version != mine.version and created(p) < mine_created]
        for props in stale:
            client.update_secret_properties(name, props.version, enabled=False)
    except Exception as exc:
        raise vault.translate(exc, client.vault_url, name, "list/set") from None
    return tuple(str(p.version) for p in stale)
