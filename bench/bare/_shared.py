"""What every bare script shares: the inputs (the same variables the console command reads, as
``bench/run.py`` sets them), the CPV app's MSAL client and the writer's credential, and one
``requests.Session`` handed to MSAL (``http_client``) and to azure-core
(``RequestsTransport(session=..., session_owner=False)``).

The session keeps each OpenID discovery document it fetched, so azure-identity's credential does
not fetch the tenant's again after MSAL did: without it a bare script would make one request
more than the task, and the comparison would no longer be "the same calls". Nothing else is here:
no retries of our own, no checks, no error handling. A bare script that fails raises.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import requests

PARTNER_CENTER_SCOPE = "https://api.partnercenter.microsoft.com/user_impersonation"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
#: Partner Center's first-party app id (its service principal in every tenant: verify's consent).
PARTNER_CENTER_APP_ID = "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd"
CONTENT_TYPE = "application/vnd.partnercenter.refresh-token"  # the product's, as it stores it


class Session(requests.Session):
    """requests' session with the discovery documents it fetched kept by URL."""

    def __init__(self) -> None:
        super().__init__()
        self.documents: dict[str, requests.Response] = {}

    def request(self, method: str | bytes, url: str | bytes, *args: Any,  # type: ignore[override]
                **kwargs: Any) -> requests.Response:
        key = url.decode() if isinstance(url, bytes) else url
        if method != "GET" or not key.split("?")[0].endswith("/openid-configuration"):
            return super().request(method, url, *args, **kwargs)
        if key not in self.documents:
            self.documents[key] = super().request(method, url, *args, **kwargs)
        return self.documents[key]


def env(name: str) -> str:
    return os.environ[name]


def authority_host() -> str:
    return env("AZURE_AUTHORITY_HOST").rstrip("/")


def transport(session: requests.Session) -> Any:
    from azure.core.pipeline.transport import RequestsTransport

    return RequestsTransport(session=session, session_owner=False)


def cpv_client(session: requests.Session) -> Any:
    """The CPV app's MSAL client for the partner tenant, over ``session``."""
    import msal

    return msal.ConfidentialClientApplication(
        env("CPV_APP_ID"), client_credential=env("CPV_APP_SECRET"),
        authority=f"{authority_host()}/{env('CSP_DOMAIN')}", instance_discovery=False,
        http_client=session)


def writer(transport: Any) -> Any:
    """The writer identity (``AZURE_*`` here), as the console command builds it."""
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(authority=authority_host(), disable_instance_discovery=True,
                                  exclude_interactive_browser_credential=True,
                                  transport=transport)


def done(line: str) -> None:
    """Print the result and leave as the console command does (flush, then ``os._exit``): the
    interpreter's teardown is not a cost of the calls."""
    print(line)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
