"""Token rotation: redeem the stored refresh token and store the new one as a new version.

A Partner Center refresh token rolls: each redemption returns a new one valid 90 days, and the
old one is not revoked. So rotation never leaves the secret without a working token: the new
version is written only after the redeemed token passed every check, and two rotations racing
each other both redeem a valid token and both write a valid one, whichever lands last.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from scripts import consent, vault
from scripts.clouds import Endpoints
from scripts.inputs import PartnerApp, VaultTarget

if TYPE_CHECKING:
    from azure.keyvault.secrets import SecretClient


@dataclass(frozen=True)
class Rotation:
    previous_version: str
    stored: vault.StoredToken
    disabled_versions: tuple[str, ...]


def rotate(app: PartnerApp, target: VaultTarget, endpoints: Endpoints, *,
           keep: int | None = None) -> Rotation:
    client = vault.secret_client(target.vault_url, vault.writer_credential(endpoints))
    current = vault.read_token(client, target.secret_name)
    msal_app = consent.confidential_client(app, endpoints)
    result = msal_app.acquire_token_by_refresh_token(
        current.value, scopes=[endpoints.partner_center_scope])
    expected = current.tags.get("tenantId") or app.csp_domain
    tokens = consent.check_partner_result(result, app, endpoints, expected)
    stored = consent.store(tokens, app, target, endpoints, source="rotate")
    disabled = disable_older(client, target.secret_name, keep) if keep else ()
    return Rotation(previous_version=current.version, stored=stored, disabled_versions=disabled)


def disable_older(client: SecretClient, name: str, keep: int) -> tuple[str, ...]:
    """Disable every enabled version but the newest ``keep``: the platform may still hold an
    older identifier, so this is opt-in (``--keep N``)."""
    try:
        versions = sorted(
            (p for p in client.list_properties_of_secret_versions(name) if p.enabled),
            key=lambda p: p.created_on.timestamp() if p.created_on else 0.0, reverse=True)
        stale = versions[keep:]
        for props in stale:
            client.update_secret_properties(name, props.version, enabled=False)
    except Exception as exc:
        raise vault.translate(exc, client.vault_url, name, "list/set") from None
    return tuple(str(p.version) for p in stale)
