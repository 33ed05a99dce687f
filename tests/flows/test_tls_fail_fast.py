"""An untrusted certificate stops every client at once (issue 12): with a CA bundle that did not
sign the double's certificate (what a machine behind a TLS-inspecting proxy sees without the
proxy's CA), rotate, verify and settings end with the one TLS line and its exit code (5, a
service problem to fix on this machine) after exactly one connection attempt to each host they
reached: MSAL, azure-identity's credentials and the Key Vault client alike, azure-core's retries
and their back-off included (``foundation.network.http``, ``discovery.azure_transport``).

Counted at the double, which counts every connection it accepts, handshake or not: a count,
never a timing."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

from clouddouble import CloudDouble
from foundation.errors import EXIT_SERVICE
from tests.support import PartnerWorld, assert_no_secret, grant_graph_roles, seed_in_process

TLS_LINE = "presented a certificate this machine does not trust"


@pytest.fixture
def world(cloud: CloudDouble, tmp_path: Path) -> PartnerWorld:
    world = seed_in_process(PartnerWorld(cloud, tmp_path / "home"))
    grant_graph_roles(cloud, world.tenant.id, world.writer_app.app_id, "Application.Read.All")
    return world


@pytest.fixture
def other_ca(tmp_path: Path) -> str:
    """A CA bundle holding only a CA that signed nothing the double presents."""
    path = tmp_path / "other-ca.pem"
    trustme.CA(organization_name="not the double's CA").cert_pem.write_to_path(str(path))
    return str(path)


def host(url: str) -> str:
    return url.split("//", 1)[1].rstrip("/")


@pytest.mark.parametrize(("task", "reached"), [
    # MSAL's discovery comes first and fails: nothing else is tried.
    ("rotate", ("identity",)),
    # Each check runs: the CPV app's client fails on the identity platform, the platform's read
    # on the vault's challenge, and the Graph token on the identity platform again, which this
    # process already knows to be untrusted: no second attempt there.
    ("verify", ("identity", "vault")),
    # The vault's challenge (the first request of the Key Vault client) fails.
    ("settings", ("vault",)),
])
def test_an_untrusted_certificate_ends_the_task_after_one_attempt_per_host(
        cloud: CloudDouble, world: PartnerWorld, other_ca: str, task: str,
        reached: tuple[str, ...]) -> None:
    before = [(v.version, v.enabled) for v in world.vault.secret_versions(world.secret_name)]
    cloud.clear_requests()
    result = world.invoke(task, env=world.env(REQUESTS_CA_BUNDLE=other_ca, SSL_CERT_FILE=other_ca))
    assert result.returncode == EXIT_SERVICE, result.stderr
    assert TLS_LINE in result.stderr and "REQUESTS_CA_BUNDLE" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert_no_secret(result.stdout + result.stderr, world.secrets())
    origins = {"identity": cloud.authority_host, "vault": world.vault.uri}
    # Not one attempt per retry: one per host, then every client is told at once.
    assert cloud.connections() == {host(origins[r]): 1 for r in reached}
    assert cloud.requests == [], "no request was sent over an untrusted connection"
    assert [(v.version, v.enabled)
            for v in world.vault.secret_versions(world.secret_name)] == before
