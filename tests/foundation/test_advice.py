"""The AADSTS advice table: what a partner reads when sign-in or a token is refused, and the ids
Microsoft support asks for at the end of that line."""

from __future__ import annotations

import ast
import re
from pathlib import Path

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
from foundation.network.failures import response_ids, with_response_ids
from foundation.support_ids import entra_ids, ids_of, support_id, with_ids

# The codes partners actually meet (facts.md, issue 4). Each must have its own advice.
REQUIRED = [
    50011, 50020, 50076, 50078, 50079, 50173, 53003, 530084, 65001, 65004, 650051, 700007,
    700082, 70043, 7000215, 7000222, 90038, 90072, 90094, 900144, 54005, 700016, 7000218, 50126,
    50148, 501481, 500113,
]  # fmt: skip
OAUTH_FALLBACKS = ["access_denied", "invalid_client", "interaction_required", "invalid_grant"]

TRACE_ID = "0000aaaa-11bb-cccc-dd22-eeeeee333333"
CORRELATION_ID = "aaaa0000-bb11-2222-33cc-444444dddddd"
TRACE = (
    f"\r\nTrace ID: {TRACE_ID}"
    f"\r\nCorrelation ID: {CORRELATION_ID}\r\nTimestamp: 2026-01-09 02:02:12Z"
)
#: What the line ends with when Entra's description carried those ids.
IDS_NOTE = (f"(trace id {TRACE_ID}, correlation id {CORRELATION_ID}, "
            "timestamp 2026-01-09 02:02:12Z).")
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
    assert line.endswith(f"{entry.fix.rstrip('.')} {IDS_NOTE}"), "the ids support asks for end it"
    assert "Trace ID" not in line, "Entra's own layout is not echoed"
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
    assert "Trace ID" not in line and "Correlation ID" not in line
    assert line.endswith(IDS_NOTE)


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
    assert f"AADSTS{code}" in line and "PKCE" in line
    assert "Fix: run `csp-secure-app consent` again" in line


# -- every fix names something that exists ------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
#: The modules whose texts advise: every string in them is checked, f-string parts included.
ADVISING = ("foundation/advice.py", "foundation/network/failures.py", "foundation/network/http.py",
            "scripts/adapters/identity.py", "scripts/adapters/partner_center.py",
            "scripts/adapters/graph.py")
#: Another tool's command, quoted: its flags are that tool's (`az login --tenant`,
#: `pulumi stack output X --show-secrets`).
OTHER_TOOL = re.compile(r"[`'](?:az|pulumi) [^`']*[`']")
FLAG = re.compile(r"(?<![\w-])--([a-z][a-z0-9-]*)")
COMMAND = re.compile(r"csp-secure-app ([a-z][a-z-]*)")
#: invoke's own flags, on every task.
CORE_FLAGS = {"help", "list", "version"}


def _texts(relative: str) -> list[str]:
    """Every string literal of a module (a docstring's too: it must not lie either)."""
    tree = ast.parse((ROOT / relative).read_text(encoding="utf-8"))
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
            and isinstance(n.value, str)]


def _all_texts() -> list[tuple[str, str]]:
    found = [(relative, text) for relative in ADVISING for text in _texts(relative)]
    found += [(f"ADVICE[{key}]", text) for key, entry in ADVICE.items()
              for text in (entry.cause, entry.fix)]
    return found


def _tasks() -> dict[str, set[str]]:
    """Each task of `csp-secure-app` and its flags, as the command line parses them."""
    from scripts.cli.program import program

    namespace = program().namespace
    assert namespace is not None
    return {name: {n for arg in namespace[name].get_arguments() for n in arg.names}
            for name in namespace.task_names}


def test_every_flag_a_fix_names_exists_on_some_task() -> None:
    flags = set().union(*_tasks().values()) | CORE_FLAGS
    unknown = sorted({(where, f"--{flag}") for where, text in _all_texts()
                      for flag in FLAG.findall(OTHER_TOOL.sub("", text)) if flag not in flags})
    assert not unknown, f"flags no task has: {unknown}"


def test_every_command_a_fix_names_is_a_task_of_the_console_command() -> None:
    tasks = set(_tasks())
    named = {(where, task) for where, text in _all_texts() for task in COMMAND.findall(text)}
    assert named, "the texts name commands: the scan must see them"
    assert not sorted(n for n in named if n[1] not in tasks), f"no such task: {named}"
    stale = [(where, text) for where, text in _all_texts()
             if re.search(rf"\binvoke (?:{'|'.join(tasks)})\b", text)]
    assert not stale, f"the command is csp-secure-app, not invoke: {stale}"


def test_a_pulumi_step_for_the_cpv_app_is_only_for_an_in_house_app() -> None:
    """The CPV app is the vendor's: a partner's `pulumi up` cannot change it, unless the partner
    runs its own app (inHouseApp: true)."""
    for key, entry in ADVICE.items():
        if "pulumi" in entry.fix:
            assert "in-house" in entry.fix, f"{key}: {entry.fix}"


