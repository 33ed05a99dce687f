"""The HTML pages of the sign-in experience: plain forms, no JavaScript, stable element ids.

Ids are a contract with browser tests and ``browser.py``: ``#username``, ``#password``, ``#otp``,
``#otc`` (device code), ``#consent-org``, ``#accept``, ``#cancel``, ``#next`` (submit), and on
error pages or error banners ``#error-code`` (``AADSTSnnnn``) and ``#error-message``. A finished
device sign-in shows ``#done``.
"""

from __future__ import annotations

from html import escape


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<style>body{font-family:sans-serif;max-width:28rem;margin:3rem auto}"
        "label,input,button{display:block;margin:.4rem 0}"
        "#error{color:#a00}</style></head>\n"
        f"<body><main>\n{body}\n</main></body></html>\n"
    )


def _banner(error: tuple[int, str] | None) -> str:
    if not error:
        return ""
    code, message = error
    return (
        f'<div id="error" role="alert"><span id="error-code">AADSTS{code}</span>: '
        f'<span id="error-message">{escape(message)}</span></div>'
    )


def _hidden(flow_token: str) -> str:
    return f'<input type="hidden" name="flowToken" value="{escape(flow_token)}">'


def sign_in_page(
    action: str,
    flow_token: str,
    app_name: str,
    login_hint: str = "",
    error: tuple[int, str] | None = None,
) -> str:
    return _page(
        "Sign in to your account",
        f"<h1>Sign in</h1><p>to continue to {escape(app_name)}</p>{_banner(error)}"
        f'<form id="login" method="post" action="{escape(action)}">{_hidden(flow_token)}'
        '<label for="username">Email, phone, or Skype</label>'
        f'<input id="username" name="username" type="email" value="{escape(login_hint)}" '
        'autocomplete="username" required>'
        '<label for="password">Password</label>'
        '<input id="password" name="password" type="password" '
        'autocomplete="current-password" required>'
        '<button id="next" type="submit">Sign in</button></form>',
    )


def mfa_page(action: str, flow_token: str, upn: str, error: tuple[int, str] | None = None) -> str:
    return _page(
        "Verify your identity",
        f"<h1>Enter code</h1><p>{escape(upn)}</p>"
        "<p>Enter the code displayed in the authenticator app on your mobile device.</p>"
        f"{_banner(error)}"
        f'<form id="mfa" method="post" action="{escape(action)}">{_hidden(flow_token)}'
        '<label for="otp">Code</label>'
        '<input id="otp" name="otp" inputmode="numeric" autocomplete="one-time-code" '
        "required>"
        '<button id="next" type="submit">Verify</button></form>',
    )


def consent_page(
    action: str,
    flow_token: str,
    app_name: str,
    upn: str,
    permissions: list[tuple[str, str]],
    offer_org_consent: bool,
) -> str:
    items = "".join(
        f'<li class="permission" data-scope="{escape(name)}">{escape(text)} '
        f"<code>{escape(name)}</code></li>"
        for name, text in permissions
    )
    org = ""
    if offer_org_consent:
        org = (
            '<label><input id="consent-org" name="consentOrg" type="checkbox" value="1">'
            " Consent on behalf of your organization</label>"
        )
    return _page(
        "Permissions requested",
        f"<h1>Permissions requested</h1><p>{escape(app_name)} (unverified)</p>"
        f'<p>{escape(upn)}</p><p>This app would like to:</p><ul id="permissions">{items}</ul>'
        f'<form id="consent" method="post" action="{escape(action)}">{_hidden(flow_token)}'
        f"{org}"
        '<button id="accept" name="action" value="accept" type="submit">Accept</button>'
        '<button id="cancel" name="action" value="cancel" type="submit">Cancel</button>'
        "</form>",
    )


def form_post_page(action: str, fields: dict[str, str]) -> str:
    """``response_mode=form_post``: the script submits at once; without JavaScript, ``#next``."""
    hidden = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items()
    )
    return _page(
        "Working...",
        f'<form id="form_post" method="post" action="{escape(action)}">{hidden}'
        '<noscript><button id="next" type="submit">Continue</button></noscript></form>'
        "<script>document.forms[0].submit();</script>",
    )


def error_page(code: int, message: str) -> str:
    return _page(
        "Sign in error",
        "<h1>Sorry, but we're having trouble signing you in.</h1>" + _banner((code, message)),
    )


def device_code_page(action: str, error: tuple[int, str] | None = None) -> str:
    return _page(
        "Enter code",
        "<h1>Enter code</h1><p>Enter the code displayed on your app or device.</p>"
        f"{_banner(error)}"
        f'<form id="device" method="post" action="{escape(action)}">'
        '<label for="otc">Code</label><input id="otc" name="otc" required>'
        '<button id="next" type="submit">Next</button></form>',
    )


def device_done_page(app_name: str, approved: bool) -> str:
    text = (
        f"You have signed in to the {app_name} application on your device. "
        "You may now close this window."
        if approved
        else f"You have declined to sign in to {app_name} on your device."
    )
    return _page(
        "Signed in", f'<h1 id="done" data-approved="{str(approved).lower()}">{escape(text)}</h1>'
    )
