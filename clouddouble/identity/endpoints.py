"""The Microsoft identity platform (v2 endpoints): OpenID discovery, JWKS, authorize, the sign-in
pages, the device-code endpoints and the token endpoint, routed by path like
``login.microsoftonline.com``: ``/{tenant}/oauth2/v2.0/authorize`` where ``tenant`` is a GUID, a
verified domain, ``organizations`` or ``common``.
"""

from __future__ import annotations

import re

from ..messages import Request, Response, html_response, json_response
from . import pages
from .authstate import AuthRequest
from .context import IdentityContext
from .directory import PermissionDrift, stored_redirect_uri
from .errors import AadError
from .scopes import expand, parse_scopes
from .signin import SignInFlow
from .tokenendpoint import TokenEndpoint

_ROUTE = re.compile(r"^/(?P<tenant>[^/]+)/(?P<rest>.+)$")


class IdentityPlatform:
    def __init__(self, ctx: IdentityContext) -> None:
        self.ctx = ctx
        self.flow = SignInFlow(ctx)
        self.tokens = TokenEndpoint(ctx)

    def route(self, request: Request) -> Response:
        if request.path in ("/devicelogin", "/common/devicelogin"):
            return self._devicelogin(request)
        match = _ROUTE.match(request.path)
        if not match:
            return json_response(404, {"error": "not_found"})
        tenant_ref, rest = match["tenant"], match["rest"].rstrip("/")
        try:
            if rest in (
                "v2.0/.well-known/openid-configuration",
                ".well-known/openid-configuration",
            ):
                return self._openid_configuration(tenant_ref)
            if rest in ("discovery/v2.0/keys", "discovery/keys"):
                return json_response(200, self.ctx.issuer.jwks())
            if rest == "oauth2/v2.0/token":
                if request.method != "POST":
                    raise AadError(900561)
                return self.tokens.handle(request, tenant_ref)
            if rest == "oauth2/v2.0/devicecode" and request.method == "POST":
                return self._devicecode(request, tenant_ref)
            if rest == "oauth2/v2.0/authorize" and request.method == "GET":
                return self._authorize(request, tenant_ref)
            if rest in ("login", "mfa", "consent") and request.method == "POST":
                return self.flow.post(rest, request.form())
        except AadError as err:
            return self.ctx.error_json(err)
        return json_response(404, {"error": "not_found"})

    # -- discovery -------------------------------------------------------------------------------
    def _openid_configuration(self, tenant_ref: str) -> Response:
        tenant = self.ctx.resolve_tenant(tenant_ref)
        host = self.ctx.authority_host
        issuer_tenant = tenant.id if tenant else "{tenantid}"
        # Entra answers a domain (contoso.onmicrosoft.com) with the tenant id in every endpoint;
        # only the multi-tenant aliases (organizations, common) stay as they are.
        base = f"{host}/{tenant.id if tenant else tenant_ref}"
        return json_response(
            200,
            {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"{host}/{issuer_tenant}/v2.0",
                "request_uri_parameter_supported": False,
                "userinfo_endpoint": f"{host}/oidc/userinfo",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "http_logout_supported": True,
                "frontchannel_logout_supported": True,
                "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
                "claims_supported": [
                    "sub",
                    "iss",
                    "aud",
                    "exp",
                    "iat",
                    "auth_time",
                    "acr",
                    "nonce",
                    "preferred_username",
                    "name",
                    "tid",
                    "ver",
                    "at_hash",
                    "c_hash",
                    "email",
                ],
                "kerberos_endpoint": f"{base}/kerberos",
                "tenant_region_scope": "EU",
                "cloud_instance_name": "microsoftonline.com",
                "cloud_graph_host_name": "graph.windows.net",
                "msgraph_host": "graph.microsoft.com",
                "rbac_url": "https://pas.windows.net",
            },
        )

    # -- authorize -------------------------------------------------------------------------------
    def _authorize(self, request: Request, tenant_ref: str) -> Response:
        q = request.query
        directory = self.ctx.directory
        try:
            tenant = self.ctx.resolve_tenant(tenant_ref)
        except AadError as err:
            return self._page_error(err)
        client_id = q.get("client_id", "")
        if not client_id:
            return self._page_error(AadError(900144, field="client_id"))
        app = directory.app(client_id)
        if app is None or (tenant and app.tenant_id != tenant.id and not app.multi_tenant):
            return self._page_error(
                AadError(700016, client_id=client_id, tenant=tenant.id if tenant else tenant_ref)
            )
        if tenant is None and not app.multi_tenant:
            return self._page_error(AadError(50194, client_id=client_id))
        redirect_uri = q.get("redirect_uri", "")
        if not redirect_uri:
            return self._page_error(AadError(900144, field="redirect_uri"))
        if stored_redirect_uri(redirect_uri) not in app.redirect_uris:
            return self._page_error(AadError(50011, redirect_uri=redirect_uri, client_id=client_id))
        # The answer goes to the URI as Entra keeps it, a path-less one with its trailing slash,
        # for the query response mode; a form_post goes to the URI as asked (Learn, "Redirect
        # URI (reply URL) outline and restrictions": "This applies only when the response mode
        # is query or fragment").
        if (q.get("response_mode") or "query") != "form_post":
            redirect_uri = stored_redirect_uri(redirect_uri)
        auth = AuthRequest(
            path_tenant=tenant_ref,
            tenant=tenant,
            app=app,
            scopes=parse_scopes("", directory.catalog, client_id, tenant_ref),
            redirect_uri=redirect_uri,
            state=q.get("state"),
            nonce=q.get("nonce"),
            code_challenge=q.get("code_challenge"),
            code_challenge_method=q.get("code_challenge_method"),
            prompt=q.get("prompt"),
            login_hint=q.get("login_hint"),
            response_mode=q.get("response_mode") or "query",
        )
        try:
            if q.get("response_type") != "code":
                raise AadError(700054, response_type=q.get("response_type", ""))
            if not q.get("scope"):
                raise AadError(900144, field="scope")
            auth.scopes = parse_scopes(q["scope"], directory.catalog, client_id, tenant_ref)
            if auth.code_challenge and (auth.code_challenge_method or "plain") not in (
                "S256",
                "plain",
            ):
                raise AadError(90023, what="code_challenge_method")
            if auth.response_mode not in ("query", "form_post"):
                auth.response_mode = "query"  # report the error where the app can read it
                raise AadError(90023, what="response_mode (query and form_post are supported)")
            if auth.prompt == "none":
                raise AadError(50058)
            for entry in auth.scopes.resources:
                expand(entry, app, directory)
        except PermissionDrift as drift:
            return self.ctx.error_redirect(
                auth,
                AadError(
                    650051,
                    client_id=client_id,
                    permission=drift.permission_id,
                    resource=drift.resource_app_id,
                ),
            )
        except AadError as err:
            return self.ctx.error_redirect(auth, err)
        tx = self.ctx.state.new_transaction(auth, self.ctx.clock.now())
        return self.flow.start(tx)

    @staticmethod
    def _page_error(err: AadError) -> Response:
        """Errors before the redirect URI is trusted are shown to the user, never redirected."""
        return html_response(400, pages.error_page(err.code, err.text.split(": ", 1)[1]))

    # -- device code -----------------------------------------------------------------------------
    def _devicecode(self, request: Request, tenant_ref: str) -> Response:
        form = request.form()
        tenant = self.ctx.resolve_tenant(tenant_ref)
        client_id = form.get("client_id", "")
        if not client_id:
            raise AadError(900144, field="client_id")
        app = self.ctx.directory.app(client_id)
        if app is None or (tenant and app.tenant_id != tenant.id and not app.multi_tenant):
            raise AadError(700016, client_id=client_id, tenant=tenant_ref)
        if not form.get("scope"):
            raise AadError(900144, field="scope")
        scopes = parse_scopes(form["scope"], self.ctx.directory.catalog, client_id, tenant_ref)
        auth = AuthRequest(path_tenant=tenant_ref, tenant=tenant, app=app, scopes=scopes)
        code = self.ctx.state.new_device_code(auth, self.ctx.clock.now())
        uri = f"{self.ctx.authority_host}/devicelogin"
        return json_response(
            200,
            {
                "user_code": code.user_code,
                "device_code": code.device_code,
                "verification_uri": uri,
                "expires_in": 900,
                "interval": self.ctx.device_code_interval,
                "message": f"To sign in, use a web browser to open the page {uri} and enter the "
                f"code {code.user_code} to authenticate.",
            },
        )

    def _devicelogin(self, request: Request) -> Response:
        if request.method != "POST":
            return html_response(200, pages.device_code_page("/devicelogin"))
        now = self.ctx.clock.now()
        code = self.ctx.state.device_by_user_code(request.form().get("otc", ""))
        if code is None or code.expires <= now or code.status != "pending":
            err = (70019, "That code didn't work. Check the code and try again.")
            return html_response(200, pages.device_code_page("/devicelogin", err))
        tx = self.ctx.state.new_transaction(code.request, now)
        tx.device_code = code.device_code
        return self.flow.start(tx)
