"""National-cloud endpoints: presets, overrides that win, and the Key Vault URL rules."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from foundation.clouds import (
    KNOWN_VAULT_SUFFIXES,
    PRESETS,
    Endpoints,
    is_loopback_host,
    resolve_endpoints,
    validate_vault_url,
    vault_url_for,
)
from foundation.errors import ConfigError, InvalidConfig

PUBLIC = resolve_endpoints("public", {})


@pytest.mark.parametrize(
    ("cloud", "login", "partner_center", "vault", "graph"),
    [
        (
            "public",
            "https://login.microsoftonline.com",
            "https://api.partnercenter.microsoft.com",
            "vault.azure.net",
            "https://graph.microsoft.com",
        ),
        (
            "usgov",
            "https://login.microsoftonline.us",
            "https://api.partnercenter.microsoft.com",
            "vault.usgovcloudapi.net",
            "https://graph.microsoft.us",
        ),
        (
            "china",
            "https://login.partner.microsoftonline.cn",
            "https://partner.partnercenterapi.microsoftonline.cn",
            "vault.azure.cn",
            "https://microsoftgraph.chinacloudapi.cn",
        ),
    ],
)
def test_each_preset_resolves_to_its_clouds_hosts(
    cloud: str, login: str, partner_center: str, vault: str, graph: str
) -> None:
    e = resolve_endpoints(cloud, {})
    assert e == Endpoints(
        cloud=cloud,
        authority_host=login,
        partner_center=partner_center,
        partner_center_scope=f"{partner_center}/user_impersonation",
        vault_suffix=vault,
        vault_resource=f"https://{vault}",
        graph=graph,
        graph_scope=f"{graph}/.default",
        instance_discovery=True,
    )


def test_china_signs_in_at_the_host_msal_does_not_mark_deprecated() -> None:
    """Learn "National clouds" lists https://login.partner.microsoftonline.cn for China; MSAL
    Python keeps login.chinacloudapi.cn only as DEPRECATED_AZURE_CHINA."""
    from msal import authority

    host = urlsplit(resolve_endpoints("china", {}).authority_host).hostname
    assert host == "login.partner.microsoftonline.cn"
    assert host in authority.WELL_KNOWN_AUTHORITY_HOSTS
    assert host != authority.DEPRECATED_AZURE_CHINA


def test_the_deprecated_china_alias_is_still_accepted_as_an_override() -> None:
    e = resolve_endpoints("china", {"AZURE_AUTHORITY_HOST": "https://login.chinacloudapi.cn"})
    assert e.authority_host == "https://login.chinacloudapi.cn"
    assert e.instance_discovery  # still a Microsoft host: MSAL may validate it as usual


def test_default_is_the_public_cloud() -> None:
    assert resolve_endpoints(None, {}) == PRESETS["public"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("usgov", "usgov"), ("AzureUSGovernment", "usgov"), ("AzureChinaCloud", "china"),
     (" China ", "china"), ("AzureCloud", "public"), ("", "public")],
)  # fmt: skip
def test_cloud_comes_from_csp_cloud_with_azure_cli_aliases(value: str, expected: str) -> None:
    assert resolve_endpoints(None, {"CSP_CLOUD": value}).cloud == expected


def test_the_argument_beats_the_environment() -> None:
    assert resolve_endpoints("china", {"CSP_CLOUD": "usgov"}).cloud == "china"


def test_unknown_cloud_is_one_line_listing_the_valid_names() -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_endpoints(None, {"CSP_CLOUD": "germany"})
    (line,) = caught.value.lines()
    assert "CSP_CLOUD='germany'" in line
    for name in ("public", "usgov", "china"):
        assert name in line


def test_overrides_win_over_the_preset_and_make_the_cloud_custom() -> None:
    e = resolve_endpoints(
        "usgov",
        {
            "AZURE_AUTHORITY_HOST": "https://127.0.0.1:8443/",
            "PARTNER_CENTER_ENDPOINT": "https://127.0.0.1:8444/partner/",
            "GRAPH_ENDPOINT": "https://localhost:8445",
        },
    )
    assert e.cloud == "custom"
    assert e.authority_host == "https://127.0.0.1:8443"
    assert e.partner_center == "https://127.0.0.1:8444/partner"
    assert e.graph == "https://localhost:8445"
    # Scopes name the resource, not its address: an override keeps the cloud's scopes.
    assert e.partner_center_scope == "https://api.partnercenter.microsoft.com/user_impersonation"
    assert e.graph_scope == "https://graph.microsoft.us/.default"
    assert e.vault_suffix == "vault.usgovcloudapi.net", "unset values still come from the preset"
    assert e.instance_discovery is False, "MSAL must not ask Microsoft about a local host"


def test_authority_override_to_another_microsoft_host_keeps_instance_discovery() -> None:
    e = resolve_endpoints(None, {"AZURE_AUTHORITY_HOST": "login.partner.microsoftonline.cn"})
    assert e.authority_host == "https://login.partner.microsoftonline.cn"
    assert e.instance_discovery is True and e.cloud == "custom"


def test_an_override_equal_to_the_preset_changes_nothing() -> None:
    e = resolve_endpoints(None, {"AZURE_AUTHORITY_HOST": "https://login.microsoftonline.com/"})
    assert e == PRESETS["public"]


def test_custom_cloud_needs_an_authority_host() -> None:
    with pytest.raises(ConfigError, match="AZURE_AUTHORITY_HOST"):
        resolve_endpoints("custom", {})
    e = resolve_endpoints("custom", {"AZURE_AUTHORITY_HOST": "https://127.0.0.1:9000"})
    assert e.cloud == "custom" and e.partner_center == PRESETS["public"].partner_center


@pytest.mark.parametrize(
    ("var", "value", "problem"),
    [
        ("AZURE_AUTHORITY_HOST", "http://login.microsoftonline.com", "https"),
        ("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.com/common", "without a path"),
        ("AZURE_AUTHORITY_HOST", "https://", "no host"),
        ("PARTNER_CENTER_ENDPOINT", "http://127.0.0.1:8443", "https"),
        ("PARTNER_CENTER_ENDPOINT", "api.partnercenter.microsoft.com", "https"),
        ("PARTNER_CENTER_ENDPOINT", "https://api.partnercenter.microsoft.com/?x=1", "query"),
        ("GRAPH_ENDPOINT", "https://graph.microsoft.com/#frag", "fragment"),
        ("GRAPH_ENDPOINT", "https://graph.microsoft.com/?", "query"),
        ("GRAPH_ENDPOINT", "https://user:pw@graph.microsoft.com", "credentials"),
        ("GRAPH_ENDPOINT", "https://graph.microsoft.com:notaport", "not a valid URL"),
    ],
)
def test_bad_override_is_rejected_naming_the_variable(var: str, value: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_endpoints(None, {var: value})
    (line,) = caught.value.lines()
    assert line.startswith(f"{var}=") and problem in line and "Fix: use the form https://" in line
    assert "pw@" not in line, "a password pasted into a URL is never echoed"


def test_several_bad_values_are_reported_together() -> None:
    with pytest.raises(InvalidConfig) as caught:
        resolve_endpoints(None, {"CSP_CLOUD": "mars", "GRAPH_ENDPOINT": "http://g"})
    lines = caught.value.lines()
    assert len(lines) == 2
    assert any("CSP_CLOUD" in x for x in lines) and any("GRAPH_ENDPOINT" in x for x in lines)


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("https://127.0.0.1:8443/", True),
        ("https://127.8.9.10", True),
        ("https://localhost:1", True),
        ("https://LOCALHOST", True),
        ("https://[::1]:8443", True),
        ("127.0.0.1", True),
        ("https://vault.azure.net", False),
        ("https://127.0.0.1.nip.io", False),
        ("https://localhost.example.com", False),
        ("https://10.0.0.1", False),
        ("", False),
    ],
)
def test_is_loopback_host(url: str, loopback: bool) -> None:
    assert is_loopback_host(url) is loopback


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("https://contoso-kv.vault.azure.net", "https://contoso-kv.vault.azure.net/"),
        ("https://contoso-kv.vault.azure.net/", "https://contoso-kv.vault.azure.net/"),
        ("https://Contoso-KV.Vault.Azure.Net/", "https://contoso-kv.vault.azure.net/"),
        ("https://contoso-kv.vault.azure.net:443/", "https://contoso-kv.vault.azure.net/"),
        ("  https://kv1.vault.usgovcloudapi.net ", "https://kv1.vault.usgovcloudapi.net/"),
        ("https://kv1.vault.azure.cn", "https://kv1.vault.azure.cn/"),
        ("https://127.0.0.1:8443", "https://127.0.0.1:8443/"),
        ("https://localhost:8443/vaults/kv1", "https://localhost:8443/vaults/kv1/"),
    ],
)
def test_valid_vault_urls_are_normalised_with_a_trailing_slash(url: str, normalised: str) -> None:
    assert validate_vault_url(url, PUBLIC) == normalised


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://contoso-kv.vault.azure.net/", "must use https"),
        ("http://127.0.0.1:8443/", "must use https"),
        ("contoso-kv.vault.azure.net", "must use https"),
        ("https://contoso-kv.vault.azure.net/?api-version=7.0", "query"),
        ("https://contoso-kv.vault.azure.net/#x", "fragment"),
        ("https://contoso-kv.vault.azure.net/?", "query"),
        ("https://127.0.0.1:8443/?", "query"),
        ("https://contoso-kv.vault.azure.net/secrets/token", "secret identifier"),
        ("https://contoso-kv.vault.azure.net/keys", "path"),
        ("https://contoso-kv.vault.azure.net:8443/", "port"),
        ("https://contoso-kv.azurewebsites.net/", "not a Key Vault host"),
        ("https://vault.azure.net/", "not a Key Vault host"),
        ("https://contoso-kv.vault.azure.net.evil.example/", "not a Key Vault host"),
        ("https://a.b.vault.azure.net/", "invalid vault name"),
        ("https://kv.vault.azure.net/", "invalid vault name"),
        ("https://1kv.vault.azure.net/", "invalid vault name"),
        ("https://kv--1.vault.azure.net/", "invalid vault name"),
        ("https://kv-.vault.azure.net/", "invalid vault name"),
        ("https://" + "k" * 25 + ".vault.azure.net/", "invalid vault name"),
        ("https://user:pw@contoso-kv.vault.azure.net/", "credentials"),
        ("https://", "no host"),
    ],
)
def test_bad_vault_urls_are_rejected_with_one_line(url: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_vault_url(url, PUBLIC)
    (line,) = caught.value.lines()
    assert problem in line
    assert "https://<vault-name>.vault.azure.net/" in line, "the expected form is shown"
    assert ":pw@" not in line, "a password pasted into a URL is never echoed"


def test_expected_form_follows_the_current_cloud() -> None:
    with pytest.raises(ConfigError, match=re.escape("https://<vault-name>.vault.azure.cn/")):
        validate_vault_url("https://nope.example/", resolve_endpoints("china", {}))


# A valid Key Vault name: a letter, then 1-22 letters/digits/single hyphens, then a letter/digit.
VAULT_NAMES = st.from_regex(r"\A[a-z](?:[a-z0-9]|-(?!-)){1,22}[a-z0-9]\Z").filter(
    lambda n: "--" not in n
)


@given(name=VAULT_NAMES, cloud=st.sampled_from(sorted(PRESETS)))
def test_vault_url_for_round_trips_through_validation(name: str, cloud: str) -> None:
    endpoints = resolve_endpoints(cloud, {})
    url = vault_url_for(name, endpoints)
    assert url == f"https://{name}.{endpoints.vault_suffix}/"
    assert validate_vault_url(url, endpoints) == url
    assert validate_vault_url(url.rstrip("/").upper(), PUBLIC) == url


@given(name=st.text(alphabet="abcXYZ019-_.", min_size=0, max_size=30))
def test_vault_url_for_accepts_exactly_the_valid_names(name: str) -> None:
    valid = bool(re.fullmatch(r"[a-z](?:[a-z0-9]|-(?!-)){1,22}[a-z0-9]", name.lower()))
    if valid:
        assert vault_url_for(name, PUBLIC) == f"https://{name.lower()}.vault.azure.net/"
    else:
        with pytest.raises(ConfigError, match="Key Vault name"):
            vault_url_for(name, PUBLIC)


def test_every_preset_suffix_is_known() -> None:
    assert {p.vault_suffix for p in PRESETS.values()} == KNOWN_VAULT_SUFFIXES
