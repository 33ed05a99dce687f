"""``csp-secure-app demo``'s rehearsal steps: consent, store, read back, settings, on the demo
world.

Nothing leaves 127.0.0.1: ``scripts.offline.demo_world`` starts a local HTTPS double of Entra
ID, Key Vault, Partner Center and Graph and provisions it with the real ``infra`` program (steps
1-2); the steps here are the real ones, with the real code and SDKs: consent (MSAL sign-in with
MFA and a loopback redirect), store (azure-keyvault-secrets), read back as the platform would
(Key Vault client app, then redeem and call Partner Center), and print the module settings. This
module never touches the double itself: the world hands it what it needs (``Rehearsal``).
"""

from __future__ import annotations

import os
import sys
import threading
import urllib.request
import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from foundation.clouds import Endpoints
from foundation.errors import ServiceError
from scripts.flows import consent, settings, verify
from scripts.local import children
from scripts.types import KeyVaultReader, PartnerApp, Say, VaultTarget


@dataclass(frozen=True)
class DemoResult:
    settings: settings.ModuleSettings
    health: verify.HealthReport
    request_count: int


def _deliver(redirect_url: str) -> None:
    """Do what the browser does at the end of the sign-in: GET the loopback redirect."""
    parts = urlsplit(redirect_url)
    local = urlunsplit(("http", f"127.0.0.1:{parts.port}", parts.path or "/", parts.query, ""))
    with urllib.request.urlopen(local, timeout=10) as answer:  # noqa: S310 (loopback http) # nosec B310
        answer.read()


@dataclass(frozen=True)
class Rehearsal:
    """What the demo world (``scripts.offline.demo_world``) provisioned for the rehearsal: the
    partner tenant's admin, the CPV app registered for ``port``, the program's outputs, and the
    world's scripted user and request count. The steps below need no cloud double of their own."""

    endpoints: Endpoints
    domain: str
    admin_upn: str
    password: str
    app: PartnerApp
    port: int
    outputs: Mapping[str, Any]
    #: The world's scripted user: an authorize URL in, the loopback redirect URL out.
    scripted_sign_in: Callable[[str], str]
    #: The admin's current MFA code (what an authenticator app would show).
    mfa_code: Callable[[], str]
    request_count: Callable[[], int]


def rehearse(world: Rehearsal, say: Say, *, use_browser: bool = False,
             clock: consent.SignInUI | None = None) -> DemoResult:
    """Steps 3-6: consent, store, read back as the platform does, and the module settings.
    ``clock``: the terminal's countdown (its ``tick`` and ``done``) for a sign-in in a browser."""
    say(f"3/6 Consent: {world.admin_upn} signs in with MFA and consents for the CPV app.")
    ui = (_browser_ui(say, world.admin_upn, world.password, world.mfa_code, clock)
          if use_browser else played_ui(world.scripted_sign_in, say))
    app, endpoints, out = world.app, world.endpoints, world.outputs
    tokens = consent.sign_in(app, endpoints, ui, mode="browser" if use_browser
                             else "no-browser", port=world.port, timeout=300)
    say(f"    signed in: amr={','.join(tokens.claims.amr)}; Partner Center: "
        f"{tokens.profile.company_name}")

    target = VaultTarget(vault_url=str(out["vaultUri"]), secret_name=str(out["secretName"]))
    stored = consent.store(tokens, app, target, endpoints)
    say(f"4/6 Stored as version {stored.version} of {target.secret_name} in the vault at "
        f"{target.vault_url} (90-day expiry, tags: who, when, tenant, app).")

    say("5/6 Reading it back as the platform does (Key Vault client app -> secret -> redeem -> "
        "Partner Center), then looking ahead: Partner Center's MFA verdict, the consent, "
        "Conditional Access and the token's forecast day.")
    kv_client = KeyVaultReader(app_id=str(out["keyVaultClientAppId"]),
                               app_secret=str(out["keyVaultClientAppSecret"]),
                               csp_domain=str(out["keyVaultClientCspDomain"]))
    health = verify.verify(kv_client, app, target, endpoints)
    for line in health.table().splitlines():
        say(f"    {line}")
    if health.status == "broken":
        raise ServiceError("the platform could not use the stored token in the rehearsal",
                           fix="see the checks above; this is a bug in the demo")

    say("6/6 Module settings for the platform (secrets masked, as consent and settings mask "
        "them unless --show-secrets):")
    result = settings.build(csp_domain=world.domain, csp_account_id=tokens.claims.tenant_id,
                            app_id=app.app_id, app_secret=app.app_secret,
                            kv_client=kv_client, secret_id=stored.secret_id)
    return DemoResult(settings=result, health=health, request_count=world.request_count())


def played_ui(scripted_sign_in: Callable[[str], str], say: Say) -> consent.SignInUI:
    """No browser: the world's scripted user fills in the same pages a person would, and the
    redirect is delivered as a browser would."""

    def play(url: str) -> None:
        def user() -> None:
            try:
                _deliver(scripted_sign_in(url))
            except Exception as exc:  # the listener times out and reports it
                say(f"    the scripted sign-in failed: {type(exc).__name__}")

        threading.Thread(target=user, daemon=True).start()

    return consent.SignInUI(show_url=play)


def _browser_ui(say: Say, upn: str, password: str, mfa_code: Callable[[], str],
                clock: consent.SignInUI | None) -> consent.SignInUI:
    def show(url: str) -> None:
        say(f"    Sign in as {upn} / {password} (a fake demo user). Your browser will warn "
            "about the test CA: it is the local double's. Waiting up to 300 s; Ctrl-C cancels.")
        say(url)

    def tell(message: str) -> None:
        if message.startswith("could not open a browser"):
            # The demo's way out is its scripted user, not consent's other modes.
            message = ("could not open a browser: open the link above in a browser on this "
                       "machine, or press Ctrl-C and run demo --no-browser (the double's "
                       "scripted user signs in)")
        say(f"    note: {message}")

    def mfa_hint() -> None:
        say(f"    MFA code: {mfa_code()}")

    def open_browser(url: str) -> bool:
        mfa_hint()
        return children.open_browser(url)

    if clock is None:
        return consent.SignInUI(show_url=show, open_browser=open_browser, tell=tell)
    return consent.SignInUI(show_url=show, open_browser=open_browser, tell=tell,
                            tick=clock.tick, done=clock.done)


def browser_available() -> bool:
    """Open a real browser only for a person at a desktop; CI and SSH sessions get the scripted
    user, so the README's first command completes anywhere."""
    if os.environ.get("CI") or not sys.stdin.isatty():
        return False
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                 or os.environ.get("WAYLAND_DISPLAY")):
        return False
    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True
