"""`csp-secure-app verify --platform-url URL`: rotation and the identifier the platform holds
(issue 11, point 5), end to end as subprocesses against the cloud double.

The platform keeps the module setting "Key Vault URL" it was given once. Pinned to one version
(what the partner guide asks for), it reads that version forever: a weekly `rotate` stores a new
one the platform never sees. verify reads exactly that URL, with the Key Vault client app's
identity, and its own check ("platform's Key Vault URL") says whether it is the newest version:
ok, a warning (8) naming the new identifier and the versionless one, or broken (9) once the
pinned version is disabled or gone. `settings --identifier versionless` prints the identifier
that follows every rotation."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from clouddouble import CloudDouble
from tests.support import PartnerWorld, assert_no_secret, seed_in_process, written_earlier

PINNED = "platform's Key Vault URL"
READ = "vault read (as the platform)"


@pytest.fixture
def world(cloud: CloudDouble, tmp_path: Path) -> PartnerWorld:
    return seed_in_process(PartnerWorld(cloud, tmp_path / "home"))


def identifier(world: PartnerWorld, version: str | None = None) -> str:
    """The module setting "Key Vault URL" as the platform holds it (None: versionless)."""
    tail = f"/{version}" if version else ""
    return f"{world.vault.uri}secrets/{world.secret_name}{tail}?api-version=7.0"


def versions(world: PartnerWorld) -> list[str]:
    return [v.version for v in world.vault.secret_versions(world.secret_name)]


def run(world: PartnerWorld, *args: str) -> subprocess.CompletedProcess[str]:
    result = world.invoke(*args)
    stored = [v.value for v in world.vault.secret_versions(world.secret_name)]
    assert_no_secret(result.stdout + result.stderr, [*world.secrets(), *stored])
    assert "Traceback" not in result.stderr
    return result


def verify_json(world: PartnerWorld, url: str) -> tuple[int, dict[str, Any], str]:
    result = run(world, "verify", "--format", "json", "--platform-url", url)
    return result.returncode, json.loads(result.stdout), result.stderr


def check(report: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [c for c in report["checks"] if c["name"] == name]
    return found


def rotate(world: PartnerWorld, *args: str) -> dict[str, Any]:
    # Key Vault's timestamps have one-second steps, and rotate's --keep disables only versions
    # created strictly before the one it wrote: the versions so far move a second back, so this
    # one is in a later second (days apart in real life).
    written_earlier(world)
    result = run(world, "rotate", "--format", "json", *args)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_pinned_to_the_newest_version_is_ok(world: PartnerWorld) -> None:
    [newest] = versions(world)
    result = run(world, "verify", "--platform-url", identifier(world, newest))
    assert result.returncode == 0, result.stdout + result.stderr
    [line] = [ln for ln in result.stdout.splitlines() if ln.startswith(PINNED)]
    assert " OK " in line and f"pinned to version {newest}, the newest" in line
    code, report, _ = verify_json(world, identifier(world, newest))
    assert code == 0
    assert report["secret_version"] == report["newest_version"] == newest
    assert report["platform_key_vault_url"] == identifier(world, newest)
    assert check(report, PINNED)["status"] == "ok"


def test_pinned_to_an_older_version_after_a_rotate_warns_and_names_the_new_identifier(
        world: PartnerWorld) -> None:
    [old] = versions(world)
    rotated = rotate(world)
    new = rotated["version"]
    result = run(world, "verify", "--platform-url", identifier(world, old))
    assert result.returncode == 8, result.stdout + result.stderr
    [line] = [ln for ln in result.stderr.splitlines() if ln.startswith(f"warning: {PINNED}")]
    assert f"pinned to version {old}" in line and f"the newest is {new}" in line
    # The fix names exactly what rotate printed as the new module setting, and the versionless
    # identifier that would have followed the rotation by itself.
    assert (f"Fix: give the platform the new identifier `{rotated['key_vault_url']}` or switch "
            f"it to the versionless identifier `{identifier(world)}`") in line
    assert "overall: warning" in result.stdout
    code, report, _ = verify_json(world, identifier(world, old))
    assert code == 8
    # Every other check ran on the token the platform actually reads: the old version's.
    assert report["secret_version"] == old and report["newest_version"] == new
    assert check(report, PINNED)["status"] == "warning"
    assert check(report, "token redemption + MFA claim")["status"] == "ok"


def test_versionless_identifier_reads_the_newest_and_is_ok(world: PartnerWorld) -> None:
    rotate(world)
    newest = versions(world)[-1]
    code, report, stderr = verify_json(world, identifier(world))
    assert code == 0, report
    assert report["secret_version"] == report["newest_version"] == newest
    assert check(report, READ)["detail"] == f"version {newest} (versionless)"
    assert "versionless: the platform reads the newest version" in check(report, PINNED)["detail"]
    # The same URL settings prints with --identifier versionless.
    shown = run(world, "settings", "--format", "json", "--identifier", "versionless")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["key_vault_url"] == identifier(world)
    assert "error" not in stderr


def test_consent_prints_the_versionless_identifier_when_asked(world: PartnerWorld) -> None:
    """For a platform that reads the newest version: the identifier every rotation reaches."""
    done = world.consent("--format", "json", "--identifier", "versionless")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["key_vault_url"] == identifier(world)
    pinned = world.consent("--format", "json")
    assert json.loads(pinned.stdout)["key_vault_url"] == identifier(world, versions(world)[-1])


def test_a_disabled_pinned_version_is_broken_with_the_new_identifier(
        world: PartnerWorld) -> None:
    [old] = versions(world)
    new = rotate(world, "--keep", "1")["version"]  # disables every version but the newest
    result = run(world, "verify", "--platform-url", identifier(world, old))
    assert result.returncode == 9, result.stdout + result.stderr
    [line] = [ln for ln in result.stderr.splitlines() if ln.startswith(f"broken: {PINNED}")]
    assert f"pinned to version {old}, which is disabled" in line
    assert f"the new identifier `{identifier(world, new)}`" in line
    code, report, _ = verify_json(world, identifier(world, old))
    assert code == 9 and report["status"] == "broken"
    assert check(report, READ)["status"] == "broken"
    assert report["newest_version"] == new and report["secret_version"] is None


def test_a_pinned_version_the_vault_never_had_is_broken(world: PartnerWorld) -> None:
    code, report, stderr = verify_json(world, identifier(world, "0123456789abcdef" * 2))
    assert code == 9
    assert "which does not exist" in check(report, PINNED)["detail"]
    assert f"broken: {PINNED}" in stderr


def test_a_platform_reading_another_secret_is_warned(world: PartnerWorld) -> None:
    world.vault.set_secret("OtherToken", world.vault.secret_versions(world.secret_name)[0].value)
    url = f"{world.vault.uri}secrets/OtherToken?api-version=7.0"
    code, report, _ = verify_json(world, url)
    assert code == 8
    assert "no rotation reaches the platform" in check(report, PINNED)["detail"]


BAD_URLS = [
    ("http://kv-demo.vault.azure.net/secrets/T?api-version=7.0", "https"),
    ("https://example.com/secrets/T?api-version=7.0", "not a Key Vault host"),
    ("https://kv-demo.vault.azure.net/", "not a secret identifier"),
    ("https://kv-demo.vault.azure.net/keys/T?api-version=7.0", "not a secret identifier"),
    ("https://kv-demo.vault.azure.net/secrets/bad_name?api-version=7.0", "secret"),
    ("https://kv-demo.vault.azure.net/secrets/T/xyz?api-version=7.0", "32 hex digits"),
    ("https://kv-demo.vault.azure.net/secrets/T/" + "a" * 31 + "?api-version=7.0", "32 hex"),
    ("https://kv-demo.vault.azure.net/secrets/T?api-version=7.0&x=1", "query"),
    ("https://kv-demo.vault.azure.net/secrets/T?api-version=latest", "api-version"),
    ("https://user:pw@kv-demo.vault.azure.net/secrets/T?api-version=7.0", "credentials"),
    ("https://kv-demo.vault.usgovcloudapi.net/secrets/T?api-version=7.0", "another cloud"),
    ("https://k.vault.azure.net/secrets/T?api-version=7.0", "vault"),
    ("", "https"),
]


@pytest.mark.parametrize(("url", "words"), BAD_URLS)
def test_a_bad_platform_url_is_one_line_and_exit_2(cloud: CloudDouble, tmp_path: Path,
                                                   url: str, words: str) -> None:
    world = PartnerWorld(cloud, tmp_path / "home")
    result = world.invoke("verify", "--platform-url", url)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: --platform-url") and " Fix: " in line, line
    assert words in line
    assert "pw@" not in line  # credentials in a URL are not echoed


def test_an_unknown_identifier_form_is_one_line_and_exit_2(cloud: CloudDouble,
                                                           tmp_path: Path) -> None:
    world = PartnerWorld(cloud, tmp_path / "home")
    result = world.invoke("settings", "--identifier", "latest")
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert "--identifier 'latest'" in line and "versionless" in line and " Fix: " in line
