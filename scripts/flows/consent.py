"""The partner admin's consent: one authorization-code sign-in with MFA, checked, then stored.

MSAL runs the protocol (PKCE S256, ``state``, ``nonce``, code redemption); this module decides the
options, receives the redirect, refuses any token Partner Center would reject later, hands the
refresh token to ``scripts.storage`` (which never loses it) and builds the module settings that
``csp-secure-app consent`` prints, saying what it did on the way. What the person needs while
the sign-in waits (tenant, who must sign in, where, how long) goes to the UI as one
:class:`Waiting`; the terminal turns it into the sign-in block and its countdown
(``scripts.cli.sign_in``).
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from foundation.advice import to_error
from foundation.clouds import Endpoints
from foundation.errors import SignInError
from foundation.wellknown import loopback_redirect_uri
from scripts import inputs, storage
from scripts.adapters import keyvault as vault
from scripts.adapters.identity import (
    PartnerTokens,
    check_partner_result,
    confidential_client,
    identity_errors,
    public_client,
    tenant_of,
)
from scripts.flows import settings
from scripts.local import children
from scripts.local.loopback import RedirectListener, parse_pasted_url
from scripts.types import PartnerApp, Say, StorageOptions, VaultTarget

if TYPE_CHECKING:
    from scripts.adapters.identity import Keeper

Mode = Literal["browser", "no-browser", "paste", "device-code"]

#: ``prompt=login`` makes the identity platform ask for credentials (and so MFA) even when the
#: browser has a session: the partner guide's "use a private window, sign out of other Microsoft
#: accounts first" advice, automated. ``select_account`` would let an existing session (maybe a
#: customer's or a non-admin's) through without a fresh sign-in; ``consent`` alone would not
#: force re-authentication.
PROMPT = "login"


@dataclass(frozen=True)
class Waiting:
    """What the person must know while the sign-in waits for them, handed to the UI once before
    the wait: the terminal shows it as the sign-in block (``scripts.cli.sign_in``)."""

    #: The partner tenant the admin must belong to (``--csp-domain`` as given).
    tenant: str
    mode: Mode
    #: Seconds the wait lasts (``--timeout``; a device code's own expiry if that comes first).
    timeout: float
    #: Where the browser comes back: the listener's address (browser and no-browser modes) or
    #: the address to copy back (paste mode). None for a device code.
    redirect_address: str | None = None
    #: The sign-in link, for every mode but device code.
    sign_in_url: str | None = None
    #: Browser mode: whether a browser was launched (False: the person must open the link).
    browser_opened: bool | None = None
    #: Device code mode: the code to enter and where.
    user_code: str | None = None
    verification_uri: str | None = None


def _no_tick(_left: float) -> None:
    return None


def _read_line(_timeout: float) -> str | None:
    return input()


@dataclass
class SignInUI:
    """How the sign-in talks to the person: injected so tests and `demo` can play the user."""

    #: The sign-in link (or a device code's message) as soon as it exists: a played user
    #: (tests, the demo) acts on it.
    show_url: Callable[[str], None]
    #: Launches the browser without our credentials in its environment (scripts.local.children).
    open_browser: Callable[[str], bool] = children.open_browser
    #: ``--paste``: the address the browser ended on, or None when ``timeout`` seconds passed.
    read_pasted: Callable[[float], str | None] = _read_line
    tell: Callable[[str], None] = field(default=lambda _msg: None)
    #: Once, before the wait, with all the person must know (the terminal's sign-in block).
    #: None: a UI without one; then only ``show_url`` and ``tell`` are used.
    waiting: Callable[[Waiting], None] | None = None
    #: During the wait, with the seconds left: at least once a second (a countdown's clock).
    tick: Callable[[float], None] = _no_tick
    #: After the wait, however it ended (success, error, Ctrl-C): a live countdown is cleared.
    done: Callable[[], None] = field(default=lambda: None)


@dataclass(frozen=True)
class ConsentResult:
    """The module settings, and (``--store manual`` without ``--show-secrets``) the owner-only
    file holding the refresh token the settings show as ``***``."""

    module_settings: settings.ModuleSettings
    refresh_token_file: Path | None = None

    def render(self, fmt: str, *, show_secrets: bool, **options: str) -> str:
        """The settings as ``scripts.flows.settings`` renders them (``options``: its own, passed
        on), plus where the token is."""
        text = settings.render(self.module_settings, fmt, show_secrets=show_secrets, **options)
        if self.refresh_token_file is None:
            return text
        where = str(self.refresh_token_file)
        if fmt == "json":
            return json.dumps({**json.loads(text), "refresh_token_file": where}, indent=2)
        if fmt == "env":
            # Named after the line that holds the token, whatever prefix the settings use.
            names = [line.split("=", 1)[0] for line in text.splitlines()]
            token = next((n for n in names if n.endswith("REFRESH_TOKEN")), "REFRESH_TOKEN")
            return f"{text}\n{token}_FILE={shlex.quote(where)}"
        width = max(len(label) for label in settings.LABELS.values())
        return f"{text}\n{'Refresh Token File':<{width}}  {where}"


def consent(given: inputs.ConsentInputs, ui: SignInUI, *, mode: Mode, timeout: float,
            say: Say, show_secrets: bool = False) -> ConsentResult:
    """``csp-secure-app consent``: sign in, store the token, and the module settings for the
    platform's form. ``--store manual``: the settings carry the token, and unless
    ``show_secrets`` prints it, it is kept in the owner-only fallback file: a human's MFA
    sign-in is never thrown away behind a ``***``."""
    app, target = given.app, given.target
    tokens = sign_in(app, given.endpoints, ui, mode=mode, port=given.port, timeout=timeout,
                     target=target, options=given.storage)
    say(f"Signed in as {tokens.claims.user} (MFA); Partner Center: "
        f"{tokens.profile.company_name or tokens.profile.tenant_id}.")
    # A GUID given for the tenant: the settings name its domain, as Partner Center knows it.
    domain = app.csp_domain if "." in app.csp_domain else tokens.profile.domain or app.csp_domain
    if target is None:
        manual = settings.build(csp_domain=domain, csp_account_id=tokens.claims.tenant_id,
                                app_id=app.app_id, app_secret=app.app_secret,
                                refresh_token=tokens.refresh_token)
        if show_secrets:
            return ConsentResult(manual)
        # The folder was checked before the sign-in (sign_in asks storage.keeper first).
        kept = storage.keep_manual(tokens, app, given.storage)
        say(f"The refresh token (*** in the result) is kept in {kept}, readable by you only:")
        say(f"  read it:   its \"refresh_token\" field, e.g. {_read_command(kept)}")
        say(f"  vault it:  csp-secure-app store-token --from-file {kept} --vault-url URL "
            "--secret-name NAME (the file is deleted once stored)")
        say("  next time: --show-secrets prints it instead, and no file is kept")
        return ConsentResult(manual, refresh_token_file=kept)
    stored = store(tokens, app, target, given.endpoints, given.storage)
    say(f"Stored as a new version of {target.secret_name}: {stored.version}.")
    return ConsentResult(settings.build(csp_domain=domain, csp_account_id=tokens.claims.tenant_id,
                                        app_id=app.app_id, app_secret=app.app_secret,
                                        kv_client=given.reader, secret_id=stored.secret_id))


def store(tokens: PartnerTokens, app: PartnerApp, target: VaultTarget, endpoints: Endpoints,
          options: StorageOptions | None = None) -> vault.StoredToken:
    """Store the consented token as a new version (``scripts.storage``: it is never lost).
    ``options``: None for the environment's (``scripts.inputs``). The admin's MFA sign-in that
    returned ``tokens`` ended moments ago: its time is tagged ``mfaSignInAt``."""
    return storage.store(tokens, app, target, endpoints, options or inputs.storage_options(),
                         signed_in=dt.datetime.now(dt.UTC))


def sign_in(app: PartnerApp, endpoints: Endpoints, ui: SignInUI, *, mode: Mode = "browser",
            port: int = 8400, timeout: float = 300.0, target: VaultTarget | None = None,
            options: StorageOptions | None = None) -> PartnerTokens:
    """``target``: where the token will go, recorded in the fallback file should Partner Center
    be down when the token arrives (the token is kept, never dropped). ``options``: where that
    file goes; None for the environment's (``scripts.inputs``)."""
    keep = storage.keeper(app, target, options or inputs.storage_options())
    if mode == "device-code":
        return _device_code_sign_in(app, endpoints, ui, timeout, keep)
    client = confidential_client(app, endpoints)
    redirect_uri = f"http://localhost:{port}"
    waiting = Waiting(tenant=app.csp_domain, mode=mode, timeout=timeout,
                      redirect_address=loopback_redirect_uri(port))
    with warnings.catch_warnings():
        # MSAL recommends response_mode=form_post for web apps. This is a native app with a
        # loopback redirect (RFC 8252 uses the query there): the code is single-use and
        # PKCE-bound, and only a query lets --paste work, since a POST cannot be pasted.
        warnings.filterwarnings("ignore", message="response_mode", category=UserWarning)
        flow = client.initiate_auth_code_flow(
            scopes=[endpoints.partner_center_scope], redirect_uri=redirect_uri, prompt=PROMPT)
    _check_flow(flow)
    waiting = replace(waiting, sign_in_url=flow["auth_uri"])
    if mode == "paste":
        ui.show_url(flow["auth_uri"])
        params = parse_pasted_url(_pasted(ui, waiting), flow["state"])
    else:
        # Listen before showing the link, so a busy port (or one another user squats on ::1)
        # fails before anyone signs in.
        listener = RedirectListener(port, flow["state"])
        try:
            ui.show_url(flow["auth_uri"])
            # The browser's command line is readable by every user (ps): it gets a one-time
            # local address that redirects to the sign-in page, never the state or challenge.
            if mode == "browser":
                opened = ui.open_browser(listener.start_address(flow["auth_uri"]))
                waiting = replace(waiting, browser_opened=opened)
        except BaseException:
            listener.close()
            raise
        try:
            _announce(ui, waiting)
            params = listener.wait(timeout, tick=ui.tick)  # closes the listener, however it ends
        finally:
            ui.done()
            if listener.ignored:
                ui.tell(f"ignored {listener.ignored} request(s) to the sign-in listener that "
                        "were not this run's redirect (forged, for another host, or never "
                        "finished): another program or a web page may have tried to end or "
                        "stall this sign-in")
    if "error" in params:
        raise to_error(params["error"], params.get("error_description"), context="sign-in")
    try:
        with identity_errors(endpoints):
            result = client.acquire_token_by_auth_code_flow(flow, params)
    except ValueError as exc:  # state or nonce mismatch, detected by MSAL
        raise SignInError("the sign-in response did not match this sign-in (state or nonce)",
                          fix="run consent again") from exc
    return check_partner_result(result, app, endpoints, tenant_of(client, app), keep=keep)


