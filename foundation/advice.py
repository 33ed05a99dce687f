"""One table from the identity platform's refusals to what a partner should do about them.

Every task (consent, rotate, verify, ...) turns an MSAL / token-endpoint / Partner Center refusal
into one line through :func:`to_error`, so the same AADSTS code always gets the same cause and fix.

Why a table of our own rather than echoing ``error_description``: Microsoft's text is written for
developers, carries trace and correlation ids, and Microsoft itself says it may change at any time
and must not be relied on in code. The AADSTS *number* is the stable part, so we key on it and
write the fix for the person running this tool (a CSP partner admin or a CI pipeline).

Wording checked against Microsoft Entra's "authentication and authorization error codes" reference
(reference-error-codes.md) and Partner Center's authentication docs; see /work/shared/facts.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from foundation.errors import ServiceError, SignInError

#: Key of the one non-AADSTS entry: Partner Center refusing an App+User token without MFA.
PARTNER_CENTER_MFA_REQUIRED: Final = "PARTNER_CENTER_MFA_REQUIRED"

# "AADSTS700082: The refresh token ..." - the code is 5 to 7 digits today; allow a little more.
# Not preceded by a letter/digit so "XAADSTS1" or a GUID fragment never counts.
_AADSTS = re.compile(r"(?<![A-Za-z0-9])AADSTS(\d{4,9})(?!\d)", re.IGNORECASE)
# Things that must never reach a terminal even if a server echoed them: JWTs (access / id tokens)
# and long opaque strings (refresh tokens, client secrets, authorization codes).
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_OPAQUE = re.compile(r"[A-Za-z0-9._~+/=-]{40,}")
_MAX_DETAIL = 160


@dataclass(frozen=True)
class Advice:
    """What went wrong (``cause``) and what the user should do (``fix``), each one short clause."""

    code: str
    cause: str
    fix: str


_RECONSENT = "re-run `csp-secure-app consent` as a partner admin agent and complete MFA"


def _pkce(table: Mapping[str, Advice]) -> tuple[str, str]:
    """AADSTS501481 is the same PKCE mismatch as AADSTS50148, in Entra's newer wording."""
    return table["AADSTS50148"].cause, table["AADSTS50148"].fix


