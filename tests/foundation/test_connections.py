"""One TLS connection per host per task (issue 12): MSAL, azure-identity's credentials, the Key
Vault client and our own REST calls share one connection pool and one trust store
(``foundation.network.http``), so a user's rotate or verify costs one handshake per service, not
one per client. Counted at the cloud double, which counts every connection it accepts
(``RequestLog.connections``): a count, never a timing."""

from __future__ import annotations

from pathlib import Path

import pytest

from clouddouble import CloudDouble
from tests.support import PartnerWorld, grant_graph_roles, seed_in_process


@pytest.fixture
def world(cloud: CloudDouble, tmp_path: Path) -> PartnerWorld:
    return seed_in_process(PartnerWorld(cloud, tmp_path / "home"))


def connections(world: PartnerWorld) -> dict[str, int]:
    """Connections accepted per listener (``host:port``) since the log was last cleared."""
    return world.cloud.connections()


def hosts(cloud: CloudDouble, world: PartnerWorld, *services: str) -> set[str]:
    origins = {"identity": cloud.authority_host, "partnercenter": cloud.partner_center_endpoint,
               "graph": cloud.graph_endpoint, "vault": world.vault.uri}
    return {origins[s].split("//", 1)[1].rstrip("/") for s in services}


def test_rotate_makes_one_connection_per_host(cloud: CloudDouble, world: PartnerWorld) -> None:
    cloud.clear_requests()
    result = world.invoke("rotate")
    assert result.returncode == 0, result.stderr
    # Discovery and two token calls (MSAL's redemption, the vault credential's), the vault's
    # challenge, GET and PUT, Partner Center's profile: three hosts, one handshake each.
    assert connections(world) == dict.fromkeys(
        hosts(cloud, world, "identity", "vault", "partnercenter"), 1)


def test_verify_makes_one_connection_per_host(cloud: CloudDouble, world: PartnerWorld) -> None:
    grant_graph_roles(cloud, world.tenant.id, world.writer_app.app_id, "Application.Read.All")
    cloud.clear_requests()
    result = world.invoke("verify")
    assert result.returncode == 0, result.stdout + result.stderr
    # Three token calls (the platform's credential, MSAL's redemption, the Graph token), the
    # vault read, Partner Center and Graph: four hosts, one handshake each.
    assert connections(world) == dict.fromkeys(
        hosts(cloud, world, "identity", "vault", "partnercenter", "graph"), 1)
