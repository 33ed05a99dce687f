"""One table from the identity platform's refusals to what a partner should do about them.

Every task turns an MSAL / token-endpoint / Partner Center refusal into one line through
:func:`to_error`, so the same AADSTS code always gets the same cause and fix. Microsoft's
``error_description`` is written for developers and may change at any time; the AADSTS *number*
is the stable part, so we key on it and write the fix for the person running this tool.

Every fix names a flag, variable, portal step or command that exists and is the partner's to take
(``tests/foundation/test_advice.py`` checks flags and commands against the tasks). The CPV app
(its redirect URIs, permissions, public client setting, secrets) is the CPV vendor's, registered in
its own tenant: the fix is "ask your CPV vendor", unless the partner runs its own in-house app
(stack config ``inHouseApp: true``), which ``pulumi up`` manages.

The ids Microsoft support asks for (Entra's trace id, correlation id and timestamp; a service's
request id) are not secrets: ``foundation.support_ids.with_ids`` puts them at the end of the
line, always (named here too). Every error line may carry ids, while only a refusal needs the
table: a module that only adds ids imports ``foundation.support_ids``, which costs nothing to load.

Wording checked against Entra's "authentication and authorization error codes" reference
(MicrosoftDocs/entra-docs ``reference-error-codes.md``) and /work/shared/facts.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from foundation.errors import ServiceError, SignInError
from foundation.support_ids import entra_ids, with_ids
from foundation.text import JWT

#: Key of the one non-AADSTS entry: Partner Center refusing an App+User token without MFA.
PARTNER_CENTER_MFA_REQUIRED: Final = "PARTNER_CENTER_MFA_REQUIRED"

# "AADSTS700082: The refresh token ..." - the code is 5 to 7 digits today; allow a little more.
# Not preceded by a letter/digit so "XAADSTS1" or a GUID fragment never counts.
_AADSTS = re.compile(r"(?<![A-Za-z0-9])AADSTS(\d{4,9})(?!\d)", re.IGNORECASE)
# Things that must never reach a terminal even if a server echoed them: JWTs (access / id tokens,
# ``foundation.text.JWT``) and long opaque strings (refresh tokens, client secrets, codes).
_OPAQUE = re.compile(r"[A-Za-z0-9._~+/=-]{40,}")
_MAX_DETAIL = 160


@dataclass(frozen=True)
class Advice:
    """What went wrong (``cause``) and what the user should do (``fix``), each one short clause."""

    code: str
    cause: str
    fix: str


_RECONSENT = "re-run `csp-secure-app consent` as a partner admin agent and complete MFA"
#: The account that signed in is not (or not fully) a user of the partner tenant.
_OWN_ACCOUNT = (
    "sign in with an admin agent of the partner tenant that --csp-domain names, not a guest or "
    "personal account (a private window avoids a saved one); check --csp-domain is that tenant"
)
_IN_HOUSE = "in-house app (inHouseApp: true)"


def _entries() -> dict[str, Advice]:
    rows: list[tuple[str, str, str]] = [
        # --- redirect / account / tenant -------------------------------------------------------
        ("AADSTS50011",
         "the sign-in's redirect URI (http://localhost:PORT/, PORT from --redirect-port) is not "
         "registered on the CPV app",
         "pass the --redirect-port your CPV vendor registered, or ask them to add yours to the "
         f"CPV app's redirect URIs; {_IN_HOUSE}: run `pulumi up` and use port 8400"),
        ("AADSTS500113", "the CPV app has no redirect URI registered",
         "ask your CPV vendor to add http://localhost:8400/ (or the --redirect-port you pass) to "
         f"the CPV app's redirect URIs; {_IN_HOUSE}: run `pulumi up`"),
        ("AADSTS50020",
         "the account that signed in is not a user of the partner tenant (another tenant's, a "
         "guest or a personal Microsoft account)", _OWN_ACCOUNT),
        ("AADSTS90072",
         "the account that signed in is an external (guest) account in the partner tenant and "
         "cannot satisfy its MFA", _OWN_ACCOUNT),
        ("AADSTS50034",
         "the account does not exist in the partner tenant (a typo, or an account of another "
         "tenant)", _OWN_ACCOUNT),
        ("AADSTS90002", "the tenant was not found in this cloud's directory",
         "check --csp-domain (CSP_DOMAIN) is the partner tenant's domain or tenant id, and "
         "--cloud (CSP_CLOUD) its national cloud"),
        ("AADSTS700016", "the application (client id) was not found in the tenant",
         "check --app-id (CPV_APP_ID) is the CPV app's client id and --csp-domain the partner "
         "tenant; if both are right, ask your CPV vendor whether the app is multi-tenant "
         f"({_IN_HOUSE}: run `pulumi up`)"),
        ("AADSTS90038",
         "the tenant belongs to another national cloud than the sign-in endpoint (cross-cloud "
         "requests are refused for confidential clients)",
         "pass --cloud (or set CSP_CLOUD) with the tenant's cloud: public, usgov or china"),
        ("AADSTS500011",
         "the API's service principal (e.g. Partner Center) does not exist in the tenant",
         "check --csp-domain names your partner (CSP) tenant, not a customer's, then re-run "
         "`csp-secure-app consent`"),
        # --- user credentials and MFA ----------------------------------------------------------
        ("AADSTS50126", "the username or password is wrong",
         "re-run `csp-secure-app consent` and sign in with the admin agent's current password "
         "(an admin can reset it in the Microsoft Entra admin center)"),
        ("AADSTS50058", "no signed-in browser session was found for a silent sign-in",
         "re-run `csp-secure-app consent` and finish the sign-in in the browser"),
        ("AADSTS50076",
         "multi-factor authentication is required (Conditional Access, security defaults or "
         "per-user MFA) and the sign-in did not include it", _RECONSENT),
        ("AADSTS50078",
         "the MFA in the stored token has expired (often 'remember MFA on trusted devices' or a "
         "sign-in frequency policy)",
         f"{_RECONSENT}; if it recurs, turn off 'remember multifactor authentication on trusted "
         "devices' (per-user MFA service settings)"),
        ("AADSTS50079", "the account must register for multi-factor authentication first",
         "register MFA methods for the account (https://aka.ms/mfasetup), then re-run "
         "`csp-secure-app consent`"),
        ("AADSTS53003", "a Conditional Access policy blocked token issuance",
         "find the policy in the partner tenant's sign-in logs (Microsoft Entra admin center; "
         "search by the correlation id) and exclude this app, user or location, then re-run "
         "`csp-secure-app consent`"),
        ("AADSTS530084",
         "a Conditional Access token protection policy blocked the token (it demands "
         "device-bound tokens, which this tool cannot present)",
         "exclude this account or the CPV app from the token protection policy (Microsoft Entra "
         "admin center, Conditional Access), then re-run `csp-secure-app consent`"),
        # --- consent ---------------------------------------------------------------------------
        ("AADSTS65001", "no user or admin has consented to the app's permissions in this tenant",
         "run `csp-secure-app consent` as a Global Administrator of the partner tenant"),
        ("AADSTS65004", "the user declined the consent prompt",
         "re-run `csp-secure-app consent` and accept the permissions (as a Global "
         "Administrator)"),
        ("AADSTS650051",
         "the consent action failed in the tenant (e.g. a requested permission no longer exists "
         "on its API, or a service principal deleted minutes ago is still being removed)",
         "ask your CPV vendor to drop permissions that no longer exist from the CPV app "
         f"({_IN_HOUSE}: `pulumi up`); after deleting its service principal wait 15 minutes; "
         "then re-run `csp-secure-app consent`"),
        ("AADSTS90094", "the requested permissions need an administrator's consent",
         "re-run `csp-secure-app consent` as a Global Administrator of the partner tenant"),
        # --- the refresh token -----------------------------------------------------------------
        ("AADSTS54005", "the authorization code was already redeemed (each code works once)",
         "start `csp-secure-app consent` again; do not replay a finished sign-in"),
        # PKCE mismatch: invalid_grant with AADSTS50148 ("The code_verifier does not match the
        # code_challenge supplied in the authorization request for PKCE.") or AADSTS501481
        # ("The Code_Verifier does not match the code_challenge ..."; reference-error-codes.md).
        ("AADSTS50148",
         "the sign-in's PKCE proof did not match its code (the code came from another sign-in "
         "attempt, or the redirect was replayed)",
         "run `csp-secure-app consent` again and finish that sign-in; do not reuse an older "
         "sign-in link or redirect"),
        ("AADSTS50173",
         "the grant was revoked (a password change or an admin revoked the user's sessions)",
         _RECONSENT),
        ("AADSTS700007", "the refresh token was issued to a different application (client id)",
         "pass the --app-id (CPV_APP_ID) that obtained the stored token, or re-run "
         "`csp-secure-app consent` with this one"),
        ("AADSTS700082", "the refresh token expired: it went 90 days without being used",
         f"{_RECONSENT}; schedule `csp-secure-app rotate` (e.g. weekly) so it never idles 90 "
         "days"),
        ("AADSTS70008", "the refresh token or authorization code expired or was revoked",
         _RECONSENT),
        ("AADSTS70043", "the refresh token outlived a Conditional Access sign-in frequency limit",
         f"{_RECONSENT}; to stop it recurring, exclude this account or the CPV app from that "
         "sign-in frequency policy"),
        # --- client credentials: causes fit any app (failures.credential_error quotes them for
        # the vault's and Graph's identities), fixes are the CPV app's (the vendor's) ----------
        ("AADSTS7000215",
         "the client secret is wrong (often the secret's ID was given instead of its value)",
         "give the secret's value, not its Secret ID, in CPV_APP_SECRET (or at the prompt), as "
         f"your CPV vendor issued it; {_IN_HOUSE}: `pulumi stack output inHouseAppSecret "
         "--show-secrets`"),
        ("AADSTS7000218",
         "the request had no client secret and the app does not allow public client flows",
         "sign in without --device-code (the browser sign-in sends CPV_APP_SECRET), or ask your "
         "CPV vendor to allow public client flows on the CPV app"),
        ("AADSTS7000222", "the client secret has expired",
         "ask your CPV vendor for a new secret of the CPV app and put its value in "
         f"CPV_APP_SECRET; {_IN_HOUSE}: set clientSecretRotation to today, `pulumi up`, then use "
         "the new inHouseAppSecret"),
        ("AADSTS900144", "the request is missing a required parameter",
         "use the links and commands this tool prints rather than hand-built ones; if it came "
         "from this tool, report it as a bug"),
        # --- OAuth 2.0 errors (RFC 6749 5.2, Microsoft's additions): when no code matched ----
        ("invalid_grant", "the refresh token or authorization code is invalid, expired or revoked",
         _RECONSENT),
        ("invalid_client",
         "the app's client credentials were refused (wrong, expired or missing client secret)",
         "check --app-id (CPV_APP_ID) and that CPV_APP_SECRET holds the secret's value; a new "
         f"secret comes from your CPV vendor ({_IN_HOUSE}: change clientSecretRotation, then "
         "`pulumi up`)"),
        ("unauthorized_client",
         "the app is not allowed this grant type or is not registered in the tenant",
         "check --app-id (CPV_APP_ID) and --csp-domain; if both are right, ask your CPV vendor "
         "whether the CPV app allows this sign-in (for --device-code: public client flows)"),
        ("interaction_required",
         "the identity platform needs the user to sign in interactively (MFA, consent or a "
         "policy)", _RECONSENT),
        ("consent_required", "the app's permissions have not been consented in this tenant",
         "run `csp-secure-app consent` as a Global Administrator of the partner tenant"),
        ("login_required", "the user is not signed in",
         "re-run `csp-secure-app consent` and finish the sign-in in the browser"),
        ("access_denied", "the sign-in was cancelled or consent was declined",
         "re-run `csp-secure-app consent` and accept the permissions"),
        ("invalid_scope", "the requested scope is not valid for this app or cloud",
         "check --cloud (CSP_CLOUD) and PARTNER_CENTER_ENDPOINT match the partner tenant's "
         "cloud"),
        ("invalid_request", "the identity platform rejected the request as malformed",
         "check --csp-domain, --app-id and --cloud; if they are right, report a bug"),
        ("temporarily_unavailable", "the identity platform is temporarily unavailable",
         "retry in a few minutes"),
        ("server_error", "the identity platform had an internal error", "retry in a few minutes"),
    ]
    table = {code: Advice(code, cause, fix) for code, cause, fix in rows}
    # AADSTS501481 is the same PKCE mismatch as AADSTS50148, in Entra's newer wording.
    table["AADSTS501481"] = Advice("AADSTS501481", table["AADSTS50148"].cause,
                                   table["AADSTS50148"].fix)
    table[PARTNER_CENTER_MFA_REQUIRED] = Advice(
        PARTNER_CENTER_MFA_REQUIRED,
        "Partner Center refused the App+User token because it carries no MFA claim",
        f"{_RECONSENT} in the sign-in itself (a remembered or password-only sign-in does not "
        "count)",
    )
    return table


#: Every piece of advice, keyed by "AADSTS<number>", PARTNER_CENTER_MFA_REQUIRED or an OAuth error.
ADVICE: Final[Mapping[str, Advice]] = MappingProxyType(_entries())
#: When no advice matches and no code can be looked up.
GENERIC_FIX: Final = "check --csp-domain, --app-id and --cloud, then run again"


def parse_aadsts_codes(text: str | None) -> tuple[int, ...]:
    """The AADSTS numbers in ``text`` (an error_description), in order of appearance, each once."""
    if not text:
        return ()
    seen: dict[int, None] = {}
    for match in _AADSTS.finditer(text):
        seen.setdefault(int(match.group(1)), None)
    return tuple(seen)


def _all_codes(error_description: str | None, error_codes: Sequence[int]) -> tuple[int, ...]:
    """MSAL's ``error_codes`` first (the server's own list), then any found in the text."""
    seen: dict[int, None] = {}
    for code in (*error_codes, *parse_aadsts_codes(error_description)):
        if isinstance(code, int) and not isinstance(code, bool):
            seen.setdefault(code, None)
    return tuple(seen)


def _is_partner_center_mfa(error: str | None, error_description: str | None) -> bool:
    # Partner Center answers a token without `mfa` in `amr` with 401 and
    # WWW-Authenticate: Bearer error="invalid_token"; the body/description says "MFA required"
    # (the .NET SDK surfaces it as error 10001). Callers pass error="invalid_token" and the text.
    if error is None or error.lower() != "invalid_token":
        return False
    text = (error_description or "").lower()
    return "mfa" in text or "multi-factor" in text or "10001" in text


def advise(error: str | None, error_description: str | None = None,
           error_codes: Sequence[int] = ()) -> Advice | None:
    """The most specific advice: a known AADSTS code first, then Partner Center's MFA refusal,
    then the OAuth ``error``; ``None`` when nothing is known."""
    for code in _all_codes(error_description, error_codes):
        found = ADVICE.get(f"AADSTS{code}")
        if found is not None:
            return found
    if _is_partner_center_mfa(error, error_description):
        return ADVICE[PARTNER_CENTER_MFA_REQUIRED]
    if error:
        return ADVICE.get(error) or ADVICE.get(error.strip().lower())
    return None


def scrub(text: str) -> str:
    """Remove anything token- or secret-shaped from server text before it can be shown."""
    text = JWT.sub("[redacted]", text)
    return _OPAQUE.sub("[redacted]", text)


def _first_sentence(error_description: str | None) -> str | None:
    """Microsoft's own first line minus the code, trace/correlation ids and timestamps, shortened.

    Used only when we have no advice of our own, so the user still sees the server's words."""
    if not error_description:
        return None
    line = error_description.replace("\r", "\n").split("\n", 1)[0]
    line = _AADSTS.sub("", line).lstrip(" :-")
    for marker in (" Trace ID:", " Correlation ID:", " Timestamp:"):
        line = line.split(marker, 1)[0]
    line = " ".join(scrub(line).split())
    if not line:
        return None
    if len(line) > _MAX_DETAIL:
        line = line[: _MAX_DETAIL - 1].rstrip() + "…"
    return line


