"""The smallest valid stack config, spelled once for every infra test.

Each test module starts from ``BASE`` and adds only the keys it is about, so what a test sets is
what it tests, and a new required key is added here rather than in every module.
"""

from __future__ import annotations

from datetime import date

#: The day the tests run on: ``BASE``'s rotation date is before it, as the rules require.
TODAY = date(2026, 11, 29)
#: The four required keys (``infra.config.REQUIRED_KEYS``), each with a valid value.
BASE = {
    "location": "westeurope",
    "vaultName": "kv-csp-token",
    "cspDomain": "contoso.onmicrosoft.com",
    "clientSecretRotation": "2026-11-01",
}
#: Distinct, valid ids for the tenant and a writer, so a mix-up between them cannot pass.
TENANT = "11111111-2222-4333-8444-555555555555"
WRITER = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
