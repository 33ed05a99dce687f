"""The platform's own view: read the secret as the platform does, redeem it, check ``amr``,
call Partner Center, and the Key Vault client app secret's expiry (``verify``'s first checks,
before the outlook checks of the sibling modules)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from foundation.clouds import Endpoints
from foundation.errors import ConfigError, SecureAppError, ServiceError
from foundation.wellknown import REFRESH_TOKEN_LIFETIME_DAYS
from scripts.adapters import graph
from scripts.adapters import keyvault as vault
from scripts.adapters.identity import PartnerTokens, confidential_client, redeem
from scripts.flows.placeholder import is_placeholder, no_token_yet
from scripts.flows.verify.report import Check, HealthReport, Status, days
from scripts.types import KeyVaultReader, PartnerApp, VaultTarget

if TYPE_CHECKING:
    import msal
    from azure.keyvault.secrets import SecretClient

    from scripts.flows.platform_url import PlatformUrl

READ = "vault read (as the platform)"
PINNED = "platform's Key Vault URL"
EXPIRY = "refresh token expiry"
CLIENT_APP = "Key Vault client app secret"
#: Graph shows the first three characters of each client secret ("hint"): enough to tell which
#: of the app's secrets the platform holds, without Graph ever seeing the secret.
_HINT_LENGTH = 3
#: The vault's generic advice is written for the writer (az login, AZURE_*, writerObjectIds);
#: here the identity is the platform's own Key Vault client app, so the fix names its settings.
_PLATFORM_FIXES = {
    "credential_unavailable": "check the platform's Key Vault Client App ID / Secret / CSP "
    "Domain (KV_CLIENT_APP_ID, KV_CLIENT_APP_SECRET, KV_CLIENT_CSP_DOMAIN)",
    "forbidden": "give the Key Vault client app secrets 'get' on the token secret (an access "
    "policy, or 'Key Vault Secrets User' with accessMode rbac): run 'pulumi up' on the stack",
}



def _expiry_check(name: str, days_left: float, warn_days: int, fix: str,
                  estimated: str = "") -> Check:
    if days_left <= 0:
        return Check(name, "broken", f"expired{estimated}", fix)
    status: Status = "warning" if days_left <= warn_days else "ok"
    return Check(name, status, f"{days_left} days left{estimated}", fix)


def _failed(name: str, exc: SecureAppError, fix: str | None = None) -> Check:
    from foundation.support_ids import ids_of, support_note  # a failed check's line only

    status: Status = "unavailable" if isinstance(exc, ServiceError) else "broken"
    # A fix of our own replaces the error's, but not the ids support asks for that ended it.
    note = support_note(ids_of(exc))
    return Check(name, status, exc.message, f"{fix} {note}".strip() if fix else exc.fix)


@dataclass(frozen=True)
class View:
    """What the platform's view found, for the outlook checks that come after it."""

    report: HealthReport
    #: The version read (None when the read failed).
    stored: vault.StoredToken | None
    #: The redemption's tokens (None when it failed or was not tried): the App+User access
    #: token for Partner Center's own reports, the claims of who consented.
    tokens: PartnerTokens | None
    now: dt.datetime


def platform_view(kv_client: KeyVaultReader, app: PartnerApp, target: VaultTarget,
                  endpoints: Endpoints, graph_token: graph.TokenOnce, *, warn_days: int = 30,
                  app_secret_expires: dt.datetime | None = None,
                  platform: PlatformUrl | None = None,
                  now: dt.datetime | None = None) -> View:
    report = HealthReport(platform_key_vault_url=platform.given if platform else None)
    now = now or dt.datetime.now(dt.UTC)
    partner_client = _partner_client(app, endpoints)
    cred = vault.platform_credential(endpoints, kv_client.csp_domain, kv_client.app_id,
                                     kv_client.app_secret)
    # With --platform-url only the platform's vault is read: the credential answers the
    # challenge of that one vault (keyvault.platform_credential).
    client = vault.secret_client(platform.vault_url if platform else target.vault_url, cred)
    stored = _read(report, client, target, platform)
    read_from = (VaultTarget(vault_url=platform.vault_url, secret_name=platform.secret_name)
                 if platform else target)
    tokens = None
    if stored is not None and not _placeholder(report, stored, read_from):
        tokens = _token(report, stored, app, endpoints, partner_client, now, warn_days)
    _app_secret(report, app_secret_expires, now, warn_days, endpoints, graph_token, kv_client)
    return View(report=report, stored=stored, tokens=tokens, now=now)