def test_aadsts50020_is_the_wrong_account_and_names_csp_domain() -> None:
    description = ("AADSTS50020: User account 'admin@fabrikam.com' from identity provider "
                   "'https://sts.windows.net/x/' does not exist in tenant 'Contoso' and cannot "
                   f"access the application 'abc' in that tenant.{TRACE}")
    line = _line(to_error("invalid_request", description, context="sign-in"))
    cause, _, fix = line.partition(" Fix: ")
    assert "not a user of the partner tenant" in cause and "guest" in cause
    assert "sign in with an admin agent of the partner tenant" in fix and "--csp-domain" in fix
    assert "--tenant" not in line
    assert line.endswith(IDS_NOTE)


def test_aadsts50011_sends_the_partner_to_the_vendor_or_the_right_port() -> None:
    line = _line(to_error("invalid_request", "AADSTS50011: The redirect URI "
                          "'http://localhost:8401' specified in the request does not match.",
                          context="sign-in"))
    cause, _, fix = line.partition(" Fix: ")
    assert "redirect URI" in cause and "not registered on the CPV app" in cause
    assert "--redirect-port" in fix and "ask them to add yours" in fix
    assert "in-house app (inHouseApp: true): run `pulumi up`" in fix


def test_the_cpv_secret_fixes_name_its_variable_and_its_owner() -> None:
    wrong, expired = ADVICE["AADSTS7000215"].fix, ADVICE["AADSTS7000222"].fix
    assert "CPV_APP_SECRET" in wrong and "value" in wrong and "CPV vendor" in wrong
    assert "CPV_APP_SECRET" in expired and "new secret" in expired and "CPV vendor" in expired
    assert "clientSecretRotation" in expired, "an in-house app rotates with the stack config"


# -- the ids Microsoft support asks for ----------------------------------------------------------

def test_ids_from_the_token_endpoints_json_win_over_the_text() -> None:
    reply = {"error": "invalid_grant", "trace_id": TRACE_ID, "correlation_id": CORRELATION_ID,
             "timestamp": "2026-01-09 02:02:12Z"}
    other = "\r\nTrace ID: 11111111-2222-3333-4444-555555555555"
    assert entra_ids(reply, f"AADSTS70008: expired.{other}") == (
        ("trace id", TRACE_ID), ("correlation id", CORRELATION_ID),
        ("timestamp", "2026-01-09 02:02:12Z"))
    err = to_error("invalid_grant", "AADSTS70008: expired.", [70008], context="rotate",
                   reply=reply)
    assert str(err).endswith(IDS_NOTE) and ids_of(err) == entra_ids(reply)


@pytest.mark.parametrize("value", [
    "\x1b]0;owned\x07", "0000aaaa-11bb-cccc-dd22-eeeeee333333\x1b[2J", "a" * 80, "abc",
    "not an id at all", "eyJhbGciOiJSUzI1NiJ9", "12345678-" + "f" * 60, "--", "g" * 12, 42, None,
])
def test_anything_not_shaped_like_an_id_is_never_shown_as_one(value: object) -> None:
    assert support_id(value) is None
    assert entra_ids({"trace_id": value, "correlation_id": value}) == ()
    line = _line(to_error("invalid_grant", f"AADSTS70008: expired.\r\nTrace ID: {value}",
                          context="rotate"))
    assert "trace id" not in line and "\x1b" not in line


def test_a_line_without_ids_is_unchanged_and_ids_are_added_once() -> None:
    plain = to_error("invalid_grant", "AADSTS70008: expired.", context="rotate")
    assert "trace id" not in str(plain) and ids_of(plain) == ()
    err = with_ids(ServiceError("Partner Center answered 503", fix="try again later"),
                   (("request id", TRACE_ID),))
    again = with_ids(err, (("correlation id", TRACE_ID.upper()), ("x", CORRELATION_ID)))
    assert again.one_line() == (f"Partner Center answered 503. Fix: try again later (request id "
                                f"{TRACE_ID}) (x {CORRELATION_ID}).")
    assert str(again) == again.one_line(), "str() is the printed line too"
    bare = with_ids(SignInError("refused"), (("request id", TRACE_ID),))
    assert bare.one_line() == f"refused (request id {TRACE_ID})."


def test_response_headers_give_each_services_ids_case_insensitively() -> None:
    partner_center = {"MS-RequestId": TRACE_ID, "MS-CorrelationId": CORRELATION_ID,
                      "Content-Type": "application/json"}
    assert response_ids(partner_center) == (("request id", TRACE_ID),
                                            ("correlation id", CORRELATION_ID))
    graph_inner = {"date": "2026-01-09T02:02:12", "request-id": TRACE_ID,
                   "client-request-id": CORRELATION_ID}
    assert response_ids(graph_inner) == (("request id", TRACE_ID),
                                         ("client request id", CORRELATION_ID))
    assert response_ids({"x-ms-request-id": TRACE_ID}) == (("request id", TRACE_ID),)
    assert response_ids({"X-MS-Request-Id": "\x1b[2Jhi"}) == ()
    assert response_ids(None) == ()
    err = with_response_ids(ServiceError("down", fix="wait"), {"x-ms-request-id": TRACE_ID})
    assert err.one_line() == f"down. Fix: wait (request id {TRACE_ID})."
