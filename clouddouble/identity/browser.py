"""A programmatic user: follows the double's sign-in pages over HTTPS like a browser without
JavaScript would, filling the forms by their element ids.

Used by tests and by ``invoke demo`` on machines without a browser ("plays the user"). It stops at
the first redirect that leaves the identity host and returns that URL without calling it, so the
caller decides whether to feed it to a local redirect listener or parse it directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

import requests


class PageError(Exception):
    """The sign-in showed an error (``code`` is the AADSTS number) instead of the next step."""

    def __init__(self, code: int, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"AADSTS{code}: {message}")


@dataclass
class _Form:
    action: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    checkboxes: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (name, value)
    buttons: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (name, value)
    input_names: dict[str, str] = field(default_factory=dict)  # id -> name


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.form: _Form | None = None
        self.ids: set[str] = set()
        self._capture: str | None = None
        self.texts: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.add(a["id"])
            if a["id"] in ("error-code", "error-message"):
                self._capture = a["id"]
        if tag == "form":
            self.form = _Form(action=a.get("action", ""))
        elif tag == "input" and self.form is not None:
            name, kind = a.get("name", ""), a.get("type", "text")
            if kind == "checkbox":
                self.form.checkboxes[a.get("id", name)] = (name, a.get("value", "on"))
            elif name:
                self.form.fields[name] = a.get("value", "")
                if "id" in a:
                    self.form.input_names[a["id"]] = name
        elif tag == "button" and self.form is not None:
            self.form.buttons[a.get("id", "")] = (a.get("name", ""), a.get("value", ""))

    def handle_data(self, data: str) -> None:
        if self._capture:
            self.texts[self._capture] = self.texts.get(self._capture, "") + data

    def handle_endtag(self, tag: str) -> None:
        if tag == "span":
            self._capture = None


class SignInBot:
    def __init__(
        self, ca_pem_path: str, identity_origin: str, mfa_code_for: Callable[[str], str]
    ) -> None:
        self.ca_pem_path = ca_pem_path
        self.identity_origin = identity_origin.rstrip("/")
        self.mfa_code_for = mfa_code_for

    def sign_in(
        self,
        authorize_url: str,
        upn: str,
        password: str,
        mfa_code: str | None = None,
        consent: bool = True,
        consent_org: bool = True,
    ) -> str:
        """Returns the final redirect URL (``...?code=...&state=...`` or ``...?error=...``)."""
        with requests.Session() as session:
            session.verify = self.ca_pem_path
            session.trust_env = False  # a machine-wide REQUESTS_CA_BUNDLE would override verify
            response = session.get(authorize_url, allow_redirects=False, timeout=30)
            result = self._drive(session, response, upn, password, mfa_code, consent, consent_org)
        if result is None:
            raise PageError(0, "the sign-in ended on a page without a redirect")
        return result

    def sign_in_device(
        self,
        user_code: str,
        upn: str,
        password: str,
        mfa_code: str | None = None,
        consent: bool = True,
        consent_org: bool = True,
    ) -> bool:
        """Completes a device-code sign-in; True when approved, False when consent was refused."""
        with requests.Session() as session:
            session.verify = self.ca_pem_path
            session.trust_env = False  # a machine-wide REQUESTS_CA_BUNDLE would override verify
            url = f"{self.identity_origin}/devicelogin"
            session.get(url, timeout=30).raise_for_status()
            response = session.post(url, data={"otc": user_code}, allow_redirects=False, timeout=30)
            self._drive(session, response, upn, password, mfa_code, consent, consent_org)
            return self._approved

    def _drive(
        self,
        session: requests.Session,
        response: requests.Response,
        upn: str,
        password: str,
        mfa_code: str | None,
        consent: bool,
        consent_org: bool,
    ) -> str | None:
        self._approved = False
        for _ in range(12):
            if response.status_code in (301, 302, 303, 307, 308):
                location = urljoin(response.url, response.headers["Location"])
                origin = "{0.scheme}://{0.netloc}".format(urlsplit(location))
                if origin != self.identity_origin:
                    return location
                response = session.get(location, allow_redirects=False, timeout=30)
                continue
            parser = _PageParser()
            parser.feed(response.text)
            if "error-code" in parser.ids:
                code_text = parser.texts.get("error-code", "AADSTS0").strip()
                raise PageError(
                    int(code_text.removeprefix("AADSTS") or 0),
                    parser.texts.get("error-message", "").strip(),
                )
            if "form_post" in parser.ids and parser.form is not None:
                # The app would receive these fields as a POST; hand them back as a query so
                # callers parse every response mode the same way.
                fields = {k: v for k, v in parser.form.fields.items()}
                return f"{parser.form.action}?{urlencode(fields)}"
            if "done" in parser.ids:
                self._approved = 'data-approved="true"' in response.text
                return None
            form = parser.form
            if form is None:
                raise PageError(0, f"unexpected page (HTTP {response.status_code})")
            data = dict(form.fields)
            if "username" in parser.ids:
                data[form.input_names["username"]] = upn
                data[form.input_names["password"]] = password
            elif "otp" in parser.ids:
                code = self.mfa_code_for(upn) if mfa_code in (None, "auto") else mfa_code
                data[form.input_names["otp"]] = code or ""
            elif "accept" in parser.ids:
                org = form.checkboxes.get("consent-org")
                if org and consent and consent_org:
                    data[org[0]] = org[1]
                name, value = form.buttons["accept" if consent else "cancel"]
                data[name] = value
            target = urljoin(response.url, form.action)
            response = session.post(target, data=data, allow_redirects=False, timeout=30)
        raise PageError(0, "too many sign-in steps")