def _entries() -> dict[str, Advice]:
    rows: list[tuple[str, str, str]] = [
        # --- redirect / account / tenant -------------------------------------------------------
        (
            "AADSTS50011",
            "the redirect URI used at sign-in is not registered on the app",
            "add that exact URI (e.g. http://localhost:8400) to the app's redirect URIs with "
            "`pulumi up`, then re-run `csp-secure-app consent`",
        ),
        (
            "AADSTS50020",
            "the account is from another tenant (or a personal/guest account) and is not a user of "
            "the partner tenant",
            "sign in with a user of the partner tenant (an admin agent) or pass the right --tenant",
        ),
        (
            "AADSTS700016",
            "the application (client) id was not found in the tenant",
            "check the client id and tenant id; create the app with `pulumi up` (multi-tenant "
            "for a CPV app) or consent to it in that tenant",
        ),
        (
            "AADSTS90038",
            "the tenant belongs to another national cloud than the sign-in endpoint "
            "(cross-cloud requests are refused for confidential clients)",
            "set CSP_CLOUD (or --cloud) to the tenant's cloud: public, usgov or china",
        ),
        (
            "AADSTS500011",
            "the API's service principal (e.g. Partner Center) does not exist in the tenant",
            "sign in to the partner tenant (not a customer tenant) or have an admin consent to the "
            "app there, then retry",
        ),
        # --- user credentials and MFA ----------------------------------------------------------
        (
            "AADSTS50126",
            "the username or password is wrong",
            "use the interactive `csp-secure-app consent` sign-in (a password sign-in cannot do MFA)",
        ),
        (
            "AADSTS50058",
            "no signed-in browser session was found for a silent sign-in",
            "run `csp-secure-app consent` interactively",
        ),
        (
            "AADSTS50076",
            "multi-factor authentication is required (Conditional Access, security defaults or "
            "per-user MFA) and the sign-in did not include it",
            _RECONSENT,
        ),
        (
            "AADSTS50078",
            "the MFA in the stored token has expired (often 'remember MFA on trusted devices' or a "
            "sign-in frequency policy)",
            f"{_RECONSENT}; turn off 'remember MFA on trusted devices' for this account",
        ),
        (
            "AADSTS50079",
            "the account must register for multi-factor authentication first",
            "register MFA methods for the account (https://aka.ms/mfasetup), then re-run "
            "`csp-secure-app consent`",
        ),
        (
            "AADSTS53003",
            "a Conditional Access policy blocked token issuance",
            "ask the partner tenant admin to check the sign-in log for the policy and allow this "
            "app, user or location, then re-run `csp-secure-app consent`",
        ),
        # --- consent ---------------------------------------------------------------------------
        (
            "AADSTS65001",
            "no user or admin has consented to the app's permissions in this tenant",
            "run `csp-secure-app consent` as a Global Administrator of the partner tenant",
        ),
        (
            "AADSTS65004",
            "the user declined the consent prompt",
            "re-run `csp-secure-app consent` and accept the permissions (as a Global Administrator)",
        ),
        (
            "AADSTS650051",
            "the consent action failed in the tenant (e.g. a requested permission no longer exists "
            "on its API, or a service principal deleted minutes ago is still being removed)",
            "compare the app's permissions with `csp-secure-app plan` and apply them with `pulumi up`; if "
            "you just deleted the app's service principal wait 15 minutes; then re-run consent",
        ),
        (
            "AADSTS90094",
            "the requested permissions need an administrator's consent",
            "re-run `csp-secure-app consent` as a Global Administrator of the partner tenant",
        ),
        # --- the refresh token -----------------------------------------------------------------
        (
            "AADSTS54005",
            "the authorization code was already redeemed (each code works once)",
            "start `csp-secure-app consent` again; do not replay a finished sign-in",
        ),
        # PKCE mismatch: invalid_grant with AADSTS50148 ("The code_verifier does not match the
        # code_challenge supplied in the authorization request for PKCE.") or AADSTS501481
        # ("The Code_Verifier does not match the code_challenge ..."; reference-error-codes.md).
        (
            "AADSTS50148",
            "the sign-in's PKCE proof did not match its code (the code came from another sign-in "
            "attempt, or the redirect was replayed)",
            "run `csp-secure-app consent` again and finish that sign-in; do not reuse an older sign-in "
            "link or redirect",
        ),
        (
            "AADSTS50173",
            "the grant was revoked (a password change or an admin revoked the user's sessions)",
            _RECONSENT,
        ),
        (
            "AADSTS700007",
            "the refresh token was issued to a different application (client id)",
            "use the client id that obtained the token, or re-run `csp-secure-app consent` with this app",
        ),
        (
            "AADSTS700082",
            "the refresh token expired: it went 90 days without being used",
            f"{_RECONSENT}; schedule `csp-secure-app rotate` (e.g. weekly) so it never idles 90 days",
        ),
        (
            "AADSTS70008",
            "the refresh token or authorization code expired or was revoked",
            _RECONSENT,
        ),
        (
            "AADSTS70043",
            "the refresh token outlived a Conditional Access sign-in frequency limit",
            f"{_RECONSENT}; exclude the automation account from short sign-in frequency policies",
        ),
        # --- the client (app) credentials ------------------------------------------------------
        (
            "AADSTS7000215",
            "the client secret is wrong (often the secret's ID was stored instead of its value)",
            "store the secret's value, not its Secret ID, or create a new one with `pulumi up`",
        ),
        (
            "AADSTS7000218",
            "the request had no client secret and the app does not allow public client flows",
            "supply the app's client secret (confidential client) or enable 'Allow public client "
            "flows' on the app registration",
        ),
        (
            "AADSTS7000222",
            "the client secret has expired",
            "create a new secret with `pulumi up` (it rotates the secret), store it where the "
            "platform reads it, then retry",
        ),
        (
            "AADSTS900144",
            "the request is missing a required parameter",
            "use the links and commands this tool prints rather than hand-built ones; if it came "
            "from this tool, report it as a bug",
        ),
    ]
    table = {code: Advice(code, cause, fix) for code, cause, fix in rows}
    table["AADSTS501481"] = Advice("AADSTS501481", *_pkce(table))
    table[PARTNER_CENTER_MFA_REQUIRED] = Advice(
        PARTNER_CENTER_MFA_REQUIRED,
        "Partner Center refused the App+User token because it carries no MFA claim",
        f"{_RECONSENT} in the sign-in itself (a remembered or password-only sign-in does not "
        "count)",
    )
    # OAuth 2.0 errors (RFC 6749 section 5.2 and Microsoft's additions): the fallbacks when no
    # AADSTS code in the table matched.
    oauth: list[tuple[str, str, str]] = [
        (
            "invalid_grant",
            "the refresh token or authorization code is invalid, expired or revoked",
            _RECONSENT,
        ),
        (
            "invalid_client",
            "the app's client credentials were refused (wrong, expired or missing client secret)",
            "check the client id and the secret's value; create a new secret with `pulumi up`",
        ),
        (
            "unauthorized_client",
            "the app is not allowed this grant type or is not registered in the tenant",
            "check the client id and tenant, and the app registration's platform settings",
        ),
        (
            "interaction_required",
            "the identity platform needs the user to sign in interactively (MFA, consent or a "
            "policy)",
            _RECONSENT,
        ),
        (
            "consent_required",
            "the app's permissions have not been consented in this tenant",
            "run `csp-secure-app consent` as a Global Administrator of the partner tenant",
        ),
        ("login_required", "the user is not signed in", "run `csp-secure-app consent` interactively"),
        (
            "access_denied",
            "the sign-in was cancelled or consent was declined",
            "re-run `csp-secure-app consent` and accept the permissions",
        ),
        (
            "invalid_scope",
            "the requested scope is not valid for this app or cloud",
            "check CSP_CLOUD and PARTNER_CENTER_ENDPOINT match the partner tenant's cloud",
        ),
        (
            "invalid_request",
            "the identity platform rejected the request as malformed",
            "check the tenant id, client id and cloud settings; if they are right, report a bug",
        ),
        (
            "temporarily_unavailable",
            "the identity platform is temporarily unavailable",
            "retry in a few minutes",
        ),
        ("server_error", "the identity platform had an internal error", "retry in a few minutes"),
    ]
    for code, cause, fix in oauth:
        table[code] = Advice(code, cause, fix)
    return table


