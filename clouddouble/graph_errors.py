"""Microsoft Graph's errors as the double sends them, and the OData context every Graph reply
names, shared by every Graph endpoint module.

The error shape is Graph's (Learn, "Microsoft Graph error responses and resource types"): an
``error`` object with ``code``, ``message`` and an ``innerError`` of ``date``, ``request-id`` and
``client-request-id``; a 401 also carries ``WWW-Authenticate``. ``graph.Graph.route`` turns a
raised :class:`GraphError` into that reply (:func:`error_response`); :func:`graph_error_body`
gives the same body to ``CloudDouble.inject_fault``.

This module imports nothing else of Graph's, so ``graph`` and its endpoint modules
(``graph_reports``, ``graph_policies``, ``graph_applications``) can all import it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .messages import Request, Response, json_response


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message
        super().__init__(message)


#: Graph's refusals for the registration report, as Graph returns them (error codes and messages
#: quoted in microsoftgraph/microsoft-graph-docs-contrib#8777 and #3808 for the licence,
#: microsoftgraph/microsoft-graph-docs#10705 and microsoft/zerotrustassessment#1395 for the role).
NO_PREMIUM = (
    "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
    "Neither tenant is B2C or tenant doesn't have premium license",
)
UNSUPPORTED_ROLE = (
    "Authentication_RequestFromUnsupportedUserRole",
    "User is not in the allowed roles",
)

#: The ``@odata.context`` base of every v1.0 reply (``f"{METADATA}#users"``), as Graph sends it.
METADATA = "https://graph.microsoft.com/v1.0/$metadata"

#: ``Graph._require(claims, delegated, application, admin)``: the permission check each endpoint
#: module is handed, raising :class:`GraphError` (403) when the caller's token lacks them all.
Require = Callable[[dict[str, Any], set[str], set[str], bool], None]


def _error(code: str, message: str, client_request_id: str | None = None) -> dict[str, Any]:
    """Graph's error shape (Learn, "Microsoft Graph error responses and resource types"); the
    caller's ``client-request-id`` echoed when it sent one."""
    return {"error": {"code": code, "message": message,
                      "innerError": {"date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                                     "request-id": str(uuid.uuid4()),
                                     "client-request-id": client_request_id
                                     or str(uuid.uuid4())}}}


def graph_error_body(code: str, message: str) -> tuple[bytes, str]:
    """Graph's error body for ``CloudDouble.inject_fault(body=...)``: e.g.
    ``graph_error_body(*UNSUPPORTED_ROLE)``."""
    return json.dumps(_error(code, message)).encode(), "application/json; charset=utf-8"


def denied() -> GraphError:
    """Graph's refusal of a token without any of the permissions an endpoint accepts."""
    return GraphError(
        403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
    )


def error_response(err: GraphError, request: Request) -> Response:
    """The reply to a refused request: Graph echoes the caller's ``client-request-id``."""
    body = _error(err.code, err.message, request.header("client-request-id"))
    headers = []
    if err.status == 401:
        headers.append(("WWW-Authenticate", 'Bearer realm="", error="invalid_token"'))
    return json_response(err.status, body, headers)
