"""Property tests: the parsers and validators never crash, and never accept what Azure rejects."""

from __future__ import annotations

import re
import string
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foundation.clouds import resolve_endpoints, validate_vault_url
from foundation.errors import ConfigError, InvalidConfig, SignInError
from infra.config import parse_config
from scripts.inputs import check_guid, check_secret_name, check_tenant
from scripts.local.loopback import parse_pasted_url, parse_redirect

PUBLIC = resolve_endpoints("public", {})
VAULT_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|-(?!-)){1,22}[A-Za-z0-9]$")
SECRET_NAME = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
URL_ALPHABET = string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=% "
BASE_CONFIG = {"location": "westeurope", "vaultName": "kv-ok", "cspDomain": "contoso.com",
               "clientSecretRotation": "2026-11-01"}
TODAY = date(2026, 11, 29)
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

query_text = st.text(alphabet=URL_ALPHABET, max_size=200)
name_text = st.text(alphabet=string.ascii_letters + string.digits + "-_. ", max_size=40)


@FAST
@given(query=query_text)
def test_redirect_parser_never_crashes_and_only_accepts_our_state(query):
    try:
        params = parse_redirect(query, "expected-state")
    except SignInError:
        return
    if params is not None:
        assert params["state"] == "expected-state"
        assert "code" in params or "error" in params


@FAST
@given(code=st.text(alphabet=string.ascii_letters + string.digits + "-_.", min_size=1,
                    max_size=50), state=st.text(alphabet=string.ascii_letters, max_size=10))
def test_a_forged_state_is_always_refused(code, state):
    try:
        params = parse_redirect(f"code={code}&state={state}", "the-state")
    except SignInError:
        assert state != "the-state"
    else:
        assert params is not None and state == "the-state"


@FAST
@given(text=st.text(max_size=200))
def test_pasted_text_is_a_redirect_or_one_clear_error(text):
    try:
        parse_pasted_url(text, "s")
    except (ConfigError, SignInError) as exc:
        assert "\n" not in exc.one_line()


@FAST
@given(name=name_text, suffix=st.sampled_from(["vault.azure.net", "vault.azure.cn",
                                                "vault.usgovcloudapi.net", "example.com"]))
def test_vault_urls_accepted_only_with_a_valid_vault_name_in_a_known_cloud(name, suffix):
    url = f"https://{name}.{suffix}/"
    try:
        normalised = validate_vault_url(url, PUBLIC)
    except ConfigError:
        return
    assert suffix != "example.com"
    assert VAULT_NAME.match(name)
    assert normalised == f"https://{name.lower()}.{suffix}/"


@FAST
@given(url=st.text(alphabet=URL_ALPHABET, max_size=120))
def test_vault_url_validation_never_crashes(url):
    try:
        result = validate_vault_url(url, PUBLIC)
    except ConfigError:
        return
    assert result.startswith("https://") and result.endswith("/")


@FAST
@given(name=st.text(max_size=140))
def test_secret_names_accepted_exactly_as_key_vault_does(name):
    try:
        check_secret_name(name, "--secret-name")
    except ConfigError:
        assert not SECRET_NAME.match(name)
    else:
        assert SECRET_NAME.match(name)


@FAST
@given(value=st.one_of(st.uuids().map(str), st.text(alphabet="0123456789abcdefABCDEF-",
                                                     max_size=40)))
def test_guids_accepted_only_in_canonical_form(value):
    try:
        result = check_guid(value, "--app-id")
    except ConfigError:
        return
    assert GUID.match(result)


@FAST
@given(value=st.text(max_size=80))
def test_tenant_is_a_guid_or_a_domain(value):
    try:
        result = check_tenant(value, "--csp-domain")
    except ConfigError:
        return
    assert GUID.match(result) or ("." in result and " " not in result)


@FAST
@given(vault=name_text, secret=st.text(max_size=130),
       retention=st.text(alphabet=string.digits + "-", max_size=4))
def test_stack_config_never_crashes_and_never_accepts_an_invalid_name(vault, secret, retention):
    values = {**BASE_CONFIG, "vaultName": vault, "secretName": secret,
              "softDeleteRetentionDays": retention}
    try:
        cfg = parse_config(values, today=TODAY)
    except InvalidConfig as exc:
        assert exc.problems and all("\n" not in p for p in exc.problems)
        return
    assert VAULT_NAME.match(cfg.vault_name) and "--" not in cfg.vault_name
    assert SECRET_NAME.match(cfg.secret_name)
    assert 7 <= cfg.soft_delete_retention_days <= 90


def test_the_properties_above_see_accepting_inputs_too():
    """Guards against vacuous properties: each validator accepts a valid value."""
    cfg = parse_config({**BASE_CONFIG, "secretName": "Token-1", "softDeleteRetentionDays": "7"},
                       today=TODAY)
    assert (cfg.vault_name, cfg.secret_name, cfg.soft_delete_retention_days) == (
        "kv-ok", "Token-1", 7)
    assert validate_vault_url("https://Kv-Ok1.vault.azure.cn", PUBLIC) == (
        "https://kv-ok1.vault.azure.cn/")
    assert parse_redirect("code=c&state=expected-state", "expected-state") is not None
    assert check_tenant("contoso.onmicrosoft.com", "x") == "contoso.onmicrosoft.com"