#: Every piece of advice, keyed by "AADSTS<number>", PARTNER_CENTER_MFA_REQUIRED or an OAuth error.
ADVICE: Final[Mapping[str, Advice]] = MappingProxyType(_entries())


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


def advise(
    error: str | None,
    error_description: str | None = None,
    error_codes: Sequence[int] = (),
) -> Advice | None:
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
    text = _JWT.sub("[redacted]", text)
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


def to_error(
    error: str | None,
    error_description: str | None,
    error_codes: Sequence[int] = (),
    *,
    context: str,
    service: bool = False,
) -> SignInError | ServiceError:
    """Build the one exception a task raises for an identity-platform or Partner Center refusal.

    Its line reads ``"<context>: <cause> (AADSTSnnnn). Fix: <fix>."``. ``service=True`` makes a
    :class:`ServiceError` (retry later) instead of a :class:`SignInError` (a human must act).
    The raw description is kept on the exception (scrubbed) for debugging but not printed.
    """
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
        fix = (
            f"look the code up at https://login.microsoftonline.com/error?code={codes[0]}"
            if codes
            else "re-run with the same settings; if it persists, check the tenant, client id "
            "and cloud"
        )

    cls = ServiceError if service else SignInError
    return cls(
        message,
        fix=fix,
        error=error,
        error_description=scrub(error_description) if error_description else None,
        codes=codes,
    )
