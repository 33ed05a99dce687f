"""The AADSTS advice table: what a partner reads when sign-in or a token is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from foundation.advice import (
    ADVICE,
    PARTNER_CENTER_MFA_REQUIRED,
    Advice,
    advise,
    parse_aadsts_codes,
    to_error,
)
from foundation.errors import EXIT_SERVICE, EXIT_SIGN_IN, ServiceError, SignInError

# The codes partners actually meet (facts.md, issue 4). Each must have its own advice.
REQUIRED = [
    50011, 50020, 50076, 50078, 50173, 53003, 65001, 65004, 650051, 700007, 700082,
    7000215, 7000222, 90038, 900144, 54005, 700016, 7000218, 50126, 50148, 501481,
]  # fmt: skip
OAUTH_FALLBACKS = ["access_denied", "invalid_client", "interaction_required", "invalid_grant"]

TRACE = (
    "\r\nTrace ID: 0000aaaa-11bb-cccc-dd22-eeeeee333333"
    "\r\nCorrelation ID: aaaa0000-bb11-2222-33cc-444444dddddd\r\nTimestamp: 2026-01-09 02:02:12Z"
)
JWT = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhbXIiOlsicHdkIl0sInN1YiI6IjEyMyJ9.c2lnbmF0dXJlc2ln"
REFRESH_TOKEN = "1.AQ4A" + "x7Yq_Bz-9" * 12


def _line(err: Exception) -> str:
    text = str(err)
    assert "\n" not in text and "\r" not in text, "an error must print as one line"
    return text


@pytest.mark.parametrize("code", REQUIRED)
def test_every_code_partners_meet_has_its_own_advice(code: int) -> None:
    assert f"AADSTS{code}" in ADVICE


@pytest.mark.parametrize("key", [*OAUTH_FALLBACKS, PARTNER_CENTER_MFA_REQUIRED])
def test_fallbacks_and_partner_center_mfa_are_in_the_table(key: str) -> None:
    assert key in ADVICE


@pytest.mark.parametrize("key", sorted(k for k in ADVICE if k.startswith("AADSTS")))
def test_each_aadsts_code_renders_its_cause_code_and_fix(key: str) -> None:
    entry = ADVICE[key]
    description = f"{key}: Microsoft's own wording, which may change.{TRACE}"
    err = to_error("invalid_grant", description, context="Refreshing the token")
    line = _line(err)
    assert line.startswith(f"Refreshing the token: {entry.cause} ({key}). Fix: ")
    assert entry.fix.rstrip(".") in line
    assert "Trace ID" not in line and "0000aaaa" not in line, "trace ids are noise for the user"
    assert "Microsoft's own wording" not in line, "known codes print our advice, not raw text"


@pytest.mark.parametrize("key", OAUTH_FALLBACKS)
def test_oauth_error_alone_renders_its_advice(key: str) -> None:
    entry = ADVICE[key]
    line = _line(to_error(key, None, context="Consent"))
    assert line == f"Consent: {entry.cause} ({key}). Fix: {entry.fix.rstrip('.')}."


def test_every_entry_is_a_usable_one_liner() -> None:
    for key, entry in ADVICE.items():
        assert isinstance(entry, Advice) and entry.code == key
        for text in (entry.cause, entry.fix):
            assert text and "\n" not in text and len(text) < 220, key
            assert not text.endswith("."), f"{key}: the error class adds the full stop"


def test_partner_center_mfa_refusal_gets_its_own_advice() -> None:
    err = to_error("invalid_token", "MFA required", context="Calling Partner Center")
    line = _line(err)
    assert "no MFA claim" in line
    assert "Partner Center 401 invalid_token" in line
    assert "complete MFA" in line
    mfa = ADVICE[PARTNER_CENTER_MFA_REQUIRED]
    assert advise("invalid_token", "Unauthorized: error 10001") == mfa
    # An expired access token is also invalid_token, but says nothing about MFA.
    assert advise("invalid_token", "The token has expired") is None


def test_known_code_wins_over_the_oauth_error() -> None:
    found = advise("invalid_client", "AADSTS7000222: The provided client secret keys are expired.")
    assert found is ADVICE["AADSTS7000222"]


def test_error_codes_list_is_used_when_the_description_has_no_code() -> None:
    assert advise("invalid_grant", "Token expired.", [700082]) is ADVICE["AADSTS700082"]
    err = to_error("invalid_grant", "Token expired.", [700082], context="Rotate")
    assert "(AADSTS700082)" in str(err) and err.codes == (700082,)


def test_first_known_code_wins_when_there_are_several() -> None:
    # 9999999 is unknown, so the first *known* code in order decides.
    description = "AADSTS9999999: wrapper. Inner: AADSTS50076 then AADSTS53003"
    assert advise(None, description) is ADVICE["AADSTS50076"]


def test_unknown_code_falls_back_to_the_oauth_error_and_still_names_the_code() -> None:
    err = to_error("invalid_grant", f"AADSTS9999999: Something new happened.{TRACE}", context="C")
    line = _line(err)
    assert ADVICE["invalid_grant"].cause in line
    assert "AADSTS9999999" in line and "invalid_grant" in line
    assert err.codes == (9999999,)


def test_unknown_code_and_unknown_error_give_a_generic_line_naming_the_code() -> None:
    err = to_error("brand_new_error", f"AADSTS9999999: Something new happened.{TRACE}", context="C")
    line = _line(err)
    assert line.startswith("C: the identity platform refused the request (AADSTS9999999")
    assert "Something new happened" in line, "with no advice, the server's first sentence helps"
    assert "error?code=9999999" in line
    assert "Trace ID" not in line and "Correlation" not in line and "2026-01-09" not in line


def test_nothing_known_at_all_still_gives_a_line() -> None:
    assert advise(None, None) is None
    line = _line(to_error(None, None, context="Consent"))
    assert line.startswith("Consent: the identity platform refused the request")
    assert "Fix:" in line


def test_long_server_text_is_shortened() -> None:
    err = to_error(None, "AADSTS9999998: " + "word " * 200, context="C")
    assert len(str(err)) < 400


def test_tokens_in_server_text_never_reach_the_line_or_the_exception() -> None:
    description = f"AADSTS9999999: bad grant {REFRESH_TOKEN} for {JWT}.{TRACE}"
    err = to_error("odd_error", description, context="Rotate")
    line = _line(err)
    for secret in (REFRESH_TOKEN, JWT, JWT.split(".")[1]):
        assert secret not in line
        assert secret not in (err.error_description or "")
        assert secret not in repr(err)
    assert "[redacted]" in line


def test_service_flag_gives_a_retryable_service_error() -> None:
    err = to_error("temporarily_unavailable", None, context="Redeeming the code", service=True)
    assert isinstance(err, ServiceError) and err.exit_code == EXIT_SERVICE
    err2 = to_error("invalid_grant", None, context="Redeeming the code")
    assert isinstance(err2, SignInError) and err2.exit_code == EXIT_SIGN_IN
    assert err2.error == "invalid_grant"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, ()),
        ("", ()),
        ("no codes here at all", ()),
        ("AADSTS", ()),
        ("AADSTS12 too short", ()),
        ("XAADSTS700082 glued to a word", ()),
        ("id 1AADSTS50076 inside an id", ()),
        ("AADSTS700082: expired", (700082,)),
        ("aadsts50076 lower case", (50076,)),
        ("AADSTS50076, AADSTS53003 and again AADSTS50076", (50076, 53003)),
        ("(AADSTS7000222)\r\nTrace ID: 1f2e", (7000222,)),
        ("AADSTS650051:AADSTS65001", (650051, 65001)),
    ],
)
def test_parse_aadsts_codes(text: str | None, expected: tuple[int, ...]) -> None:
    assert parse_aadsts_codes(text) == expected


@given(
    codes=st.lists(st.integers(min_value=1000, max_value=999_999_999), max_size=6),
    junk=st.lists(
        st.text(alphabet=" :;,.()-\r\nabcxyzTRACEID", max_size=12), min_size=7, max_size=7
    ),
)
def test_parse_finds_each_code_once_in_order(codes: list[int], junk: list[str]) -> None:
    text = junk[0] + "".join(f" AADSTS{c}{j}" for c, j in zip(codes, junk[1:], strict=False))
    assert parse_aadsts_codes(text) == tuple(dict.fromkeys(codes))


@pytest.mark.parametrize(("code", "text"), [
    (50148, "The code_verifier does not match the code_challenge supplied in the authorization "
            "request for PKCE."),
    (501481, "The Code_Verifier does not match the code_challenge supplied in the authorization "
             "request."),
])  # fmt: skip
def test_pkce_mismatch_in_entras_shape_is_a_sign_in_error_naming_pkce(code: int,
                                                                       text: str) -> None:
    err = to_error("invalid_grant", f"AADSTS{code}: {text}{TRACE}", [code],
                   context="token redemption")
    line = _line(err)
    assert isinstance(err, SignInError) and err.exit_code == EXIT_SIGN_IN
    assert f"AADSTS{code}" in line and "PKCE" in line and "Fix: run `csp-secure-app consent` again" in line
