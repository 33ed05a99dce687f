"""The few Microsoft Graph reads the lifecycle tasks make, with paging and typed errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scripts import http
from scripts.clouds import Endpoints
from scripts.errors import ServiceError, SignInError

#: A generous bound: a tenant with more users than this has a report we should not page forever.
MAX_PAGES = 200


def graph_token(endpoints: Endpoints) -> str:
    """An app-only (or the signed-in admin's) Graph token from the writer's credential."""
    from azure.core.exceptions import ClientAuthenticationError

    from scripts.vault import writer_credential

    try:
        return writer_credential(endpoints).get_token(endpoints.graph_scope).token
    except ClientAuthenticationError as exc:
        raise SignInError(
            "could not get a Microsoft Graph token",
            fix="sign in with 'az login', or set AZURE_TENANT_ID, AZURE_CLIENT_ID and "
            "AZURE_CLIENT_SECRET for an identity with Reports.Read.All / Application.Read.All",
            error="credential_unavailable",
        ) from exc


def get_pages(endpoints: Endpoints, path: str, token: str) -> Iterator[dict[str, Any]]:
    """Every item of a Graph collection, following ``@odata.nextLink``."""
    sess = http.session()
    url: str | None = f"{endpoints.graph.rstrip('/')}{path}"
    for _ in range(MAX_PAGES):
        if url is None:
            return
        resp, body = http.get_json(sess, url, token=token, service="Microsoft Graph")
        _raise_for(resp.status_code, body, path)
        yield from body.get("value", [])
        url = body.get("@odata.nextLink")


def get_one(endpoints: Endpoints, path: str, token: str) -> dict[str, Any]:
    resp, body = http.get_json(http.session(), f"{endpoints.graph.rstrip('/')}{path}",
                               token=token, service="Microsoft Graph")
    _raise_for(resp.status_code, body, path)
    return dict(body)


def _raise_for(status: int, body: Any, path: str) -> None:
    if status in (401, 403):
        raise SignInError(
            f"Microsoft Graph refused {path.split('?')[0]} ({status})",
            fix="grant the identity Reports.Read.All (for mfa-report) or Application.Read.All "
            "(for the app secret expiry), with admin consent",
            error="forbidden",
        )
    if status >= 400 or not isinstance(body, dict):
        raise ServiceError(f"Microsoft Graph answered {status} to {path.split('?')[0]}",
                           fix="check GRAPH_ENDPOINT and try again later")
