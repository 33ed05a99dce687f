"""Token checks (issue 10, point 7): a token endpoint that issues a token for another app, for
another API, or an id_token that is stale, foreign or not this sign-in's. The double is made to
issue exactly that (``TokenIssuer.forge``, for this test's CPV app only); consent must end with
exit 3 and one line, and store nothing (no vault version, no fallback file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from clouddouble import CloudDouble
from tests.support import PartnerWorld

OTHER_APP = "0b1c2d3e-4f50-4617-8899-aabbccddeeff"
OTHER_TENANT = "11111111-2222-4333-8444-555555555555"


@pytest.fixture
def world(cloud: CloudDouble, tmp_path: Path) -> PartnerWorld:
    return PartnerWorld(cloud, tmp_path / "home")


def consent_refused(world: PartnerWorld, *cause: str) -> None:
    before = world.vault.secret_versions(world.secret_name)
    result = world.consent()
    assert result.returncode == 3, result.stdout + result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, result.stderr
    [line] = error_lines
    assert all(c in line for c in cause) and "Fix:" in line, line
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert world.vault.secret_versions(world.secret_name) == before, "nothing may be stored"
    pending = world.home / "pending"
    assert not (pending.exists() and any(pending.iterdir())), "no fallback file either"


def forge(world: PartnerWorld, kind: str, **claims: Any) -> None:
    world.cloud.issuer.forge(world.cpv.app_id, kind, **claims)


def test_access_token_issued_to_another_app_is_refused(world: PartnerWorld) -> None:
    forge(world, "access", appid=OTHER_APP, azp=OTHER_APP)
    consent_refused(world, OTHER_APP, world.cpv.app_id)


def test_access_token_for_another_api_is_refused(world: PartnerWorld) -> None:
    forge(world, "access", aud="https://graph.microsoft.com")
    consent_refused(world, "https://graph.microsoft.com", "not Partner Center")


def test_id_token_for_another_app_is_refused(world: PartnerWorld) -> None:
    forge(world, "id", aud=OTHER_APP)
    consent_refused(world, "id_token", OTHER_APP)


def test_id_token_from_another_issuer_is_refused(world: PartnerWorld) -> None:
    foreign = f"{world.cloud.authority_host}/{OTHER_TENANT}/v2.0"
    forge(world, "id", iss=foreign)
    consent_refused(world, "id_token", "issuer")


def test_stale_id_token_is_refused(world: PartnerWorld) -> None:
    forge(world, "id", exp=1_000_000_000)
    consent_refused(world, "id_token has expired")


def test_id_token_with_another_nonce_is_exit_3_not_a_bug(world: PartnerWorld) -> None:
    forge(world, "id", nonce="the-nonce-of-another-sign-in")
    consent_refused(world, "nonce")


def test_the_true_tokens_still_pass(world: PartnerWorld) -> None:
    """The checks accept what the identity platform really issues (and the forgery hook is
    scoped to one app: this world's tokens are untouched)."""
    result = world.consent()
    assert result.returncode == 0, result.stderr
    assert len(world.vault.secret_versions(world.secret_name)) == 1
