"""Storing a refresh token so that it can never be lost: the protocol consent, rotate and
``csp-secure-app store-token`` share.

A refresh token costs a human an MFA sign-in. So it is written to an owner-only fallback file
(``scripts.local.pending``) *before* the vault is touched, and the file is removed only once the
vault has confirmed the new version: a vault error, a crash or Ctrl-C in between leaves the token
recoverable, and the error names the file and the command that pushes it
(``csp-secure-app store-token --from-file PATH``). The same file keeps a token that arrived while
Partner Center was down (:func:`keeper`, handed to the sign-in), and the token of a
``--store manual`` consent that is not printed (:func:`keep_manual`).

Each version is tagged with its lifecycle (``foundation.wellknown``'s ``mfaSignInAt``,
``issuedAt`` and ``lastRedeemedAt``, ISO 8601 UTC): verify's ``liveness`` check forecasts from
the first two the day the token dies, and verify itself moves ``lastRedeemedAt`` when its
identity may write.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Final

from foundation.errors import ConfigError, SecureAppError, StorageError
from foundation.moments import utc_moment
from foundation.wellknown import ISSUED_AT_TAG, LAST_REDEEMED_AT_TAG, MFA_SIGN_IN_AT_TAG
from scripts.adapters import keyvault as vault
from scripts.types import PartnerApp, StorageOptions, VaultTarget

if TYPE_CHECKING:
    from collections.abc import Mapping

    from azure.keyvault.secrets import SecretClient

    from foundation.clouds import Endpoints
    from scripts.adapters.claims import TokenClaims
    from scripts.adapters.identity import Keeper, PartnerTokens
    from scripts.local import pending as fallback

#: Key Vault keeps at most 15 tags on a version (Learn, "About Azure Key Vault secrets", Secret
#: tags): a write with more is refused, so an update that would add one past it is not sent.
MAX_TAGS: Final = 15


def tag_stamp(when: dt.datetime) -> str:
    """A moment as the lifecycle tags hold it: ISO 8601 in UTC, to the second (25 characters,
    well within a tag value's 256)."""
    return when.astimezone(dt.UTC).replace(microsecond=0).isoformat()


def tag_time(value: str | None) -> dt.datetime | None:
    """A lifecycle tag read back; None when absent or not a date (a tag edited in the portal is
    text from outside: it is never echoed, only found unreadable)."""
    if not value or len(value) > 64:
        return None
    return utc_moment(value)


def signed_in_at(tags: Mapping[str, str]) -> dt.datetime | None:
    """When the MFA sign-in behind a version's token happened: its ``mfaSignInAt``; for a
    version an older consent stored (no such tag), that consent's ``obtainedAt``, which was the
    sign-in. None when unknown (a rotated version of an older tool, a pasted one)."""
    recorded = tag_time(tags.get(MFA_SIGN_IN_AT_TAG))
    if recorded is not None or tags.get("source") != "consent":
        return recorded
    return tag_time(tags.get("obtainedAt"))


def store(tokens: PartnerTokens, app: PartnerApp, target: VaultTarget, endpoints: Endpoints,
          options: StorageOptions, *, source: str = "consent",
          client: SecretClient | None = None,
          signed_in: dt.datetime | None = None) -> vault.StoredToken:
    """Store the refresh token as a new secret version, kept in the fallback file until the
    vault confirmed it. ``client``: the writer's vault client when the caller already has one
    (rotate), so the same credential and token serve the read and the write. ``signed_in``:
    when the MFA sign-in behind the token happened (consent: just now; rotate: the redeemed
    version's), tagged ``mfaSignInAt``; None leaves it untagged (unknown). The token was issued,
    and redeemed, as it was obtained: ``issuedAt`` and ``lastRedeemedAt`` are that moment."""
    from scripts.local import pending as fallback  # here only: verify uses the tags, no file

    pending = _pending(tokens.refresh_token, tokens.claims, app, target)
    path = fallback.keep(pending, options.pending_home)
    stored = _push(pending, target, endpoints, options, path, source, client, signed_in)
    fallback.discard(path)
    return stored


def store_pending(path: Path, endpoints: Endpoints, options: StorageOptions,
                  target: VaultTarget | None = None) -> vault.StoredToken:
    """``csp-secure-app store-token --from-file PATH``: push a kept token (to ``target``, else
    where the file says), then delete its file. The file does not say whether a sign-in or a
    rotation obtained it: ``mfaSignInAt`` stays unknown; ``issuedAt`` and ``lastRedeemedAt``
    are when it was obtained, however long the file was kept."""
    from scripts.local import pending as fallback  # as in store()

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
    from scripts.local import pending as fallback  # as in store()

    return fallback.keep(_pending(tokens.refresh_token, tokens.claims, app, None),
                         options.pending_home)


def keeper(app: PartnerApp, target: VaultTarget | None, options: StorageOptions) -> Keeper:
    """What the sign-in calls to keep a token it cannot check yet (Partner Center down):
    ``target`` is recorded in the file, so that store-token knows where it goes.

    The sign-in asks for this first, so the fallback folder is made (or checked) here, before
    anyone signs in: a folder that cannot be made safe (a planted symlink, another user's, one
    that cannot be written) is exit 2 now rather than a token with nowhere to go afterwards."""
    from scripts.local import pending as fallback  # as in store()

    fallback.prepare(options.pending_home)

    def keep(refresh_token: str, claims: TokenClaims) -> Path:
        return fallback.keep(_pending(refresh_token, claims, app, target), options.pending_home)

    return keep


def _pending(refresh_token: str, claims: TokenClaims, app: PartnerApp,
             target: VaultTarget | None) -> fallback.PendingToken:
    from scripts.local.pending import PendingToken  # as in store()

    return PendingToken(
        refresh_token=refresh_token, tenant_id=claims.tenant_id, app_id=app.app_id,
        vault_url=target.vault_url if target else "",
        secret_name=target.secret_name if target else "", user=claims.user,
        obtained_at=tag_stamp(dt.datetime.now(dt.UTC)))


def _lifecycle_tags(pending: fallback.PendingToken,
                    signed_in: dt.datetime | None) -> dict[str, str]:
    obtained = tag_time(pending.obtained_at)
    tags = dict.fromkeys((ISSUED_AT_TAG, LAST_REDEEMED_AT_TAG), tag_stamp(obtained)) \
        if obtained else {}
    if signed_in is not None:
        tags[MFA_SIGN_IN_AT_TAG] = tag_stamp(signed_in)
    return tags


def _push(pending: fallback.PendingToken, target: VaultTarget, endpoints: Endpoints,
          options: StorageOptions, path: Path, source: str,
          client: SecretClient | None = None,
          signed_in: dt.datetime | None = None) -> vault.StoredToken:
    retry = f"run 'csp-secure-app store-token --from-file {path}'"
    try:
        client = client or vault.secret_client(target.vault_url,
                                               vault.writer_credential(endpoints))
        tags = vault.token_tags(source=source, user=pending.user, tenant_id=pending.tenant_id,
                                app_id=pending.app_id) | _lifecycle_tags(pending, signed_in)
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
