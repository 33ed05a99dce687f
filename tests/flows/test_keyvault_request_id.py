"""A Key Vault refusal ends with the request id the vault gave its answer (``x-ms-request-id``,
Learn "Azure Key Vault REST API: common parameters and headers"), as "(Key Vault request id
...)": what Key Vault support asks for. Only a value shaped like an id is printed: it comes from
outside (``scripts.adapters.keyvault.request_id``)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from clouddouble import CloudDouble
from foundation.errors import EXIT_SIGN_IN
from scripts.adapters import keyvault
from tests.support import PartnerWorld, seed_in_process


@pytest.fixture
def world(cloud: CloudDouble, tmp_path: Path) -> PartnerWorld:
    return seed_in_process(PartnerWorld(cloud, tmp_path / "home"))


def test_a_vault_refusal_ends_with_the_vaults_request_id(world: PartnerWorld) -> None:
    # The writer loses secrets 'get': settings reads with the writer's credential and gets 403.
    world.vault.set_access_policy(world.writer_sp, secrets=["list", "set"])
    result = world.invoke("settings")
    assert result.returncode == EXIT_SIGN_IN, result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert "no secrets 'get' permission" in line
    request_id = world.vault.last_request_id
    assert request_id and line.endswith(f"(Key Vault request id {request_id})."), line
    assert line.index(" Fix: ") < line.index("(Key Vault request id"), "the id ends the line"


@pytest.mark.parametrize(("value", "shown"), [
    ("5b4a1a3e-9f0e-4f7c-9d1e-2c3b4a5d6e7f", True),
    ("\x1b]0;owned\x07", False),  # an escape sequence
    ("not-an-id-at-all", False),
    ("0" * 200, False),  # too long to be one
    ("", False),
])
def test_only_a_request_id_shaped_like_one_is_printed(value: str, shown: bool) -> None:
    refusal = SimpleNamespace(response=SimpleNamespace(headers={"x-ms-request-id": value}))
    expected = ((keyvault.REQUEST_ID_LABEL, value),) if shown else ()
    assert keyvault.request_id(refusal) == expected  # type: ignore[arg-type]
