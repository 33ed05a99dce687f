"""What a failed connection means, told the same way by every client this tool uses.

Three kinds of failure look alike from far away and need different people to act:

* TLS: the service presented a certificate this machine does not trust (a TLS-inspecting proxy,
  a wrong endpoint override). Retrying never helps; the CA bundle must change.
* network / outage: refused, reset, timed out, or 429/5xx after the retries. Trying later may help.
* refusal: the identity platform answered and said no (AADSTS code). A human must act.

azure-identity folds all three into ``ClientAuthenticationError`` whose text quotes the cause, so
for its credentials the text is all there is to go on; requests and azure-core keep the original
exception in the chain. A 429 or 5xx that outlived azure-core's retries comes back the same way,
with no status at all (and a plain-text body as a JSON parse error): the last token reply its
transport saw (``foundation.network.discovery.last_token_reply``) tells it from a refusal.
MSAL's own throttled or non-JSON answers are told where they arrive
(``foundation.network.http.IdentitySession``); both use :func:`throttled` for the line.

Whatever the failure, the ids a service put in its answer (Entra's trace and correlation ids in
the text azure-identity quotes, a request id in the response headers) end the line
(:func:`with_response_ids`, ``foundation.support_ids.with_ids``): Microsoft support asks for them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Final, TypeVar

from foundation.errors import SecureAppError, ServiceError, SignInError
from foundation.network.timeouts import TIMEOUT_ENV
from foundation.support_ids import SupportIds, entra_ids, support_id, with_ids

TLS_FIX: Final = (
    "set REQUESTS_CA_BUNDLE and SSL_CERT_FILE to a CA bundle that includes your TLS-inspecting "
    "proxy's CA, or correct the endpoint override"
)
#: The patterns below are compiled (and cached by ``re``) when a failure is read, not at import:
#: most runs that load this module only add a service's ids to a refusal.
#: What OpenSSL says when a certificate (or its host name) failed verification: the failure that
#: no retry heals (``foundation.network.http`` stops every client at it). Other TLS errors (a
#: handshake cut by a proxy) are left to the retries, and still told as TLS (``_TLS``).
UNTRUSTED: Final = r"(?i)CERTIFICATE_VERIFY_FAILED|certificate verify failed"
_TLS: Final = UNTRUSTED + r"|SSLError"
#: What urllib3 / requests / azure-core / MSAL say when nothing usable came back in time.
_NETWORK: Final = (
    r"(?i)Connection refused|Failed to establish|timed out|Max retries exceeded"
    r"|Connection aborted|Connection reset|RemoteDisconnected|Name or service not known"
    r"|HTTP Error: (?:429|5\d\d)|ServiceRequestError|ServiceResponseError"
)
_TIMEOUT: Final = r"(?i)timed out|Timeout"
#: Response headers (lower case) that carry a request's ids, and what the line calls each. The
#: first header of a label wins. Partner Center: ``MS-RequestId``, ``MS-CorrelationId`` (Learn,
#: "Partner Center REST and response headers"); Microsoft Graph: ``request-id``,
#: ``client-request-id`` (headers, and the same names in an error's ``innerError``: Learn,
#: "Microsoft Graph error responses"); Key Vault and Entra: ``x-ms-request-id``.
ID_HEADERS: Final = (
    ("ms-requestid", "request id"),
    ("ms-correlationid", "correlation id"),
    ("request-id", "request id"),
    ("x-ms-request-id", "request id"),
    ("client-request-id", "client request id"),
)
E = TypeVar("E", bound=SecureAppError)


def response_ids(headers: Mapping[str, object] | None) -> SupportIds:
    """The ids in a response's ``headers`` (or a Graph ``innerError``), only those shaped like
    ids (``foundation.support_ids.support_id``): they come from outside."""
    lowered = {str(k).lower(): v for k, v in (headers or {}).items()}
    found: dict[str, str] = {}
    for name, label in ID_HEADERS:
        value = support_id(lowered.get(name))
        if value and label not in found:
            found[label] = value
    return tuple(found.items())


def with_response_ids(err: E, headers: Mapping[str, object] | None) -> E:
    """``err`` with the ids of the answer that caused it at the end of its line."""
    return with_ids(err, response_ids(headers))


def chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception it was raised from or during, innermost last."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _text(exc: BaseException) -> str:
    return " ".join(f"{type(e).__name__}: {e}" for e in chain(exc))


def is_timeout(exc: BaseException) -> bool:
    return re.search(_TIMEOUT, _text(exc)) is not None


def unreachable(exc: BaseException, what: str,
                endpoint: str = "the endpoint") -> tuple[str, str]:
    """(cause, fix) for ``what`` failing at the network level, a timeout told apart: a slow
    service and an unreachable one need different fixes."""
    if is_timeout(exc):
        return (f"{what} did not answer in time (each attempt timed out, retries included)",
                f"try again later; if it is only slow, raise {TIMEOUT_ENV} (seconds)")
    return (f"{what} could not be reached or kept failing after retries",
            f"check the network and {endpoint}, then try again later")


def connection_error(exc: BaseException, what: str, endpoint: str = "the endpoint", *,
                     during: str = "") -> ServiceError:
    """The one typed error for ``what`` failing below HTTP (``exc`` from requests, urllib3,
    azure-core or MSAL): an untrusted certificate, else unreachable or too slow. ``endpoint``
    is the setting to check; ``during`` says what was being done (" (while ...)")."""
    if is_tls(exc):
        return ServiceError(f"{what} presented a certificate this machine does not trust{during}",
                            fix=TLS_FIX)
    cause, fix = unreachable(exc, what, endpoint)
    return ServiceError(f"{cause}{during}", fix=fix)


#: What each grant is, in the words of the one line that reports it.
_GRANTS = {
    "authorization_code": "sign-in's code redemption",
    "refresh_token": "token redemption",
    "client_credentials": "token request",
    "urn:ietf:params:oauth:grant-type:device_code": "device code sign-in",
}


def _seconds(retry_after: str | None) -> int | None:
    """``Retry-After`` in seconds (Entra sends an integer); an HTTP date or junk counts as
    absent."""
    text = (retry_after or "").strip()
    return int(text) if text.isdigit() else None


def throttled(status: int, retry_after: str | None, where: str, grant: str | None,
              service: str | None = None) -> tuple[str, str]:
    """(cause, fix) for an identity-platform answer that is not an OAuth reply: a 429 that
    outlived the retries (Entra's front door says "Too Many Requests" in plain text), or an
    error status whose body is not JSON. A service problem, never the user's credentials.

    A throttled code redemption loses the code (single use, minutes long): the sign-in was not
    completed and there is no token to keep, so the fix is to sign in again."""
    what = _GRANTS.get(grant or "", "token request" if grant else "tenant metadata request")
    if service:
        what += f" for {service}"
    seconds = _seconds(retry_after)
    wait = f"wait {seconds} s" if seconds else "wait a minute"
    if status == 429:
        cause = f"the identity platform (Entra ID) at {where} throttled the {what} " \
                "(429 Too Many Requests)"
    else:
        answer = f"HTTP {status} and a body" if status else "a body"
        cause = f"the identity platform (Entra ID) at {where} answered the {what} with " \
                f"{answer} that is not an OAuth reply"
        wait = "wait a few minutes (if it persists, check AZURE_AUTHORITY_HOST: something " \
               "other than Entra ID may be answering)" if not seconds else wait
    if grant == "authorization_code":
        return (f"{cause}; the sign-in was not completed and nothing was stored",
                f"{wait}, then run consent and sign in again")
    return f"{cause}; nothing was changed", f"{wait} and run again"


def _non_oauth_reply(exc: BaseException) -> tuple[int, str | None, str] | None:
    """(status, Retry-After, origin) when azure-identity failed on a token-endpoint answer that was
    throttling or an outage, not a refusal. Its ``ClientAuthenticationError`` carries no status:
    the last token reply its transport saw says what happened (``foundation.network.discovery``),
    and a JSON parse error in the chain means the body was not OAuth JSON (RFC 6749 §5.2: every
    OAuth error is JSON)."""
    from foundation.network.discovery import last_token_reply

    reply = last_token_reply()
    if reply is not None and (reply[0] == 429 or reply[0] >= 500):
        return reply
    if any(isinstance(e, ValueError) and "Expecting value" in str(e) for e in chain(exc)):
        return reply or (0, None, "AZURE_AUTHORITY_HOST")
    return None


def is_tls(exc: BaseException) -> bool:
    return re.search(_TLS, _text(exc)) is not None


def is_untrusted(exc: BaseException) -> bool:
    """Whether ``exc`` (from requests, or azure-core wrapping it) is a certificate that failed
    verification: the one connection failure not worth waiting to retry."""
    return any(re.search(UNTRUSTED, str(e)) for e in chain(exc))


def is_network(exc: BaseException) -> bool:
    return re.search(_NETWORK, _text(exc)) is not None


def credential_error(exc: BaseException, *, service: str, fix: str) -> SecureAppError:
    """An azure-identity failure while getting a token for ``service`` (e.g. "Key Vault kv-x"),
    as one typed error. ``fix`` is what the caller's identity should do when it was refused.
    Only the AADSTS number and our own advice are quoted: never the server's text."""
    if is_tls(exc) or is_network(exc):
        return connection_error(exc, "the identity platform", "AZURE_AUTHORITY_HOST",
                                during=f" (while getting a token for {service})")
    reply = _non_oauth_reply(exc)
    if reply is not None:
        status, retry_after, origin = reply
        cause, fix = throttled(status, retry_after, origin, "client_credentials", service)
        return ServiceError(cause, fix=fix)
    from foundation.advice import advise, parse_aadsts_codes  # a refusal: load the advice table

    codes = parse_aadsts_codes(str(exc))
    found = advise(None, str(exc), codes)
    why = f": {found.cause} (AADSTS{codes[0]})" if found and codes else (
        f" (AADSTS{codes[0]})" if codes else "")
    # azure-identity quotes Entra's error_description, ids included: those (and nothing else of
    # the server's text) end the line.
    return with_ids(SignInError(f"could not get a token for {service}{why}", fix=fix,
                                error="credential_unavailable", codes=codes),
                    entra_ids(None, str(exc)))
