"""No extra round trips: a consent run makes the protocol's minimum of requests (bench/ prints
the figures; this guards the two fixes that got it there: one discovery document per process
shared by MSAL and azure-identity, and no second vault credential)."""

from __future__ import annotations

from collections import Counter

from tests.partner_world import PartnerWorld

BROWSER_PAGES = ("/oauth2/v2.0/authorize", "/login", "/mfa", "/consent")


def test_consent_makes_the_protocol_minimum_of_requests(cloud, tmp_path):
    world = PartnerWorld(cloud, tmp_path / "home")
    cloud.clear_requests()
    result = world.consent()
    assert result.returncode == 0, result.stderr
    ours = [r for r in cloud.requests if not r.path.endswith(BROWSER_PAGES)]
    kinds = Counter(
        "discovery" if r.path.endswith("/.well-known/openid-configuration")
        else "token" if r.path.endswith("/oauth2/v2.0/token")
        else "partner center" if r.path.startswith("/v1/profiles")
        else f"vault {r.status if r.status == 401 else r.method}"
        for r in ours)
    assert kinds == Counter({"discovery": 1, "token": 2, "partner center": 1, "vault 401": 1,
                             "vault PUT": 1})
