"""Partner Center's MFA-compliance reports (the REST reference's "Security" group), routed from
``partnercenter.PartnerCenter`` after it has authenticated an App+User caller of a partner tenant.

What Partner Center records and reports, for the calling partner only (all App+User; Learn,
"Partner security requirements status" and the three operations of REST "Security"):

* ``GET /v1/nonMfaCompliantPartnerPrincipals`` ("Get non-MFA compliant partner principals
  metadata"; guide "Get portal requests without MFA"): the users who, in the last 7 days, signed
  in to Partner Center without MFA or called its API with a token without MFA, at most the
  10,000 most recent. A ``ResourceCollection`` (``totalCount``, ``items``, ``links``,
  ``attributes.objectType`` "Collection") of ``objectId``, ``tenantId``, ``upn`` and
  ``lastNonMfaCompliantRequestDateTime`` (the guide's response example; its resource table
  "Portal request without MFA" calls the last one ``LastNonMfaCompliantLoginDateTime``: the
  example's name is what we send).
* ``GET /v1/applicationmfaadoptionstatus[?startDate=&endDate=]`` ("Get application MFA adoption
  status"; guide "Get MFA adoption status"): App+User requests counted per day and application,
  ``loginDate``, ``mfaCompliantRequestCount``, ``totalRequestCount``, ``applicationId``,
  ``applicationName``. The guide's example is a bare JSON array, so that is what we send; the
  date format of the parameters is not documented: ``YYYY-MM-DD``, as ``loginDate`` shows, is
  what we accept (anything else is a 400). Learn's example leaves ``applicationName`` empty; we
  send the app's display name when the directory knows the app.
* ``GET /v1/partnerRequests`` ("Get partner requests metadata"; guide "Get App and User API
  requests"): each App+User request of the last 7 days (at most 10,000, most recent first):
  ``requestId``, ``correlationId``, ``operationName``, ``requestDateTime``, ``sourceIpAddress``
  (the REST reference's name; the guide's example says ``ipAddress``), ``objectId``,
  ``tenantId``, ``upn``, ``applicationId``, ``mfaCompliant``.

Paging: none of the three documents it. The two collections page the way Partner Center's other
collections do (Learn, "Get invoice unbilled ... line items": ``links.next`` with a ``uri``
relative to ``/v1``, ``seekOperation=Next``, and the ``MS-ContinuationToken`` header to send
back), :attr:`MfaReports.page_size` items a page. Retention: 7 days, by the double's clock, for
all three (the first and third say so; the adoption status says nothing, and shows no older day).

What gets recorded: every App+User call this double's Partner Center authenticates (compliant,
or non-compliant when it refused the token for want of ``mfa`` in ``amr``), and what a test sets
with :meth:`MfaReports.record_request` / :meth:`MfaReports.record_non_mfa_request`.
"""

from __future__ import annotations

import base64
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from .clock import Clock
from .identity.directory import Directory
from .messages import Request, Response, json_response

PRINCIPALS = "/v1/nonmfacompliantpartnerprincipals"
ADOPTION = "/v1/applicationmfaadoptionstatus"
REQUESTS = "/v1/partnerrequests"
PATHS = frozenset({PRINCIPALS, ADOPTION, REQUESTS})
#: How far back Partner Center reports (the REST reference: "in the last 7 days").
RETENTION = timedelta(days=7)
#: "the first 10,000 most recent records" (each operation's summary).
MAX_RECORDS = 10_000
CONTINUATION = "ms-continuationtoken"

Error = Callable[[int, int | str, str], Response]


@dataclass(frozen=True)
class RecordedRequest:
    """One App+User request, as Partner Center keeps it for its reports."""

    tenant_id: str
    application_id: str
    object_id: str
    upn: str
    when: datetime
    mfa_compliant: bool
    operation: str
    request_id: str
    correlation_id: str = ""
    source_ip: str = "127.0.0.1"