def _device_code_sign_in(app: PartnerApp, endpoints: Endpoints, ui: SignInUI,
                         timeout: float, keep: Keeper) -> PartnerTokens:
    """``--device-code``: for an admin whose browser is on another machine. Only for CPV apps
    that allow public client flows: the device code grant carries no client secret."""
    client = public_client(app, endpoints)
    with identity_errors(endpoints):
        flow = client.initiate_device_flow(scopes=[endpoints.partner_center_scope])
    if "user_code" not in flow:
        raise to_error(flow.get("error"), flow.get("error_description"),
                       flow.get("error_codes") or (), context="device code sign-in")
    # MSAL polls until the code expires; --timeout shortens that, never lengthens it.
    flow["expires_at"] = min(float(flow["expires_at"]), time.time() + timeout)
    ui.show_url(str(flow["message"]))
    waiting = Waiting(tenant=app.csp_domain, mode="device-code",
                      timeout=flow["expires_at"] - time.time(), user_code=str(flow["user_code"]),
                      verification_uri=str(flow.get("verification_uri", "")))

    def poll_on(polled: dict[str, Any]) -> bool:
        # MSAL's polling loop asks this once a second (oauth2cli obtain_token_by_device_flow's
        # exit_condition); its default is the same expiry test.
        left = float(polled["expires_at"]) - time.time()
        ui.tick(max(0.0, left))
        return left <= 0

    try:
        _announce(ui, waiting)
        with identity_errors(endpoints):
            result = client.acquire_token_by_device_flow(flow, exit_condition=poll_on)
    finally:
        ui.done()
    if result.get("error") == "authorization_pending":  # our --timeout ran out first
        raise SignInError(f"the device code sign-in did not finish within {int(timeout)} s",
                          fix="run consent again and enter the code sooner", error="timeout")
    return check_partner_result(result, app, endpoints, tenant_of(client, app), keep=keep)


def _read_command(path: Path) -> str:
    """How to show the kept token, in the admin's shell (PowerShell on Windows)."""
    if sys.platform == "win32":
        return f"(Get-Content '{path}' | ConvertFrom-Json).refresh_token"
    return f"jq -r .refresh_token {shlex.quote(str(path))}"


def _announce(ui: SignInUI, waiting: Waiting) -> None:
    """The sign-in block, or for a UI without one (the demo's) the one note that matters."""
    if ui.waiting is not None:
        ui.waiting(waiting)
    elif waiting.browser_opened is False:
        ui.tell("could not open a browser: open the link above yourself")


def _pasted(ui: SignInUI, waiting: Waiting) -> str:
    _announce(ui, waiting)
    pasted = ui.read_pasted(waiting.timeout)
    if pasted is None:
        raise SignInError(f"no address was pasted within {int(waiting.timeout)} s",
                          fix="run consent again and paste the address sooner (or pass "
                          "--timeout N)", error="timeout")
    return pasted


def _check_flow(flow: dict[str, Any]) -> None:
    if "error" in flow:
        raise to_error(flow.get("error"), flow.get("error_description"), context="sign-in")
