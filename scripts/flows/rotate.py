"""Token rotation: redeem the stored refresh token and store the new one as a new version.

A Partner Center refresh token rolls: each redemption returns a new one valid 90 days, and the
old one is not revoked. So rotation never leaves the secret without a working token: the new
version is written only after the redeemed token passed every check, and two rotations racing
each other both redeem a valid token and both write a valid one, whichever lands last. The new
token is stored as every token is (``scripts.storage``: kept in the fallback file until the vault
confirmed it), tagged redeemed now and with the MFA sign-in time of the version it redeemed.

``--keep N`` then disables the older versions, a few PATCHes at once (a secret rotated weekly for
years has hundreds). The rotation has succeeded by then, so a version that could not be disabled
never hides the new one: the error says the new version and its Key Vault URL first, then one
line per version left enabled, each with its own cause and fix.
"""

from __future__ import annotations

import datetime as dt
import heapq
from dataclasses import dataclass
from typing import TYPE_CHECKING

from foundation.errors import (
    ConfigError,
    Interrupted,
    OlderVersionsLeftEnabled,
    OlderVersionsRefused,
    OlderVersionsRejected,
)
from foundation.wellknown import PLATFORM_KEY_VAULT_API_VERSION
from scripts import inputs, storage
from scripts.adapters import keyvault as vault
from scripts.adapters.identity import confidential_client, redeem
from scripts.flows.placeholder import is_placeholder, no_token_yet
from scripts.types import PartnerApp, Say, StorageOptions, VaultTarget

if TYPE_CHECKING:
    from azure.keyvault.secrets import SecretClient, SecretProperties

    from foundation.clouds import Endpoints
    from scripts.adapters.keyvault_versions import Disabled

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
        """snake_case keys throughout, as every other task's JSON (issue 11)."""
        return {"previous_version": self.previous_version, "version": self.stored.version,
                "key_vault_url": self.key_vault_url,
                "disabled_versions": list(self.disabled_versions)}

    def table(self) -> str:
        return f"Key Vault URL (new module setting)  {self.key_vault_url}"


#: Which exit code wins when the causes differ: one a human must act on beats "try later".
_BY_PRIORITY: tuple[type[OlderVersionsLeftEnabled], ...] = (
    OlderVersionsRefused, OlderVersionsRejected, OlderVersionsLeftEnabled)


def rotate(app: PartnerApp, target: VaultTarget, endpoints: Endpoints, *,
           keep: int | None = None, options: StorageOptions | None = None,
           say: Say = lambda _line: None) -> Rotation:
    """Redeem, check, store. Any refusal (expired, revoked, MFA again) raises before the vault
    is touched, so a failed rotation leaves the secret exactly as it was. ``options``: None for
    the environment's (``scripts.inputs``). With ``keep``, then disable all but the newest
    ``keep`` enabled versions; if some stay enabled, :class:`OlderVersionsLeftEnabled`."""
    if keep is not None and keep < 1:
        raise ConfigError(f"--keep {keep} would disable every version",
                          fix="use --keep 1 or more (or leave it out to keep all)")
    # Built first: one discovery fetch serves it and the vault's credential (confidential_client).
    partner_client = confidential_client(app, endpoints)
    client = vault.secret_client(target.vault_url, vault.writer_credential(endpoints))
    current = vault.read_token(client, target.secret_name)
    if is_placeholder(current.value):
        # Redeeming pulumi's sentence would only earn an AADSTS error that says nothing useful.
        raise no_token_yet(target.secret_name, target.vault_url)
    expected = current.tags.get("tenantId") or app.csp_domain
    tokens = redeem(app, endpoints, current.value, expected, client=partner_client)
    # A redemption is no new sign-in: the new version keeps the MFA sign-in time of the one it
    # redeemed (a sign-in-frequency policy counts from it), and is redeemed as of now.
    stored = storage.store(tokens, app, target, endpoints, options or inputs.storage_options(),
                           source="rotate", client=client,
                           signed_in=storage.signed_in_at(current.tags))
    say(f"Rotated: version {current.version} -> {stored.version}.")
    if not keep:
        return Rotation(previous_version=current.version, stored=stored, disabled_versions=())
    try:
        done = disable_older(client, target.secret_name, keep, stored)
    except KeyboardInterrupt:
        raise Interrupted(
            f"interrupted (Ctrl-C) while disabling older versions; the rotation itself is done: "
            f"version {stored.version} is stored ({stored.secret_id})",
            fix="run rotate with --keep again to finish disabling the older versions") from None
    rotation = Rotation(previous_version=current.version, stored=stored,
                        disabled_versions=done.versions)
    if done.failures or done.listing_error:
        raise left_enabled(rotation, target.secret_name, keep, done)
    if done.versions:
        say(f"Disabled {len(done.versions)} older version(s); the newest {keep} stay enabled.")
    return rotation


