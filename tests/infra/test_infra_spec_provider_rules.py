"""The rules the providers enforce before any call reaches Azure, over the real program in every
scenario: redirect URIs as terraform-provider-azuread's ``internal/helpers/tf/validation/uri.go``
checks them, and ApplicationPassword end dates (RFC 3339, in the future)."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest

from foundation import wellknown
from scripts.policy import rules as t
from tests.infra.base_config import TODAY
from tests.infra.spec_scenarios import SCENARIOS, run_scenario

#: Schemes terraform-provider-azuread's IsRedirectUriFunc allows when not every scheme is.
REDIRECT_SCHEMES = ("http", "https", "ms-appx-web", "brk-multihub")


def redirect_uri_problem(uri: str, urn_allowed: bool = False) -> str | None:
    """terraform-provider-azuread ``validation.IsRedirectUriFunc`` (IsUriFunc with
    allowTrailingSlash and forceTrailingSlash), the check behind pulumi-azuread."""
    if not uri:
        return "URI must not be empty"
    if urn_allowed and len(uri.split(":")) >= 3 and uri.startswith("urn:"):
        return None
    parts = urlsplit(uri)
    if not parts.hostname:
        return "URI has no host"
    if parts.path == "":
        return "URI must have a trailing slash when there is no path segment"
    if parts.scheme not in REDIRECT_SCHEMES:
        return f"unexpected URI scheme, expected one of: {', '.join(REDIRECT_SCHEMES)}"
    if len(uri) > 256:
        return "URI must be 256 characters or less"
    return None


def test_the_redirect_rule_is_the_providers() -> None:
    assert redirect_uri_problem("http://localhost:8400") == (
        "URI must have a trailing slash when there is no path segment"
    )
    assert redirect_uri_problem("http://localhost:8400/") is None
    assert redirect_uri_problem("https://app.contoso.com/callback") is None
    assert redirect_uri_problem("ftp://x/") is not None
    assert redirect_uri_problem("https://x/" + "a" * 250) is not None


@pytest.mark.parametrize(("mode", "option"), SCENARIOS)
def test_every_registered_redirect_uri_passes_the_provider_rule(mode: str, option: str) -> None:
    result = run_scenario(mode, option)
    for app in result.find(t.APPLICATION):
        for section in ("web", "publicClient", "singlePageApplication"):
            for uri in (app.inputs.get(section) or {}).get("redirectUris") or []:
                assert redirect_uri_problem(uri) is None, (app.name, uri)


def test_the_demo_registers_a_redirect_uri_the_provider_accepts() -> None:
    uri = wellknown.loopback_redirect_uri(8400)
    assert redirect_uri_problem(uri) is None


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@pytest.mark.parametrize(("mode", "option"), SCENARIOS)
def test_password_end_dates_are_rfc3339_and_in_the_future(mode: str, option: str) -> None:
    """The azuread provider validates end_date as RFC 3339 (validation.IsRFC3339Time); Entra
    refuses a credential that has already ended."""
    passwords = run_scenario(mode, option).find(t.APPLICATION_PASSWORD)
    assert passwords
    for password in passwords:
        end = str(password.inputs["endDate"])
        assert _RFC3339.match(end), end
        assert dt.datetime.fromisoformat(end.replace("Z", "+00:00")).date() > TODAY
