"""What the identity platform's handlers share: directory, clock, signing key, sign-in state."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from ..clock import Clock
from ..messages import Response, html_response, redirect
from . import pages
from .authstate import AuthRequest, AuthState
from .directory import Directory, Tenant
from .errors import AadError, described, error_json, support_ids
from .tokens import TokenIssuer

#: Path tenants that are not a directory: the user's home tenant decides.
MULTI_TENANT_ALIASES = frozenset({"organizations", "common"})


@dataclass
class IdentityContext:
    directory: Directory
    clock: Clock
    issuer: TokenIssuer
    state: AuthState
    #: Seconds MSAL waits between device-code polls (Entra says 5; tests may lower it).
    device_code_interval: int = 5

    @property
    def authority_host(self) -> str:
        return self.issuer.authority_host

    def resolve_tenant(self, ref: str) -> Tenant | None:
        """The directory behind a path tenant; None for organizations/common; AADSTS90002 else."""
        if ref.lower() in MULTI_TENANT_ALIASES:
            return None
        tenant = self.directory.tenant(ref)
        if tenant is None:
            raise AadError(90002, tenant=ref)
        return tenant

    def error_json(self, err: AadError) -> Response:
        return error_json(err, self.authority_host, self.clock.now())

    def error_redirect(self, request: AuthRequest, err: AadError) -> Response:
        """Errors after the redirect URI is trusted go back to the app, as OAuth 2.0 requires."""
        if request.redirect_uri is None:  # device flow: nowhere to redirect, show the error
            text = err.text.split(": ", 1)[1]
            return html_response(400, pages.error_page(err.code, text))
        params = {"error": err.error,
                  "error_description": described(err, support_ids(self.clock.now()))}
        if request.state is not None:
            params["state"] = request.state
        return self.respond_to_app(request, params)

    @staticmethod
    def respond_to_app(request: AuthRequest, params: dict[str, str]) -> Response:
        """Deliver the result to the redirect URI: a 302 with a query (``response_mode=query``)
        or a self-submitting form that POSTs the fields (``response_mode=form_post``)."""
        assert request.redirect_uri is not None  # nosec B101
        if request.response_mode == "form_post":
            return html_response(200, pages.form_post_page(request.redirect_uri, params))
        sep = "&" if "?" in request.redirect_uri else "?"
        return redirect(request.redirect_uri + sep + urlencode(params))