class MfaReports:
    def __init__(self, directory: Directory, clock: Clock) -> None:
        self.directory = directory
        self.clock = clock
        self.page_size = 100
        self._lock = threading.Lock()
        self._records: list[RecordedRequest] = []

    # -- what a test (or an authenticated call) records ----------------------------------------
    def record_request(self, tenant_id: str, app_id: str, principal: str,
                       when: datetime | None = None, *, mfa: bool = True,
                       operation: str = "Get /v{version}/customers") -> RecordedRequest:
        """An App+User request of ``app_id`` by ``principal`` (a UPN; its object id is the
        directory's when it knows the user) at ``when`` (default: the clock's now)."""
        user = self.directory.user(principal)
        object_id = user.object_id if user else str(uuid.uuid5(uuid.NAMESPACE_URL, principal))
        record = RecordedRequest(tenant_id.lower(), app_id.lower(), object_id, principal,
                                 (when or self.clock.now()).astimezone(UTC), mfa, operation,
                                 str(uuid.uuid4()))
        with self._lock:
            self._records.append(record)
        return record

    def record_non_mfa_request(self, tenant_id: str, app_id: str, principal: str,
                               when: datetime | None = None,
                               operation: str = "Get /v{version}/customers") -> RecordedRequest:
        """Partner Center's verdict a test sets: ``app_id`` called it for ``principal`` with a
        token without MFA."""
        return self.record_request(tenant_id, app_id, principal, when, mfa=False,
                                   operation=operation)

    def record_call(self, claims: dict[str, Any], request: Request, *, mfa: bool) -> None:
        """An App+User call this double authenticated (or refused for want of MFA)."""
        app_id = str(claims.get("azp") or claims.get("appid") or "")
        upn = str(claims.get("upn") or claims.get("preferred_username") or claims.get("oid"))
        self.record_request(str(claims.get("tid", "")), app_id, upn, mfa=mfa,
                            operation=f"{request.method.title()} {_versioned(request.path)}")

    def _recent(self, tenant_id: str) -> list[RecordedRequest]:
        since = self.clock.now() - RETENTION
        with self._lock:
            mine = [r for r in self._records
                    if r.tenant_id == tenant_id.lower() and r.when >= since]
        return sorted(mine, key=lambda r: r.when, reverse=True)

    # -- the reports ---------------------------------------------------------------------------
    def respond(self, request: Request, path: str, tenant_id: str, error: Error,
                headers: list[tuple[str, str]]) -> Response:
        if path == ADOPTION:
            return self._adoption(request, tenant_id, error, headers)
        if path == PRINCIPALS:
            items = self._principals(tenant_id)
        else:
            items = [_request_item(r) for r in self._recent(tenant_id)[:MAX_RECORDS]]
        return self._page(request, path, tenant_id, items, error, headers)

    def _principals(self, tenant_id: str) -> list[dict[str, Any]]:
        latest: dict[str, RecordedRequest] = {}
        for record in self._recent(tenant_id):
            if not record.mfa_compliant and record.object_id not in latest:
                latest[record.object_id] = record
        return [{"objectId": r.object_id, "tenantId": r.tenant_id, "upn": r.upn,
                 "lastNonMfaCompliantRequestDateTime": _stamp(r.when)}
                for r in list(latest.values())[:MAX_RECORDS]]

    def _adoption(self, request: Request, tenant_id: str, error: Error,
                  headers: list[tuple[str, str]]) -> Response:
        query = {k.lower(): v for k, v in request.query.items()}
        today = self.clock.now().date()
        try:
            start = _day(query.get("startdate")) or (self.clock.now() - RETENTION).date()
            end = _day(query.get("enddate")) or today
        except ValueError:
            return error(400, 400, "startDate and endDate must be dates (YYYY-MM-DD).")
        days: dict[tuple[date, str], list[int]] = {}
        for record in self._recent(tenant_id):
            day = record.when.date()
            if start <= day <= end:
                counts = days.setdefault((day, record.application_id), [0, 0])
                counts[0] += int(record.mfa_compliant)
                counts[1] += 1
        rows = []
        for (day, app_id), (compliant, total) in sorted(days.items(), reverse=True):
            app = self.directory.app(app_id)
            rows.append({"loginDate": day.isoformat(), "mfaCompliantRequestCount": compliant,
                         "totalRequestCount": total, "applicationId": app_id,
                         "applicationName": app.display_name if app else ""})
        return json_response(200, rows, headers)

    def _page(self, request: Request, path: str, tenant_id: str, items: list[dict[str, Any]],
              error: Error, headers: list[tuple[str, str]]) -> Response:
        token = request.header(CONTINUATION)
        offset = _offset(token, tenant_id, path) if token else 0
        if offset is None:
            return error(400, 400, "The continuation token is invalid.")
        page = items[offset:offset + self.page_size]
        links: dict[str, Any] = {"self": {"uri": _resource_name(path), "method": "GET",
                                          "headers": []}}
        if offset + self.page_size < len(items):
            links["next"] = {
                "uri": f"{_resource_name(path)}?seekOperation=Next", "method": "GET",
                "headers": [{"key": "MS-ContinuationToken",
                             "value": _token(tenant_id, path, offset + self.page_size)}]}
        body = {"totalCount": len(page), "items": page, "links": links,
                "attributes": {"objectType": "Collection"}}
        return json_response(200, body, headers)


def _request_item(r: RecordedRequest) -> dict[str, Any]:
    return {"requestId": r.request_id, "correlationId": r.correlation_id,
            "operationName": r.operation, "requestDateTime": _stamp(r.when),
            "sourceIpAddress": r.source_ip, "objectId": r.object_id, "tenantId": r.tenant_id,
            "upn": r.upn, "applicationId": r.application_id, "mfaCompliant": r.mfa_compliant}


def _resource_name(path: str) -> str:
    """The documented casing of a collection's path, for its links (relative to ``/v1``)."""
    return {PRINCIPALS: "/nonMfaCompliantPartnerPrincipals",
            REQUESTS: "/partnerRequests"}[path]


def _versioned(path: str) -> str:
    """``operationName`` as the guide's example shows it: ``/v{version}/...``."""
    return "/v{version}/" + path.lstrip("/").split("/", 1)[-1]


def _stamp(when: datetime) -> str:
    """``2020-04-21T22:09:53.051``: the examples' form, UTC without an offset."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _token(tenant_id: str, path: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{tenant_id}|{path}|{offset}".encode()).decode()


def _offset(token: str, tenant_id: str, path: str) -> int | None:
    try:
        tenant, where, offset = base64.urlsafe_b64decode(token.encode()).decode().split("|")
        return int(offset) if (tenant, where) == (tenant_id, path) else None
    except ValueError:
        return None