def _read(report: HealthReport, client: SecretClient, target: VaultTarget,
          platform: PlatformUrl | None) -> vault.StoredToken | None:
    """The token the platform reads, and (``--platform-url``) whether it is the newest."""
    name = platform.secret_name if platform else target.secret_name
    pinned = platform.version if platform else None
    try:
        stored = vault.read_token(client, name, pinned)
    except SecureAppError as exc:
        newest = _newest(client, name) if platform and pinned else None
        why = _version_problem(exc)
        if platform is None or why is None or not isinstance(newest, vault.StoredToken):
            report.checks.append(_failed(READ, exc,
                                         _PLATFORM_FIXES.get(getattr(exc, "error", None) or "")))
            return None
        report.newest_version = newest.version
        fix = _repin(platform, newest.version)
        report.checks.append(Check(READ, "broken", f"version {pinned} {why}", fix))
        report.checks.append(Check(
            PINNED, "broken", f"pinned to version {pinned}, which {why}: every read of the "
            f"platform fails; the newest version is {newest.version}", fix))
        return None
    report.secret_version = stored.version
    if platform is None:
        report.checks.append(Check(READ, "ok", f"version {stored.version}"))
        return stored
    report.checks.append(Check(READ, "ok", f"version {stored.version} ("
                               + ("the platform's pinned one)" if pinned else "versionless)")))
    report.checks.append(_pinned_check(report, client, target, platform, stored))
    return stored


def _version_problem(exc: SecureAppError) -> str | None:
    """What is wrong with one version when the secret itself reads fine: Key Vault refuses a
    disabled version (403 "Operation get is not allowed on a disabled secret") and answers 404
    for one it does not have (``keyvault.translate`` makes both a ``ConfigError``)."""
    if not isinstance(exc, ConfigError):
        return None
    text = exc.message.lower()
    if "disabled" in text:
        return "is disabled"
    if "does not exist" in text:
        return "does not exist"
    return None


def _newest(client: SecretClient, name: str) -> vault.StoredToken | SecureAppError:
    """What a versionless identifier reads: Key Vault's current version of the secret."""
    try:
        return vault.read_token(client, name)
    except SecureAppError as exc:
        return exc


def _pinned_check(report: HealthReport, client: SecretClient, target: VaultTarget,
                  platform: PlatformUrl, stored: vault.StoredToken) -> Check:
    where = (platform.vault_url, platform.secret_name.lower())
    if where != (target.vault_url, target.secret_name.lower()):
        # Key Vault names are case-insensitive; vault URLs are normalised by the inputs.
        return Check(PINNED, "warning", f"names secret {platform.secret_name} in "
                     f"{platform.vault_host}, while rotate and consent write "
                     f"{target.secret_name} in {urlsplit(target.vault_url).netloc}: no "
                     "rotation reaches the platform",
                     "give the platform the identifier 'csp-secure-app settings' prints, or "
                     "pass --vault-url and --secret-name of the secret it reads")
    if platform.version is None:
        report.newest_version = stored.version
        return Check(PINNED, "ok", f"versionless: the platform reads the newest version "
                     f"({stored.version}); every rotation reaches it at once")
    newest = _newest(client, platform.secret_name)
    if isinstance(newest, SecureAppError):
        return Check(PINNED, "unknown", "could not read the newest version to compare "
                     f"({newest.message})", newest.fix)
    report.newest_version = newest.version
    if newest.version == stored.version:
        return Check(PINNED, "ok", f"pinned to version {stored.version}, the newest")
    return Check(PINNED, "warning", f"pinned to version {stored.version}{_stored_on(stored)}; "
                 f"the newest is {newest.version}{_stored_on(newest)}: the platform does not "
                 "read what rotation stores", _repin(platform, newest.version))


def _stored_on(stored: vault.StoredToken) -> str:
    return f" (stored {stored.created_on.date().isoformat()})" if stored.created_on else ""


def _repin(platform: PlatformUrl, newest: str) -> str:
    return (f"give the platform the new identifier `{platform.with_version(newest)}` or switch "
            f"it to the versionless identifier `{platform.versionless}`")


def _placeholder(report: HealthReport, stored: vault.StoredToken, target: VaultTarget) -> bool:
    """``pulumi up``'s placeholder is no token: say so instead of an AADSTS code for it."""
    if not is_placeholder(stored.value):
        return False
    refusal = no_token_yet(target.secret_name, target.vault_url)
    report.checks.append(Check("stored token", "broken", refusal.message, refusal.fix))
    return True