def disable_older(client: SecretClient, name: str, keep: int,
                  mine: vault.StoredToken) -> Disabled:
    """Disable every enabled version but the newest ``keep``: the platform may still hold an
    older identifier, so this is opt-in (``--keep N``). Disabled versions are not touched again,
    and each stale one costs exactly one PATCH: with the list pages, the protocol's minimum."""
    from scripts.adapters.keyvault_versions import disable_listed  # only --keep disables

    return disable_listed(client, name, _Older(keep, mine).pick)


class _Older:
    """Picks, while the listing is still going, each version that can never be among the newest
    ``keep``: it keeps a min-heap of the newest ``keep`` enabled versions seen so far, and a
    version pushed out of it is older than ``keep`` others, whatever the rest of the listing
    holds. Key Vault lists versions in no particular order, so nothing else can be assumed.

    Key Vault's timestamps have one-second resolution, and another rotation may be writing at
    the same moment. So the version just written counts as the newest of its second, and only
    versions created strictly before it are ever picked: a racing rotation's version (same
    second or later) stays enabled, and the newest version of the secret is never disabled. A
    version listed twice (pages shifting under a concurrent write) is counted once.
    """

    def __init__(self, keep: int, mine: vault.StoredToken) -> None:
        self._keep = keep
        self._mine = mine.version
        self._mine_created = mine.created_on or dt.datetime.now(dt.UTC)
        self._newest: list[tuple[dt.datetime, bool, str]] = []
        self._seen: set[str] = set()

    def pick(self, props: SecretProperties) -> str | None:
        version = str(props.version)
        if not props.enabled or version in self._seen:
            return None
        self._seen.add(version)
        entry = (props.created_on or _EPOCH, version == self._mine, version)
        if len(self._newest) < self._keep:
            heapq.heappush(self._newest, entry)
            return None
        created, is_mine, oldest = heapq.heappushpop(self._newest, entry)
        if is_mine or created >= self._mine_created:
            return None
        return oldest


def left_enabled(rotation: Rotation, name: str, keep: int,
                 done: Disabled) -> OlderVersionsLeftEnabled:
    """One error for everything that went wrong after the rotation itself succeeded."""
    causes = [failure for _, failure in done.failures]
    problems = [f"version {version} of secret {name} could not be disabled: {failure.one_line()}"
                for version, failure in done.failures]
    if done.listing_error is not None:
        causes.append(done.listing_error)
        problems.append(f"listing the versions of secret {name} stopped, so older versions may "
                        f"still be enabled: {done.listing_error.one_line()}")
    kind = next(cls for cls in _BY_PRIORITY
                if cls is OlderVersionsLeftEnabled
                or any(c.exit_code == cls.exit_code for c in causes))
    stored = rotation.stored.version
    return kind(
        f"rotated to version {stored} (the new module setting Key Vault URL is "
        f"{rotation.key_vault_url}), but --keep {keep} did not finish: {len(done.versions)} "
        f"older version(s) disabled, {len(problems)} problem(s) follow",
        problems,
        fix="give the platform the new Key Vault URL (the new token is stored and works), fix "
        f"the causes below, then 'csp-secure-app rotate --keep {keep}' again disables the rest",
        rotation=rotation,
    )
