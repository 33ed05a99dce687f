"""The interactive sign-in: password page, one-time-code page, consent page, then the redirect
with an authorization code (or, for the device flow, an approved device code).

Each page posts back a ``flowToken`` naming the server-side transaction; the stage recorded there
decides what a post may do, so pages cannot be skipped by posting out of order.
"""

from __future__ import annotations

import dataclasses
import secrets

from ..messages import Response, html_response
from . import pages
from .authstate import SignIn, Transaction
from .catalog import OIDC_SCOPES
from .context import IdentityContext
from .directory import PermissionDrift, new_mfa_code
from .errors import AadError
from .scopes import expand

_OIDC_TEXT = {
    "openid": "Sign you in",
    "profile": "View your basic profile",
    "email": "View your email address",
    "offline_access": "Maintain access to data you have given it access to",
}


class SignInFlow:
    def __init__(self, ctx: IdentityContext) -> None:
        self.ctx = ctx

    # -- entry points ----------------------------------------------------------------------------
    def start(self, tx: Transaction) -> Response:
        req = tx.request
        return html_response(
            200,
            pages.sign_in_page(
                self._action(tx, "login"), tx.id, req.app.display_name, req.login_hint or ""
            ),
        )

    def post(self, step: str, form: dict[str, str]) -> Response:
        tx = self.ctx.state.transaction(form.get("flowToken", ""), self.ctx.clock.now())
        if tx is None:
            return html_response(
                400, pages.error_page(90023, "The sign-in session expired. Start again.")
            )
        with self.ctx.state.lock:
            if step != tx.stage:
                return html_response(400, pages.error_page(90023, "Unexpected sign-in step."))
            if step == "login":
                return self._login(tx, form)
            if step == "mfa":
                return self._mfa(tx, form)
            return self._consent(tx, form)

    # -- steps -----------------------------------------------------------------------------------
    def _login(self, tx: Transaction, form: dict[str, str]) -> Response:
        req = tx.request
        directory = self.ctx.directory
        upn = form.get("username", "").strip()
        user = directory.user(upn)
        action = self._action(tx, "login")
        if user is None or not user.enabled:
            err = (50034, f"The user account {upn} does not exist in the directory.")
            return html_response(
                200, pages.sign_in_page(action, tx.id, req.app.display_name, upn, err)
            )
        if not secrets.compare_digest(form.get("password", "").encode(), user.password.encode()):
            err = (50126, "Your account or password is incorrect.")
            return html_response(
                200, pages.sign_in_page(action, tx.id, req.app.display_name, upn, err)
            )
        if req.tenant is not None and user.tenant_id != req.tenant.id:
            text = AadError(
                50020,
                upn=upn,
                idp=self.ctx.issuer.v1_issuer(user.tenant_id),
                tenant=req.tenant.id,
                client_id=req.app.app_id,
            ).text
            return html_response(400, pages.error_page(50020, text.split(": ", 1)[1]))
        tenant_id = req.tenant.id if req.tenant else user.tenant_id
        if req.app.tenant_id != tenant_id and not req.app.multi_tenant:
            text = AadError(700016, client_id=req.app.app_id, tenant=tenant_id).text
            return html_response(400, pages.error_page(700016, text.split(": ", 1)[1]))
        now = self.ctx.clock.now()
        tx.sign_in = SignIn(user, tenant_id, ("pwd",), now)
        if user.mfa:
            tx.stage = "mfa"
            return html_response(200, pages.mfa_page(self._action(tx, "mfa"), tx.id, user.upn))
        return self._after_authentication(tx)

    def _mfa(self, tx: Transaction, form: dict[str, str]) -> Response:
        assert tx.sign_in is not None  # nosec B101
        user = tx.sign_in.user
        with self.ctx.directory.lock:
            ok = secrets.compare_digest(
                form.get("otp", "").strip().encode(), user.mfa_code.encode()
            )
            if ok:
                user.mfa_code = new_mfa_code()  # one-time: a replayed code fails
        if not ok:
            err = (500121, "You didn't enter the expected verification code.")
            return html_response(200, pages.mfa_page(self._action(tx, "mfa"), tx.id, user.upn, err))
        tx.sign_in = dataclasses.replace(
            tx.sign_in, amr=("pwd", "mfa"), auth_time=self.ctx.clock.now()
        )
        return self._after_authentication(tx)

    def _after_authentication(self, tx: Transaction) -> Response:
        req = tx.request
        assert tx.sign_in is not None  # nosec B101
        user, tenant_id = tx.sign_in.user, tx.sign_in.tenant_id
        directory = self.ctx.directory
        needed = (
            req.prompt == "consent"
            or directory.service_principal(tenant_id, req.app.app_id) is None
        )
        permissions: list[tuple[str, str]] = []
        try:
            for entry in req.scopes.resources:
                names = expand(entry, req.app, directory)
                granted = directory.granted_scopes(
                    tenant_id, req.app.app_id, entry.resource.app_id, user.object_id
                )
                org_granted = directory.granted_scopes(
                    tenant_id, req.app.app_id, entry.resource.app_id, None
                )
                needed = needed or not names <= granted
                for name in sorted(names):
                    perm = entry.resource.scope(name)
                    if perm and perm.admin_only and not user.admin and name not in org_granted:
                        text = AadError(90094).text.split(": ", 1)[1]
                        return html_response(400, pages.error_page(90094, text))
                    text = perm.description if perm else name
                    permissions.append((f"{entry.uri}/{name}", text))
        except PermissionDrift as drift:
            return self.ctx.error_redirect(
                req,
                AadError(
                    650051,
                    client_id=req.app.app_id,
                    permission=drift.permission_id,
                    resource=drift.resource_app_id,
                ),
            )
        if not needed:
            return self._finish(tx)
        permissions += [(s, _OIDC_TEXT[s]) for s in sorted(req.scopes.oidc & OIDC_SCOPES)]
        tx.stage = "consent"
        return html_response(
            200,
            pages.consent_page(
                self._action(tx, "consent"),
                tx.id,
                req.app.display_name,
                user.upn,
                permissions,
                offer_org_consent=user.admin,
            ),
        )

    def _consent(self, tx: Transaction, form: dict[str, str]) -> Response:
        req = tx.request
        assert tx.sign_in is not None  # nosec B101
        user, tenant_id = tx.sign_in.user, tx.sign_in.tenant_id
        if form.get("action") != "accept":
            tx.stage = "done"
            if tx.device_code:
                self.ctx.state.device_codes[tx.device_code].status = "declined"
                return html_response(200, pages.device_done_page(req.app.display_name, False))
            return self.ctx.error_redirect(req, AadError(65004))
        org = form.get("consentOrg") == "1" and user.admin
        directory = self.ctx.directory
        with directory.lock:
            directory.add_service_principal(tenant_id, req.app.app_id)
            for entry in req.scopes.resources:
                names = expand(entry, req.app, directory)
                directory.grant_delegated(
                    tenant_id,
                    req.app.app_id,
                    entry.resource.app_id,
                    names,
                    None if org else user.object_id,
                )
            if org and any(e.default for e in req.scopes.resources):
                directory.grant_admin_consent(tenant_id, req.app.app_id)
        return self._finish(tx)

    def _finish(self, tx: Transaction) -> Response:
        req = tx.request
        assert tx.sign_in is not None  # nosec B101
        tx.stage = "done"
        now = self.ctx.clock.now()
        if tx.device_code:
            code = self.ctx.state.device_codes[tx.device_code]
            code.status, code.sign_in = "approved", tx.sign_in
            return html_response(200, pages.device_done_page(req.app.display_name, True))
        value = self.ctx.state.issue_code(req, tx.sign_in, now)
        params = {"code": value}
        if req.state is not None:
            params["state"] = req.state
        params["session_state"] = tx.id[:36]
        return self.ctx.respond_to_app(req, params)

    @staticmethod
    def _action(tx: Transaction, step: str) -> str:
        return f"/{tx.request.path_tenant}/{step}"
