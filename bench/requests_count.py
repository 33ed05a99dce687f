"""Round trips per consent / rotate / verify, counted at the local cloud double.

Only the tool's own requests count: the pages the admin's browser loads (authorize, login, MFA,
consent) are the user's, not ours. Each flow is compared with its protocol minimum, with the CSP
tenant named by its domain and by its GUID (``FORMS``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from azure.keyvault.secrets._shared.challenge_auth_policy import ChallengeCache

from bench.world import FORMS, ROTATE_MINIMUM, VERIFY_MINIMUM, partner_world
from clouddouble import RequestRecord
from clouddouble.partnercenter_reports import ADOPTION, PRINCIPALS
from foundation.network import discovery
from scripts.flows import rotate, verify

BROWSER_STEPS = ("/oauth2/v2.0/authorize", "/login", "/mfa", "/consent")

#: The issue's protocol minimum for consent, and the same reasoning for rotate and verify. A
#: "token" is one token-endpoint call: code or refresh-token redemption, the vault's
#: client-credentials token. verify's, request by request: ``bench/world.py``'s VERIFY_MINIMUM
#: (what every check of verify must ask in the world seeded there).
MINIMUM: dict[str, Counter[str]] = {
    "consent": Counter({"openid configuration": 1, "token": 2, "Partner Center": 1,
                        "vault challenge": 1, "vault PUT": 1}),
    "rotate": ROTATE_MINIMUM,
    "verify": VERIFY_MINIMUM,
}


def classify(record: RequestRecord, vault_host: str) -> str | None:
    path = record.path
    if any(path.endswith(step) for step in BROWSER_STEPS):
        return None  # the admin's browser, not the tool
    if path.endswith("/.well-known/openid-configuration"):
        return "openid configuration"
    if record.host_port == vault_host:
        return "vault challenge" if record.status == 401 else f"vault {record.method}"
    if path.endswith("/oauth2/v2.0/token"):
        return "token"
    if path.startswith("/v1/profiles"):
        return "Partner Center"
    if path.lower().startswith((ADOPTION, PRINCIPALS)):  # the double's paths, lower-cased
        return "Partner Center report"  # verify's partner-center-mfa check
    if path.startswith("/v1.0/"):
        return "Graph"
    return f"other {record.method} {path}"


def count_requests(form: str = "guid") -> dict[str, tuple[Counter[str], Counter[str]]]:
    """Requests per flow with the CSP tenant (CPV app and Key Vault client app) named by
    ``form``: its domain or its GUID. The world is ``bench/world.py``'s, without its consent:
    consent is the first flow measured here."""
    with partner_world("bench", csp=form, consent=False) as world:
        cloud, app, target, endpoints = world.cloud, world.app, world.target, world.endpoints

        def measured(run: Callable[[], object]) -> Counter[str]:
            # Each task runs in a fresh process in real use: forget the vault challenge the SDK
            # caches per process, so every flow pays for it as it would.
            ChallengeCache.clear()
            discovery.clear()
            cloud.clear_requests()
            run()
            return Counter(n for n in (classify(r, world.vault_host) for r in cloud.requests)
                           if n)

        results = {
            "consent": measured(world.consent),
            "rotate": measured(lambda: rotate.rotate(app, target, endpoints)),
            "verify": measured(lambda: verify.verify(world.kv_client, app, target, endpoints)),
        }
        return {flow: (counted, MINIMUM[flow]) for flow, counted in results.items()}


if __name__ == "__main__":
    for csp_form in FORMS:
        for name, (got, minimum) in count_requests(csp_form).items():
            print(f"{name} ({csp_form})", dict(got), "minimum", sum(minimum.values()))
