"""``POST /{tenant}/oauth2/v2.0/token``: authorization_code, refresh_token, client_credentials and
device_code grants, with Entra's client authentication and error codes.

Refresh tokens roll: every redemption returns a new one valid for 90 days, and the old one stays
valid until its own expiry. A refresh token is bound to the client that obtained it.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from typing import Any
from urllib.parse import unquote

from ..messages import Request, Response, json_response
from .authstate import CODE_LIFETIME, AuthRequest, SignIn
from .context import IdentityContext
from .directory import App, PermissionDrift, stored_redirect_uri
from .errors import AadError
from .scopes import ResourceScopes, ScopeRequest, expand, parse_scopes, wire_scopes
from .tokens import Subject, b64url, client_info


class TokenEndpoint:
    def __init__(self, ctx: IdentityContext) -> None:
        self.ctx = ctx

    def handle(self, request: Request, tenant_ref: str) -> Response:
        form = request.form()
        grant = form.get("grant_type", "")
        if not grant:
            raise AadError(900144, field="grant_type")
        app = self._authenticate_client(request, form, tenant_ref, grant)
        with self.ctx.state.lock:
            try:
                if grant == "authorization_code":
                    body = self._authorization_code(app, form)
                elif grant == "refresh_token":
                    body = self._refresh_token(app, form, tenant_ref)
                elif grant == "client_credentials":
                    body = self._client_credentials(app, form, tenant_ref)
                elif grant == "urn:ietf:params:oauth:grant-type:device_code":
                    body = self._device_code(app, form)
                else:
                    raise AadError(70003, grant=grant)
            except PermissionDrift as drift:
                raise AadError(
                    650051,
                    client_id=app.app_id,
                    permission=drift.permission_id,
                    resource=drift.resource_app_id,
                ) from None
        return json_response(200, body, [("Cache-Control", "no-store"), ("Pragma", "no-cache")])

    # -- client authentication -------------------------------------------------------------------
    def _authenticate_client(
        self, request: Request, form: dict[str, str], tenant_ref: str, grant: str
    ) -> App:
        client_id, secret = form.get("client_id", ""), form.get("client_secret")
        auth = request.header("authorization") or ""
        if auth.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(auth[6:].strip()).decode("utf-8")
            except ValueError:
                raise AadError(90023, what="Authorization header") from None
            basic_id, _, basic_secret = decoded.partition(":")
            client_id, secret = unquote(basic_id), unquote(basic_secret)
        if not client_id:
            raise AadError(900144, field="client_id")
        tenant = self.ctx.resolve_tenant(tenant_ref)
        app = self.ctx.directory.app(client_id)
        if app is None or (tenant and app.tenant_id != tenant.id and not app.multi_tenant):
            raise AadError(700016, client_id=client_id, tenant=tenant_ref)
        if secret:
            verdict = self.ctx.directory.check_secret(app, secret)
            if verdict == "expired":
                raise AadError(7000222, client_id=client_id)
            if verdict != "ok":
                raise AadError(7000215, client_id=client_id)
        elif not app.public_client or grant == "client_credentials":
            raise AadError(7000218)
        return app

    # -- grants ----------------------------------------------------------------------------------
    def _authorization_code(self, app: App, form: dict[str, str]) -> dict[str, Any]:
        value = form.get("code", "")
        if not value:
            raise AadError(900144, field="code")
        record = self.ctx.state.codes.get(value)
        now = self.ctx.clock.now()
        if record is None or record.request.app.app_id != app.app_id:
            raise AadError(70000)
        if record.redeemed:
            raise AadError(54005)
        if now - record.issued > CODE_LIFETIME:
            raise AadError(70008)
        req = record.request
        # Compared as Entra keeps redirect URIs (directory.stored_redirect_uri): the slash a
        # path-less URI gained at authorize does not make the redemption's URI another one.
        asked = stored_redirect_uri(form.get("redirect_uri", ""))
        if asked != stored_redirect_uri(req.redirect_uri or ""):
            raise AadError(500112, redirect_uri=form.get("redirect_uri", ""))
        if req.code_challenge and not _pkce_ok(req, form.get("code_verifier", "")):
            raise AadError(50148)  # invalid_grant, Entra's own text (errors.ERRORS)
        record.redeemed = True
        scopes = req.scopes
        entry = (
            scopes.resources[0]
            if scopes.resources
            else scopes.single_resource(self.ctx.directory.catalog)
        )
        return self._user_tokens(app, record.sign_in, scopes, entry, req.nonce, form)

    def _refresh_token(self, app: App, form: dict[str, str], tenant_ref: str) -> dict[str, Any]:
        value = form.get("refresh_token", "")
        if not value:
            raise AadError(900144, field="refresh_token")
        if not form.get("scope"):
            raise AadError(900144, field="scope")
        record = self.ctx.state.refresh_tokens.get(value)
        if record is None:
            raise AadError(9002313)
        if record.client_id != app.app_id:
            raise AadError(700007, other=record.client_id, client_id=app.app_id)
        now = self.ctx.clock.now()
        user = record.sign_in.user
        issued = record.issued.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
        if user.tokens_valid_from and record.issued <= user.tokens_valid_from:
            valid_from = user.tokens_valid_from.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
            raise AadError(50173, issued=issued, valid_from=valid_from)
        if now >= record.expires:
            raise AadError(700082, issued=issued)
        scopes = parse_scopes(form["scope"], self.ctx.directory.catalog, app.app_id, tenant_ref)
        entry = scopes.single_resource(self.ctx.directory.catalog)
        if user.mfa_valid_from and record.sign_in.auth_time <= user.mfa_valid_from:
            raise AadError(50078, resource=entry.resource.app_id)
        sign_in = record.sign_in
        tenant = self.ctx.resolve_tenant(tenant_ref)
        if tenant and tenant.id != sign_in.tenant_id:
            # Acting in another tenant (a CPV app in a customer tenant) needs the app installed
            # and consented there; only the organization's grant counts.
            if self.ctx.directory.service_principal(tenant.id, app.app_id) is None:
                raise AadError(65001, client_id=app.app_id)
            sign_in = dataclasses.replace(sign_in, tenant_id=tenant.id)
        return self._user_tokens(app, sign_in, scopes, entry, None, form, always_refresh=True)

    def _client_credentials(
        self, app: App, form: dict[str, str], tenant_ref: str
    ) -> dict[str, Any]:
        raw = form.get("scope", "")
        if not raw:
            raise AadError(900144, field="scope")
        tenant = self.ctx.resolve_tenant(tenant_ref)
        if tenant is None:
            raise AadError(90002, tenant=tenant_ref)
        scopes = parse_scopes(raw, self.ctx.directory.catalog, app.app_id, tenant.id)
        if scopes.oidc or len(scopes.resources) != 1 or scopes.resources[0].names != {".default"}:
            raise AadError(1002012, scope=raw)
        entry = scopes.resources[0]
        sp = self.ctx.directory.service_principal(tenant.id, app.app_id)
        if sp is None:
            raise AadError(7000229, client_id=app.app_id, tenant=tenant.id)
        roles = self.ctx.directory.roles_for(tenant.id, app.app_id, entry.resource.app_id)
        token, life = self.ctx.issuer.access_token(
            Subject(tenant.id, sp.object_id), _audience(entry), app.app_id, roles=roles
        )
        return {
            "token_type": "Bearer",
            "expires_in": life,
            "ext_expires_in": life,
            "access_token": token,
        }

    def _device_code(self, app: App, form: dict[str, str]) -> dict[str, Any]:
        code = self.ctx.state.device_codes.get(form.get("device_code", ""))
        if code is None or code.request.app.app_id != app.app_id:
            raise AadError(70000)
        if code.status == "redeemed":
            raise AadError(54005)
        if self.ctx.clock.now() >= code.expires:
            raise AadError(70019)
        if code.status == "declined":
            raise AadError(65004, error="authorization_declined")
        if code.status != "approved" or code.sign_in is None:
            raise AadError(70016)
        code.status = "redeemed"
        scopes = code.request.scopes
        entry = (
            scopes.resources[0]
            if scopes.resources
            else scopes.single_resource(self.ctx.directory.catalog)
        )
        return self._user_tokens(app, code.sign_in, scopes, entry, None, form)

    # -- minting ---------------------------------------------------------------------------------
    def _user_tokens(
        self,
        app: App,
        sign_in: SignIn,
        scopes: ScopeRequest,
        entry: ResourceScopes,
        nonce: str | None,
        form: dict[str, str],
        always_refresh: bool = False,
    ) -> dict[str, Any]:
        directory = self.ctx.directory
        user = sign_in.user
        home = sign_in.tenant_id == user.tenant_id
        names = expand(entry, app, directory)
        granted = directory.granted_scopes(
            sign_in.tenant_id, app.app_id, entry.resource.app_id, user.object_id if home else None
        )
        if not names or not names <= granted:
            raise AadError(65001, client_id=app.app_id)
        subject = Subject(
            sign_in.tenant_id, user.object_id, user.upn, user.display_name, sign_in.amr
        )
        token, life = self.ctx.issuer.access_token(
            subject, _audience(entry), app.app_id, scopes=granted
        )
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": wire_scopes(entry, granted),
            "expires_in": life,
            "ext_expires_in": life,
            "access_token": token,
        }
        now = self.ctx.clock.now()
        if scopes.offline or always_refresh:
            body["refresh_token"] = self.ctx.state.issue_refresh_token(app.app_id, sign_in, now)
        if scopes.openid:
            body["id_token"] = self.ctx.issuer.id_token(subject, app.app_id, nonce)
        if form.get("client_info") == "1":
            body["client_info"] = client_info(user.object_id, user.tenant_id)
        return body


def _audience(entry: ResourceScopes) -> str:
    """The ``aud`` of the token: the resource URI as requested, or its canonical URI when the
    client named the resource by application id."""
    if entry.uri.lower() == entry.resource.app_id:
        return entry.resource.uri
    return entry.uri


def _pkce_ok(req: AuthRequest, verifier: str) -> bool:
    if not verifier:
        return False
    if (req.code_challenge_method or "plain") == "S256":
        computed = b64url(hashlib.sha256(verifier.encode("ascii")).digest())
        return computed == req.code_challenge
    return verifier == req.code_challenge
