"""Storing a refresh token so that it can never be lost: the protocol consent, rotate and
``csp-secure-app store-token`` share.

A refresh token costs a human an MFA sign-in. So it is written to an owner-only fallback file
(``scripts.local.pending``) *before* the vault is touched, and the file is removed only once the
vault has confirmed the new version: a vault error, a crash or Ctrl-C in between leaves the token
recoverable, and the error names the file and the command that pushes it
(``csp-secure-app store-token --from-file PATH``). The same file keeps a token that arrived while
Partner Center was down (:func:`keeper`, handed to the sign-in), and the token of a
``--store manual`` consent that is not printed (:func:`keep_manual`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from foundation.clouds import Endpoints
from foundation.errors import ConfigError, SecureAppError, StorageError
from scripts.adapters import keyvault as vault
from scripts.adapters.claims import TokenClaims
from scripts.adapters.identity import Keeper, PartnerTokens
from scripts.local import pending as fallback
from scripts.types import PartnerApp, StorageOptions, VaultTarget

if TYPE_CHECKING:
    from azure.keyvault.secrets import SecretClient


def store(tokens: PartnerTokens, app: PartnerApp, target: VaultTarget, endpoints: Endpoints,
          options: StorageOptions, *, source: str = "consent",
          client: SecretClient | None = None) -> vault.StoredToken:
    """Store the refresh token as a new secret version, kept in the fallback file until the
    vault confirmed it. ``client``: the writer's vault client when the caller already has one
    (rotate), so the same credential and token serve the read and the write."""
    pending = _pending(tokens.refresh_token, tokens.claims, app, target)
    path = fallback.keep(pending, options.pending_home)
    stored = _push(pending, target, endpoints, options, path, source, client)
    fallback.discard(path)
    return stored


def store_pending(path: Path, endpoints: Endpoints, options: StorageOptions,
                  target: VaultTarget | None = None) -> vault.StoredToken:
    """``csp-secure-app store-token --from-file PATH``: push a kept token (to ``target``, else
    where the file says), then delete its file."""
    pending = fallback.load(path)
    target = target or VaultTarget(vault_url=pending.vault_url, secret_name=pending.secret_name)
    if not target.vault_url or not target.secret_name:
        raise ConfigError(f"{path} names no vault (it was kept by a consent with --store manual)",
                          fix="pass --vault-url and --secret-name")
    stored = _push(pending, target, endpoints, options, path, "store-token")
    fallback.discard(path)
    return stored


def keep_manual(tokens: PartnerTokens, app: PartnerApp, options: StorageOptions) -> Path:
    """``consent --store manual``: the token, whose settings print it as ``***``, kept in a new
    owner-only fallback file naming no vault (store-token is then told where with
    ``--vault-url`` and ``--secret-name``). Its folder was checked before the sign-in
    (:func:`keeper`) and is checked again as the file is made."""
    return fallback.keep(_pending(tokens.refresh_token, tokens.claims, app, None),
                         options.pending_home)


def keeper(app: PartnerApp, target: VaultTarget | None, options: StorageOptions) -> Keeper:
    """What the sign-in calls to keep a token it cannot check yet (Partner Center down):
    ``target`` is recorded in the file, so that store-token knows where it goes.

    The sign-in asks for this first, so the fallback folder is made (or checked) here, before
    anyone signs in: a folder that cannot be made safe (a planted symlink, another user's, one
    that cannot be written) is exit 2 now rather than a token with nowhere to go afterwards."""
    fallback.prepare(options.pending_home)

    def keep(refresh_token: str, claims: TokenClaims) -> Path:
        return fallback.keep(_pending(refresh_token, claims, app, target), options.pending_home)

    return keep


def _pending(refresh_token: str, claims: TokenClaims, app: PartnerApp,
             target: VaultTarget | None) -> fallback.PendingToken:
    return fallback.PendingToken(
        refresh_token=refresh_token, tenant_id=claims.tenant_id, app_id=app.app_id,
        vault_url=target.vault_url if target else "",
        secret_name=target.secret_name if target else "", user=claims.user,
        obtained_at=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat())


def _push(pending: fallback.PendingToken, target: VaultTarget, endpoints: Endpoints,
          options: StorageOptions, path: Path, source: str,
          client: SecretClient | None = None) -> vault.StoredToken:
    retry = f"run 'csp-secure-app store-token --from-file {path}'"
    try:
        client = client or vault.secret_client(target.vault_url,
                                               vault.writer_credential(endpoints))
        tags = vault.token_tags(source=source, user=pending.user, tenant_id=pending.tenant_id,
                                app_id=pending.app_id)
        return vault.store_token(client, target.secret_name, pending.refresh_token, tags,
                                 rbac_wait=options.rbac_wait)
    except SecureAppError as exc:
        raise StorageError(
            f"the refresh token was not stored ({exc.message}); it is kept in {path}",
            fix=f"{(exc.fix or 'fix the cause').rstrip('.')}, then {retry}",
            fallback_path=str(path),
        ) from None
    except KeyboardInterrupt:
        raise StorageError(f"interrupted while storing; the refresh token is kept in {path}",
                           fix=retry, fallback_path=str(path)) from None
