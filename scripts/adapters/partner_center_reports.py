"""Partner Center's own MFA-compliance reports, for ``verify``'s ``partner-center-mfa`` check
(App+User: :func:`application_mfa_adoption`, :func:`non_mfa_compliant_principals`).

Every refusal's line ends with Partner Center's ``MS-RequestId`` and ``MS-CorrelationId``, as
``scripts.adapters.partner_center``'s do; an MFA refusal is told the same way
(:func:`~scripts.adapters.partner_center.is_mfa_refusal`).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import requests

from foundation.errors import ConfigError, SecureAppError, ServiceError, SignInError
from foundation.moments import utc_moment
from foundation.network import http
from foundation.network.timeouts import LIMITS
from scripts.adapters.partner_center import MFA_FIX, code_note, is_mfa_refusal

# -- Partner Center's MFA-compliance reports (REST reference, "Security" group) ----------------
#
# Both are App+User, for the calling partner, and cover the last 7 days (Learn, "Partner
# security requirements status"; REST "Security - Get application MFA adoption status" and
# "Security - Get non-MFA compliant partner principals metadata"; guides "Get MFA adoption
# status" and "Get portal requests without MFA").

ADOPTION_PATH: Final = "/v1/applicationmfaadoptionstatus"
PRINCIPALS_PATH: Final = "/v1/nonMfaCompliantPartnerPrincipals"
#: The only header a next-page link may make us send (Partner Center's collections, e.g. Learn
#: "Get invoice unbilled ... line items": ``links.next.headers`` = [{"key":
#: "MS-ContinuationToken", "value": ...}]); anything else a link names is not sent.
_CONTINUATION: Final = "MS-ContinuationToken"
#: Seconds one report may take, all its pages and retries: the longest this tool lets a service
#: hold a pipeline (``timeouts.LIMITS``). The reports hold at most 10,000 records.
_PAGING_DEADLINE: Final = LIMITS[1]
_NOT_OFFERED_FIX = (
    "the reports need an App+User token of an admin agent of a partner enrolled in the CSP "
    "program; Partner Center may not offer them in every cloud or for every account"
)


@dataclass(frozen=True)
class AppMfaAdoption:
    """One day of one application's App+User requests, as Partner Center counted them."""

    application_id: str
    application_name: str
    login_date: dt.date | None
    mfa_compliant: int
    total: int

    @property
    def without_mfa(self) -> int:
        return max(self.total - self.mfa_compliant, 0)


@dataclass(frozen=True)
class NonMfaPrincipal:
    """A user of the partner whom Partner Center saw without MFA (portal or App+User API)."""

    object_id: str
    upn: str
    last_seen: dt.datetime | None


def application_mfa_adoption(endpoint: str, access_token: str, start: dt.date,
                             end: dt.date) -> list[AppMfaAdoption]:
    """``GET /v1/applicationmfaadoptionstatus?startDate=&endDate=``: App+User requests per day
    and application. Learn's guide shows a bare JSON array (``loginDate``,
    ``mfaCompliantRequestCount``, ``totalRequestCount``, ``applicationId``,
    ``applicationName``); a ``ResourceCollection`` (``items``) is read the same way, should it
    come as Partner Center's other collections do. The parameters' format is not documented:
    ``YYYY-MM-DD``, the form ``loginDate`` takes in the example."""
    url = (f"{endpoint.rstrip('/')}{ADOPTION_PATH}?startDate={start.isoformat()}"
           f"&endDate={end.isoformat()}")
    body = _report(http.session(), url, access_token, ADOPTION_PATH, {})
    rows = body.get("items") if isinstance(body, dict) else body
    if not isinstance(rows, list):
        raise ServiceError(f"Partner Center answered {ADOPTION_PATH} with no list of days",
                           fix="try again later; if it persists, report it to Microsoft")
    return [AppMfaAdoption(str(r.get("applicationId") or "").lower(),
                           str(r.get("applicationName") or ""), _date(r.get("loginDate")),
                           _count(r.get("mfaCompliantRequestCount")),
                           _count(r.get("totalRequestCount")))
            for r in rows if isinstance(r, dict)]


def non_mfa_compliant_principals(endpoint: str, access_token: str) -> list[NonMfaPrincipal]:
    """``GET /v1/nonMfaCompliantPartnerPrincipals``: a ``ResourceCollection`` of ``objectId``,
    ``tenantId``, ``upn`` and ``lastNonMfaCompliantRequestDateTime`` (the guide's example; its
    resource table says ``LastNonMfaCompliantLoginDateTime``, read too). Paging is not
    documented for it: ``links.next`` is followed as on Partner Center's other collections."""
    items = _collection(endpoint, access_token, PRINCIPALS_PATH)
    return [NonMfaPrincipal(str(i.get("objectId") or ""), str(i.get("upn") or ""),
                            _stamp(i.get("lastNonMfaCompliantRequestDateTime")
                                   or i.get("lastNonMfaCompliantLoginDateTime")))
            for i in items]


