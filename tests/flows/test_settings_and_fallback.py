"""Module settings: rendering, `csp-secure-app settings` on a secret that holds no token yet
(Pulumi's placeholder) or a version without consent's tags; and the owner-only fallback file."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from clouddouble import CloudDouble
from foundation.errors import ConfigError
from foundation.wellknown import TOKEN_CONTENT_TYPE
from infra.token_vault import PLACEHOLDER_VALUE
from scripts.flows import settings
from scripts.inputs import pending_home
from scripts.local import pending as fallback
from scripts.types import KeyVaultReader
from tests.support import PartnerWorld, seed_in_process

KV = KeyVaultReader(app_id="11111111-2222-3333-4444-555555555555", app_secret="kv-secret-XYZ",
                    csp_domain="contoso.onmicrosoft.com")
SECRET_ID = "https://kv-demo.vault.azure.net/secrets/PartnerCenterRefreshToken/" + "a" * 32


def keyvault_settings():
    return settings.build(csp_domain="contoso.onmicrosoft.com", csp_account_id="tid",
                          app_id="cpv", app_secret="cpv-secret-ABC", kv_client=KV,
                          secret_id=SECRET_ID)


def test_json_has_the_nine_settings_in_the_platform_order_with_secrets_masked():
    data = json.loads(settings.render(keyvault_settings(), "json", show_secrets=False))
    assert list(data) == ["csp_domain", "csp_account_id", "app_id", "app_secret", "mfa_method",
                          "key_vault_client_app_id", "key_vault_client_app_secret",
                          "key_vault_client_csp_domain", "key_vault_url"]
    assert data["app_secret"] == data["key_vault_client_app_secret"] == "***"
    assert data["key_vault_url"] == SECRET_ID + "?api-version=7.0"


@pytest.mark.parametrize("fmt", ["table", "json", "env"])
def test_no_format_shows_a_secret_unless_asked(fmt):
    masked = settings.render(keyvault_settings(), fmt, show_secrets=False)
    shown = settings.render(keyvault_settings(), fmt, show_secrets=True)
    assert "cpv-secret-ABC" not in masked and "kv-secret-XYZ" not in masked
    assert "cpv-secret-ABC" in shown and "kv-secret-XYZ" in shown


def test_manual_settings_carry_the_token():
    manual = settings.build(csp_domain="c.onmicrosoft.com", csp_account_id="t", app_id="a",
                            app_secret="s", refresh_token="rt-123")
    data = json.loads(settings.render(manual, "json", show_secrets=True))
    assert data["mfa_method"] == "Manually" and data["refresh_token"] == "rt-123"


def test_versionless_identifier_drops_only_the_version():
    data = json.loads(settings.render(keyvault_settings(), "json", show_secrets=False,
                                      identifier="versionless"))
    assert data["key_vault_url"] == (
        "https://kv-demo.vault.azure.net/secrets/PartnerCenterRefreshToken?api-version=7.0")
    with pytest.raises(ConfigError, match="--identifier"):
        settings.render(keyvault_settings(), "json", show_secrets=False, identifier="latest")


def test_env_names_are_the_settings_keys_prefixed_module():
    rendered = settings.render(keyvault_settings(), "env", show_secrets=False)
    names = [line.split("=", 1)[0] for line in rendered.splitlines()]
    assert names == [f"MODULE_{key.upper()}" for key in
                     json.loads(settings.render(keyvault_settings(), "json", show_secrets=False))]


def test_unknown_format_is_refused():
    with pytest.raises(ConfigError, match="yaml"):
        settings.render(keyvault_settings(), "yaml", show_secrets=False)


def pending() -> fallback.PendingToken:
    return fallback.PendingToken(refresh_token="rt-secret", tenant_id="t", app_id="a",
                                 vault_url="https://kv.vault.azure.net/", secret_name="s",
                                 user="u", obtained_at="now")


def test_fallback_file_is_owner_only_and_round_trips(tmp_path, monkeypatch):
    monkeypatch.setenv("SECURE_APP_HOME", str(tmp_path / "home"))
    path = fallback.keep(pending(), pending_home())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert fallback.load(path).refresh_token == "rt-secret"
    assert "rt-secret" not in repr(fallback.load(path))


def test_fallback_file_others_could_read_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("SECURE_APP_HOME", str(tmp_path / "home"))
    path = fallback.keep(pending(), pending_home())
    os.chmod(path, 0o640)
    with pytest.raises(ConfigError, match="exposed"):
        fallback.load(path)


def test_not_a_fallback_file_is_refused(tmp_path):
    junk = tmp_path / "junk.json"
    junk.write_text("[1, 2]")
    os.chmod(junk, 0o600)
    with pytest.raises(ConfigError, match="not a fallback file"):
        fallback.load(junk)


def test_the_keeper_prepares_the_folder_before_the_sign_in_and_refuses_an_unsafe_one(tmp_path):
    """``storage.keeper`` is the sign-in's first call: the folder is checked then, not when a
    token is already waiting for it (issue 10, point 4)."""
    from scripts import storage
    from scripts.types import PartnerApp, StorageOptions

    app = PartnerApp(csp_domain="c.onmicrosoft.com", app_id="a", app_secret="s")
    storage.keeper(app, None, StorageOptions(pending_home=tmp_path / "ok", rbac_wait=0))
    assert stat.S_IMODE((tmp_path / "ok" / "pending").stat().st_mode) == 0o700
    (tmp_path / "planted").mkdir()
    (tmp_path / "planted" / "pending").symlink_to(tmp_path)
    with pytest.raises(ConfigError, match="symbolic link"):
        storage.keeper(app, None, StorageOptions(pending_home=tmp_path / "planted", rbac_wait=0))


# -- `csp-secure-app settings` against the vault: no token yet, no tags ----------------------

@pytest.mark.parametrize("value", [
    PLACEHOLDER_VALUE,
    "placeholder: run `invoke consent` to store the token",  # an older program's wording
    "Placeholder: consent not run yet",
    "  placeholder:",
    "",
], ids=["pulumi-today", "older-wording", "capitalised", "bare", "empty"])
def test_settings_on_the_placeholder_is_no_token_yet_exit_3(cloud: CloudDouble, tmp_path: Path,
                                                            value: str) -> None:
    """What `pulumi up` stores before any consent (infra/token_vault.py): its content type is
    the token's, its tags the stack's; settings must not hand its identifier to the platform."""
    world = PartnerWorld(cloud, tmp_path / "home")
    world.vault.set_secret(world.secret_name, value, content_type=TOKEN_CONTENT_TYPE,
                           tags={"purpose": "partner-center-secure-app-model"})
    for task in ("settings", "rotate"):  # rotate would otherwise redeem pulumi's sentence
        result = world.invoke(task)
        assert result.returncode == 3, result.stdout + result.stderr
        assert result.stdout == ""
        [line] = result.stderr.splitlines()
        assert line.startswith("error: no token stored yet")
        assert "Fix: run `csp-secure-app consent`" in line
    assert not [r for r in cloud.requests if r.path.endswith("/oauth2/v2.0/token")
                and r.method == "POST" and r.status == 400], "nothing was redeemed"


def test_a_refresh_token_is_never_taken_for_the_placeholder() -> None:
    assert settings.is_placeholder(PLACEHOLDER_VALUE)
    assert not settings.is_placeholder("1.AXkAplaceholder-looking-but-a-token.Ab_c-d")
    assert not settings.is_placeholder("0.AAAA" + "x" * 900)


def test_account_id_is_the_tenant_guid_even_without_consents_tag(cloud: CloudDouble,
                                                                 tmp_path: Path) -> None:
    """A version stored without consent's tags (pasted in the portal, as the partner guide
    does it) used to give the domain as "CSP MS ID / Account ID"."""
    world = seed_in_process(PartnerWorld(cloud, tmp_path / "home"))
    [consented] = world.vault.secret_versions(world.secret_name)
    world.vault.set_secret(world.secret_name, consented.value, content_type=TOKEN_CONTENT_TYPE)
    result = world.invoke("settings", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["csp_account_id"] == world.tenant.id != data["csp_domain"] == world.domain