def _token(report: HealthReport, stored: vault.StoredToken, app: PartnerApp,
           endpoints: Endpoints, partner_client: msal.ConfidentialClientApplication
           | SecureAppError, now: dt.datetime, warn_days: int) -> PartnerTokens | None:
    """The token's expiry, then what the platform does with it: redeem, MFA, Partner Center."""
    fix = "run 'csp-secure-app rotate' (or consent again if it already expired)"
    expires, estimated = stored.expires_on, ""
    if stored.created_on is not None:
        report.token_age_days = days(now - stored.created_on)
        if expires is None:
            # A version pasted in the portal has no expiry date; the token in it lives 90 days
            # from its issue, which was before it was stored.
            expires = stored.created_on + dt.timedelta(days=REFRESH_TOKEN_LIFETIME_DAYS)
            estimated = (" (estimated: the version has no expiry date; "
                         f"{REFRESH_TOKEN_LIFETIME_DAYS} days from when it was stored)")
    if expires is None:
        report.checks.append(Check(EXPIRY, "unknown", "expiry unknown: the version has "
                                   "neither an expiry nor a creation date", fix))
    else:
        report.token_days_to_expiry = days(expires - now)
        report.checks.append(_expiry_check(EXPIRY, report.token_days_to_expiry,
                                           warn_days, fix, estimated))
    try:
        if isinstance(partner_client, SecureAppError):
            raise partner_client
        tokens = redeem(app, endpoints, stored.value,
                        stored.tags.get("tenantId") or app.csp_domain, client=partner_client)
        report.checks.append(Check("token redemption + MFA claim", "ok",
                                   f"amr={','.join(tokens.claims.amr)}"))
        report.checks.append(Check("Partner Center", "ok",
                                   tokens.profile.company_name or tokens.profile.tenant_id))
    except SecureAppError as exc:
        report.checks.append(_failed("token redemption + Partner Center", exc))
        return None
    return tokens


def _partner_client(app: PartnerApp,
                    endpoints: Endpoints) -> msal.ConfidentialClientApplication | SecureAppError:
    """The CPV app's client, built before the vault is read so the tenant's metadata is fetched
    once (``scripts.adapters.identity.confidential_client``). A failure is reported by the
    redemption check it belongs to, after the vault's."""
    try:
        return confidential_client(app, endpoints)
    except SecureAppError as exc:
        return exc


def _app_secret(report: HealthReport, expires: dt.datetime | None, now: dt.datetime,
                warn_days: int, endpoints: Endpoints, graph_token: graph.TokenOnce,
                kv_client: KeyVaultReader) -> None:
    """The Key Vault client app's secret: from the caller (stack output) or from Graph. An
    expiry Graph would not tell is ``unknown`` (Graph access is optional: it does not change
    the exit code), with how to make it known."""
    name = CLIENT_APP
    if expires is None:
        try:
            app = graph.get_one(endpoints, f"/v1.0/applications(appId='{kv_client.app_id}')",
                                graph_token())
        except SecureAppError as exc:
            report.checks.append(Check(name, "unknown", f"expiry unknown ({exc.message})",
                                       exc.fix))
            return
        expires = secret_expiry(app.get("passwordCredentials") or [], kv_client.app_secret)
    if expires is None:
        report.checks.append(Check(name, "unknown", "expiry unknown: Graph lists no secret "
                                   "with an end date for this app",
                                   "check that KV_CLIENT_APP_ID is the app the platform uses"))
        return
    report.app_secret_days_to_expiry = days(expires - now)
    report.checks.append(_expiry_check(
        name, report.app_secret_days_to_expiry, warn_days,
        "change clientSecretRotation in the stack config, 'pulumi up', then update the "
        "platform's Key Vault Client App Secret"))


def secret_expiry(credentials: list[dict[str, Any]], secret: str) -> dt.datetime | None:
    """When the secret the platform holds expires. An app often has two secrets during a
    rotation; the one that matters is the one whose hint matches the platform's, not the
    newest. Without a match (hints hidden), the latest end date is the best guess."""
    def end(cred: dict[str, Any]) -> dt.datetime | None:
        raw = cred.get("endDateTime")
        if not isinstance(raw, str) or not raw:
            return None
        return dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))

    hint = secret[:_HINT_LENGTH]
    matching = [c for c in credentials if hint and c.get("hint") == hint]
    ends = [e for e in map(end, matching or credentials) if e is not None]
    return max(ends, default=None)