def _collection(endpoint: str, token: str, path: str) -> list[dict[str, Any]]:
    """Every item of a Partner Center collection, its ``links.next`` followed on the configured
    endpoint only (the token goes nowhere else), through one session. A continuation token
    already sent (a loop) or paging past the deadline ends it as a ServiceError."""
    base = endpoint.rstrip("/")
    sess = http.session()
    url, headers = f"{base}{path}", dict[str, str]()
    seen: set[tuple[str, str]] = set()
    ends = time.monotonic() + _PAGING_DEADLINE
    items: list[dict[str, Any]] = []
    while True:
        body = _report(sess, url, token, path, headers)
        if not isinstance(body, dict) or not isinstance(body.get("items", []), list):
            raise ServiceError(f"Partner Center answered {path} with no collection",
                               fix="try again later; if it persists, report it to Microsoft")
        items += [i for i in body.get("items", []) if isinstance(i, dict)]
        links = body.get("links")
        nxt = links.get("next") if isinstance(links, dict) else None
        if not isinstance(nxt, dict) or not nxt.get("uri"):
            return items
        url, headers = _next_page(base, str(nxt["uri"]), nxt.get("headers"), path)
        key = (url, headers.get(_CONTINUATION, ""))
        if key in seen:
            raise ServiceError(f"Partner Center sent a next page of {path} it had already sent "
                               "(the paging loops)",
                               fix="check that no proxy or cache answers every page alike, "
                               "then run again; if it still loops, report it to Microsoft")
        if time.monotonic() > ends:
            raise ServiceError(f"Partner Center was still sending pages of {path} after "
                               f"{_PAGING_DEADLINE:g} s", fix="run again later")
        seen.add(key)


def _next_page(base: str, uri: str, raw_headers: Any, path: str) -> tuple[str, dict[str, str]]:
    """The absolute URL and headers of a ``links.next``: its ``uri`` is relative to ``/v1``
    (``/invoices/...?seekOperation=Next``) or, should it come so, absolute on our endpoint."""
    if uri.lower().startswith(("https://", "http://")):
        if urlsplit(uri).netloc.lower() != urlsplit(base).netloc.lower():
            raise ServiceError(f"Partner Center sent a next page of {path} on another host",
                               fix="check PARTNER_CENTER_ENDPOINT; a proxy may be rewriting "
                               "responses")
        url = uri
    else:
        rel = "/" + uri.lstrip("/")
        url = f"{base}{rel}" if rel.lower().startswith("/v1/") else f"{base}/v1{rel}"
    headers: dict[str, str] = {}
    for entry in raw_headers if isinstance(raw_headers, list) else []:
        if isinstance(entry, dict) and str(entry.get("key", "")).lower() == _CONTINUATION.lower():
            headers[_CONTINUATION] = str(entry.get("value", ""))
    return url, headers


def _report(sess: requests.Session, url: str, token: str, path: str,
            headers: dict[str, str]) -> Any:
    """One report request; each refusal typed for what it means to the check (a report Partner
    Center does not offer this partner or cloud is not a broken setup)."""
    resp, body = http.call_json(sess, url, token=token, service="Partner Center",
                                headers=headers, endpoint="PARTNER_CENTER_ENDPOINT")
    error = _report_refusal(resp, body, path)
    if error is not None:
        from foundation.network.failures import with_response_ids  # refused: its line only

        raise with_response_ids(error, resp.headers)
    return body


def _report_refusal(resp: requests.Response, body: Any, path: str) -> SecureAppError | None:
    status = resp.status_code
    if is_mfa_refusal(resp, body):
        return SignInError(f"Partner Center refused the token for {path} ({status}"
                           f"{code_note(body)}): its sign-in did not satisfy MFA",
                           fix=MFA_FIX, error="mfa_required")
    if status == 401:
        return SignInError(f"Partner Center refused the token for {path} (401 Unauthorized)",
                           fix="run 'csp-secure-app consent' again as an admin agent of the "
                           "partner tenant", error="unauthorized")
    if status == 403:
        return SignInError(f"Partner Center refused {path} (403 Forbidden)",
                           fix=_NOT_OFFERED_FIX, error="forbidden")
    if status == 404:
        return ConfigError(f"Partner Center has no {path} (404): it does not offer this report "
                           "here", fix=_NOT_OFFERED_FIX)
    if status >= 400:
        return ServiceError(f"Partner Center answered {status} to GET {path}",
                            fix="check PARTNER_CENTER_ENDPOINT and try again later")
    return None


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _date(value: Any) -> dt.date | None:
    stamp = _stamp(value)
    return stamp.date() if stamp else None


def _stamp(value: Any) -> dt.datetime | None:
    """Partner Center's times (``2020-04-21T22:09:53.051``, no offset: UTC) or dates."""
    if not isinstance(value, str) or not value.strip():
        return None
    return utc_moment(value)