def to_error(error: str | None, error_description: str | None, error_codes: Sequence[int] = (),
             *, context: str, service: bool = False,
             reply: Mapping[str, object] | None = None) -> SignInError | ServiceError:
    """The one exception a task raises for an identity-platform or Partner Center refusal.

    Its line reads ``"<context>: <cause> (AADSTSnnnn). Fix: <fix> (trace id ..., correlation id
    ...)."``. ``service=True``: a :class:`ServiceError` (retry later), else a
    :class:`SignInError` (a human must act). ``reply``: the token endpoint's error JSON (MSAL's
    result), for its ids. The raw description is kept (scrubbed) on the exception, not printed."""
    codes = _all_codes(error_description, error_codes)
    found = advise(error, error_description, codes)
    label_parts: list[str] = []
    if found is not None and found.code.startswith("AADSTS"):
        label_parts.append(found.code)
    elif found is not None and found.code == PARTNER_CENTER_MFA_REQUIRED:
        label_parts.append("Partner Center 401 invalid_token: MFA required")
    else:
        # No AADSTS entry matched: still name the server's code so it can be looked up.
        if codes:
            label_parts.append(f"AADSTS{codes[0]}")
        if error:
            label_parts.append(" ".join(scrub(error).split())[:60])
    label = f" ({', '.join(label_parts)})" if label_parts else ""

    if found is not None:
        message = f"{context}: {found.cause}{label}"
        fix = found.fix
    else:
        detail = _first_sentence(error_description)
        cause = "the identity platform refused the request"
        message = f"{context}: {cause}{label}" + (f": {detail}" if detail else "")
        fix = (f"look the code up at https://login.microsoftonline.com/error?code={codes[0]}"
               if codes else GENERIC_FIX)

    cls = ServiceError if service else SignInError
    made = cls(message, fix=fix, error=error, codes=codes,
               error_description=scrub(error_description) if error_description else None)
    return with_ids(made, entra_ids(reply, error_description))
