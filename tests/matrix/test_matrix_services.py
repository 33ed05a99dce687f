"""Matrix, the services: the identity platform, the vault, Partner Center and Graph down (503 or
500 that outlive the retries), slow beyond our timeouts (the double hangs;
SECURE_APP_HTTP_TIMEOUT=1 keeps each row to seconds), throttled once (429 with Retry-After:
retried, then success), throttled for good (Entra's plain-text 429 on MSAL's token calls and on
azure-identity's: exit 5 saying how long to wait, never "bad credentials"), a connection reset,
and TLS that this machine does not trust (a proxy's certificate on one endpoint, or a CA bundle
without the double's CA).

Exit 5 says "a service, try later" and never blames the setup; when the vault fails after
consent's sign-in, the token is kept (exit 4) and nothing is half-written; rotate touches the
vault only after the token passed every check.

Elsewhere: rotate retrying 429/503 on the vault PUT and the token endpoint
(tests/test_rotate_cli.py::test_throttling_and_outages_are_retried), verify with Partner Center
down (tests/test_verify_cli.py), a throttled Graph page (tests/test_mfa_report_cli.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import certifi
import pytest

from clouddouble import CloudDouble, shapes
from tests.matrix.runner import Expect, Sandbox, kept_token, seed, untrusted_https
from tests.support import grant_graph_roles

Arrange = Callable[[Sandbox, str], dict[str, str]]
TOKEN = r"/oauth2/v2\.0/token$"
PROFILE = r"^/v1/profiles/organization$"
SLOW = {"SECURE_APP_HTTP_TIMEOUT": "1"}


@pytest.fixture(scope="session")
def proxy() -> Iterator[str]:
    """The untrusted endpoint, once per worker: these rows are spread over the run
    (tests/conftest.py), and it holds no state."""
    with untrusted_https() as url:
        yield url


@pytest.fixture
def box(cloud: CloudDouble, tmp_path: Path) -> Sandbox:
    box = Sandbox(cloud, tmp_path)
    grant_graph_roles(cloud, box.world.tenant.id, box.world.writer_app.app_id,
                      "AuditLog.Read.All")
    return box


def vault_of(box: Sandbox) -> str:
    return f"vault:{box.world.vault.name}"


def fault(service: str, path: str = r".", *, status: int = 503, count: int = 100,
          retry_after: float | None = 1, method: str | None = None, hang: float | None = None,
          reset: bool = False, env: dict[str, str] | None = None) -> Arrange:
    def arrange(box: Sandbox, _proxy: str) -> dict[str, str]:
        where = vault_of(box) if service == "vault" else service
        box.cloud.inject_fault(path, status=status, count=count, retry_after=retry_after,
                               method=method, hang=hang, reset=reset, service=where)
        return dict(env or {})
    return arrange


def entra_plain_429(skip: int = 0) -> Arrange:
    """The token endpoint keeps answering Entra's plain-text ``429 Too Many Requests``
    (clouddouble.shapes.entra_plain_text_429) with ``Retry-After: 1``. ``skip``: token calls
    let through first (rotate and verify get the vault's token before MSAL redeems)."""
    def arrange(box: Sandbox, _proxy: str) -> dict[str, str]:
        body, content_type = shapes.entra_plain_text_429()
        box.cloud.inject_fault(TOKEN, status=429, count=100, retry_after=1, service="identity",
                               skip=skip, body=body, content_type=content_type)
        return {}
    return arrange


def slow(service: str, path: str = r".") -> Arrange:
    return fault(service, path, hang=4, count=100, env=SLOW)


def untrusted(variable: str) -> Arrange:
    def arrange(box: Sandbox, proxy: str) -> dict[str, str]:
        return {variable: proxy + ("/" if variable == "KEY_VAULT_URL" else "")}
    return arrange


def pc_down(box: Sandbox, _proxy: str) -> dict[str, str]:
    box.cloud.partner_center_down()
    return {}


def public_ca_bundle(_box: Sandbox, _proxy: str) -> dict[str, str]:
    return {"REQUESTS_CA_BUNDLE": certifi.where(), "SSL_CERT_FILE": certifi.where()}


IDENTITY_DOWN = Expect(5, ("identity platform", "could not be reached or kept failing"),
                       ("try again later",))
IDENTITY_TLS = Expect(5, ("identity platform", "certificate", "not trust"),
                      ("REQUESTS_CA_BUNDLE",))
VAULT_DOWN = Expect(5, ("Key Vault",), ("try again",))
VAULT_TLS = Expect(5, ("Key Vault", "certificate"), ("REQUESTS_CA_BUNDLE",))
KEPT = Expect(4, ("not stored", "Key Vault", "kept in"), ("try again", "store-token"),
              kept=True)
KEPT_TLS = Expect(4, ("not stored", "certificate", "kept in"),
                  ("REQUESTS_CA_BUNDLE", "store-token"), kept=True)
PC_DOWN = Expect(5, ("Partner Center",), ("try again",))
#: consent's token cost an MFA sign-in: with Partner Center down it is kept, not dropped.
PC_DOWN_KEPT = Expect(5, ("Partner Center", "kept in"), ("store-token --from-file",), kept=True)
PC_TLS = Expect(5, ("Partner Center", "certificate"), ("REQUESTS_CA_BUNDLE",))
GRAPH_DOWN = Expect(5, ("Microsoft Graph",), ("try again",))
RETRIED = Expect(0, vault="new")


def too_slow(service: str, kept: bool = False) -> Expect:
    if kept:
        return Expect(4, ("not stored", service, "did not answer in time", "kept in"),
                      ("SECURE_APP_HTTP_TIMEOUT", "store-token"), kept=True)
    return Expect(5, (service, "did not answer in time"), ("SECURE_APP_HTTP_TIMEOUT",))


def unavailable(expect: Expect) -> Expect:
    """verify reports a service outage as the check that could not run: 'unavailable', exit 5."""
    return Expect(5, expect.cause, expect.fix, prefix="unavailable: ")


#: A throttled identity platform is a service problem (5), never the setup's credentials, and
#: says how long to wait (Retry-After). A throttled code redemption loses the single-use code:
#: the sign-in did not complete, there is no token to keep, so the fix is to sign in again.
THROTTLED = Expect(5, ("identity platform", "throttled", "429 Too Many Requests",
                       "nothing was changed"), ("wait 1 s and run again",))
THROTTLED_SIGN_IN = Expect(5, ("throttled", "code redemption", "429 Too Many Requests",
                               "sign-in was not completed", "nothing was stored"),
                           ("wait 1 s", "sign in again"))
THROTTLED_VAULT_TOKEN = Expect(5, ("throttled", "token request for Key Vault",
                                   "429 Too Many Requests"), ("wait 1 s and run again",))
THROTTLED_ANY = Expect(5, ("throttled", "429 Too Many Requests"), ("wait 1 s and run again",))

MFA_REPORT_OK = Expect(9, ("admin(s) without an MFA method",), ("aka.ms/mfasetup",))

#: (id, task, arrange, expect). Tasks other than consent and mfa-report start from a stored token.
ROWS: list[tuple[str, str, Arrange, Expect]] = [
    # -- identity platform ---------------------------------------------------------------------
    ("identity-down", "consent", fault("identity"), IDENTITY_DOWN),
    ("identity-down", "rotate", fault("identity", TOKEN), IDENTITY_DOWN),
    ("identity-down", "settings", fault("identity"), IDENTITY_DOWN),
    ("identity-down", "verify", fault("identity"), unavailable(IDENTITY_DOWN)),
    ("identity-down", "mfa-report", fault("identity"), IDENTITY_DOWN),
    ("identity-500", "rotate", fault("identity", TOKEN, status=500, retry_after=None),
     IDENTITY_DOWN),
    ("identity-429-once", "consent", fault("identity", TOKEN, status=429, count=1), RETRIED),
    ("entra-plain-429", "consent", entra_plain_429(), THROTTLED_SIGN_IN),
    ("entra-plain-429", "rotate", entra_plain_429(skip=1), THROTTLED),
    ("entra-plain-429", "verify", entra_plain_429(skip=1), unavailable(THROTTLED)),
    ("entra-plain-429", "mfa-report", entra_plain_429(), THROTTLED_ANY),
    # azure-identity's token call (the vault's credential) throttled for good: not bad
    # credentials (was 3 for rotate, 9 for verify), in the double's JSON shape and Entra's text.
    ("identity-429-persistent", "rotate", fault("identity", TOKEN, status=429),
     THROTTLED_VAULT_TOKEN),
    ("identity-429-persistent", "verify", fault("identity", TOKEN, status=429),
     unavailable(THROTTLED_VAULT_TOKEN)),
    ("entra-plain-429-vault-token", "rotate", entra_plain_429(), THROTTLED_VAULT_TOKEN),
    ("entra-plain-429-vault-token", "verify", entra_plain_429(),
     unavailable(THROTTLED_VAULT_TOKEN)),
    ("identity-slow", "consent", slow("identity", TOKEN), too_slow("identity platform")),
    ("identity-tls", "consent", untrusted("AZURE_AUTHORITY_HOST"), IDENTITY_TLS),
    ("identity-tls", "settings", untrusted("AZURE_AUTHORITY_HOST"), IDENTITY_TLS),
    ("identity-tls", "mfa-report", untrusted("AZURE_AUTHORITY_HOST"), IDENTITY_TLS),
    ("public-ca-bundle", "consent", public_ca_bundle, IDENTITY_TLS),
    # -- the vault -----------------------------------------------------------------------------
    ("vault-down", "consent", fault("vault"), KEPT),
    ("vault-down", "store-token", fault("vault"), KEPT),
    ("vault-down", "rotate", fault("vault"), VAULT_DOWN),
    ("vault-down", "settings", fault("vault"), VAULT_DOWN),
    ("vault-down", "verify", fault("vault"), unavailable(VAULT_DOWN)),
    ("vault-500", "rotate", fault("vault", status=500, retry_after=None), VAULT_DOWN),
    ("vault-429-once", "consent", fault("vault", method="PUT", status=429, count=1), RETRIED),
    ("vault-429-once", "settings", fault("vault", method="GET", status=429, count=1),
     Expect(0)),
    ("vault-reset-once", "rotate", fault("vault", method="GET", reset=True, count=1), RETRIED),
    ("vault-slow", "consent", slow("vault"), too_slow("Key Vault", kept=True)),
    ("vault-tls", "consent", untrusted("KEY_VAULT_URL"), KEPT_TLS),
    ("vault-tls", "settings", untrusted("KEY_VAULT_URL"), VAULT_TLS),
    ("vault-tls", "verify", untrusted("KEY_VAULT_URL"), unavailable(VAULT_TLS)),
    # -- Partner Center ------------------------------------------------------------------------
    ("partner-center-down", "consent", pc_down, PC_DOWN_KEPT),
    ("partner-center-down", "rotate", pc_down, PC_DOWN),
    ("partner-center-500", "consent", fault("partnercenter", status=500, retry_after=None),
     PC_DOWN_KEPT),
    ("partner-center-429-once", "consent", fault("partnercenter", PROFILE, status=429, count=1),
     RETRIED),
    ("partner-center-429-once", "rotate", fault("partnercenter", PROFILE, status=429, count=1),
     RETRIED),
    ("partner-center-slow", "rotate", slow("partnercenter"), too_slow("Partner Center")),
    ("partner-center-tls", "rotate", untrusted("PARTNER_CENTER_ENDPOINT"), PC_TLS),
    ("partner-center-tls", "verify", untrusted("PARTNER_CENTER_ENDPOINT"), unavailable(PC_TLS)),
    # -- Microsoft Graph -----------------------------------------------------------------------
    ("graph-down", "mfa-report", fault("graph"), GRAPH_DOWN),
    ("graph-slow", "mfa-report", slow("graph"), too_slow("Microsoft Graph")),
    ("graph-tls", "mfa-report", untrusted("GRAPH_ENDPOINT"),
     Expect(5, ("Microsoft Graph", "certificate"), ("REQUESTS_CA_BUNDLE",))),
    ("graph-ok", "mfa-report", lambda _box, _proxy: {}, MFA_REPORT_OK),
]


@pytest.mark.parametrize(("task", "arrange", "expect"),
                         [pytest.param(*row[1:], id=f"{row[0]}-{row[1]}") for row in ROWS])
def test_service_fault_row(box: Sandbox, proxy: str, task: str, arrange: Arrange,
                           expect: Expect) -> None:
    kept = None
    if task in ("rotate", "settings", "verify"):
        seed(box)
    elif task == "store-token":
        kept = kept_token(box)
    before = box.snapshot()
    env = box.env(**arrange(box, proxy))
    if task == "consent":
        run = box.consent(env=env)
    elif task == "store-token":
        run = box.invoke(task, "--from-file", str(kept), env=env)
    else:
        run = box.invoke(task, env=env)
    box.check(run, expect, before)
    if expect.code == 0 and task in ("consent", "rotate"):
        assert "Fix:" not in run.stderr


def test_token_kept_during_a_partner_center_outage_is_stored_once_it_answers(
        box: Sandbox) -> None:
    before = box.snapshot()
    box.cloud.partner_center_down()
    box.check(box.consent(), PC_DOWN_KEPT, before)
    [kept] = box.kept_files()
    box.cloud.partner_center_down(False)
    box.check(box.invoke("store-token", "--from-file", str(kept)), Expect(0, vault="new"), before)
    assert not kept.exists()
