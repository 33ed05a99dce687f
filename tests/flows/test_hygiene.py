"""Secret hygiene, checked automatically: with known secrets (the CPV app's, the Key Vault client
app's and the writer's client secrets, the admin's password, and every refresh token, access
token and authorization code the double issues), no secret may appear where it does not belong.

* stdout, stderr, every file the tool writes (0600 in 0700 directories; only the fallback file
  may hold the refresh token): every matrix row checks these (tests/matrix.py, Sandbox.check).
* log records and exception text (every exception in the chain, even the suppressed ones):
  in-process runs of every task here, with logging at DEBUG for every library.
* child processes: the Pulumi CLI and the browser are stand-ins that record their own
  /proc/self/cmdline and /proc/self/environ; neither holds a secret it does not need.
* Pulumi state: every credential input and output of the program is marked secret, checked
  through the mock engine.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
import yaml
from invoke.context import Context

from clouddouble import CloudDouble
from foundation import wellknown as wk
from foundation.clouds import resolve_endpoints
from foundation.errors import SecureAppError
from foundation.network import discovery
from infra.config import config_values_from_stack_file
from scripts.cli import tasks
from scripts.flows import consent
from scripts.offline.plan_engine import run_program
from scripts.offline.plan_mocks import RecordingMocks
from scripts.policy import rules as policy_rules
from scripts.types import PartnerApp, VaultTarget
from tests.matrix.runner import JWT, Expect, Sandbox, check_files, kept_token, seed, sign_in
from tests.support import ROOT, deliver, grant_graph_roles, query_params

#: What the Pulumi CLI may need of ours (its state backend and secrets provider may be Azure).
PULUMI_MAY_GET = {"AZURE_CLIENT_SECRET"}


@pytest.fixture
def box(cloud: CloudDouble, tmp_path: Path) -> Sandbox:
    box = Sandbox(cloud, tmp_path)
    grant_graph_roles(cloud, box.world.tenant.id, box.world.writer_app.app_id,
                      "AuditLog.Read.All", "Application.Read.All")
    return box


# -- in-process: log records and exception text --------------------------------------------------

@pytest.fixture
def inside(box: Sandbox, monkeypatch: pytest.MonkeyPatch,
           caplog: pytest.LogCaptureFixture) -> Iterator[Sandbox]:
    """The sandbox's environment in this process, every logger at DEBUG."""
    for name, value in box.env().items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.DEBUG)
    discovery.clear()
    yield box
    discovery.clear()


def exception_texts(exc: BaseException | None) -> list[str]:
    """Everything a debugger, a log handler or SECURE_APP_DEBUG=1 could show of ``exc``."""
    texts, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        texts += [str(exc), repr(exc), *map(repr, exc.args), *traceback.format_exception(exc)]
        texts += [repr(v) for v in vars(exc).values()]
        exc = exc.__cause__ or exc.__context__
    return texts


#: The thread that plays the person's browser: its requests carry the code, as a browser's do.
BROWSER_THREAD = "the person's browser"


def log_texts(caplog: pytest.LogCaptureFixture) -> list[str]:
    texts = []
    for record in caplog.records:
        if record.threadName == BROWSER_THREAD:
            continue
        texts += [record.getMessage(), repr(record.args), record.exc_text or ""]
        if record.exc_info and record.exc_info[1]:
            texts += exception_texts(record.exc_info[1])
    return texts


def assert_nothing_leaked(box: Sandbox, caplog: pytest.LogCaptureFixture,
                          capsys: pytest.CaptureFixture[str],
                          exc: BaseException | None) -> None:
    secrets = box.known_secrets()
    captured = capsys.readouterr()
    assert caplog.records, "the harness must see the libraries' log records"
    for where, texts in (("output", [captured.out, captured.err]),
                         ("a log record", log_texts(caplog)),
                         ("exception text", exception_texts(exc))):
        for text in texts:
            for secret in secrets:
                assert secret not in text, f"a known secret is in {where}: {text[:300]}"
            assert not JWT.search(text), f"a token is in {where}: {text[:300]}"
    check_files(box.home, box.root / "tmp", secrets=secrets, token_dir=box.pending)


def run_task(task: Any, **kwargs: Any) -> BaseException | None:
    """Call a task in this process; the domain error, if any (its exit's context)."""
    try:
        task(Context(), **kwargs)
    except SystemExit as done:
        return done.__context__ or (done if done.code else None)
    return None


def break_nothing(_box: Sandbox) -> None:
    """The happy path."""


def expire_tokens(box: Sandbox) -> None:
    box.cloud.expire_refresh_tokens(box.world.admin.upn)


def no_platform_policy(box: Sandbox) -> None:
    box.world.vault.remove_access_policy(box.world.kv_sp)


def vault_down(box: Sandbox) -> None:
    box.cloud.inject_fault(r".", status=503, count=100, retry_after=None,
                           service=f"vault:{box.world.vault.name}")


TASK_ROWS: list[tuple[str, Any, Callable[[Sandbox], None], bool]] = [
    ("rotate", tasks.rotate, break_nothing, False),
    ("rotate-refused", tasks.rotate, expire_tokens, True),
    ("verify", tasks.verify, break_nothing, False),
    ("verify-broken", tasks.verify, no_platform_policy, True),
    ("settings", tasks.settings, break_nothing, False),
    ("settings-vault-down", tasks.settings, vault_down, True),
    ("mfa-report", tasks.mfa_report, break_nothing, True),  # nomfa admin: exit 9
]


@pytest.mark.parametrize(("task", "arrange", "fails"),
                         [pytest.param(*row[1:], id=row[0]) for row in TASK_ROWS])
def test_task_in_process_leaks_nothing(inside: Sandbox, caplog: pytest.LogCaptureFixture,
                                       capsys: pytest.CaptureFixture[str], task: Any,
                                       arrange: Callable[[Sandbox], None], fails: bool) -> None:
    seed(inside)
    arrange(inside)
    exc = run_task(task)
    assert (exc is not None) == fails, exc
    assert_nothing_leaked(inside, caplog, capsys, exc)


@pytest.mark.parametrize("vault_refuses", [False, True], ids=["stored", "vault-down"])
def test_store_token_in_process_leaks_nothing(inside: Sandbox, caplog: pytest.LogCaptureFixture,
                                              capsys: pytest.CaptureFixture[str],
                                              vault_refuses: bool) -> None:
    kept = kept_token(inside)
    if vault_refuses:
        vault_down(inside)
    exc = run_task(tasks.store_token, from_file=str(kept))
    assert (exc is not None) == vault_refuses
    assert kept.exists() == vault_refuses
    assert_nothing_leaked(inside, caplog, capsys, exc)


CONSENT_ROWS: list[tuple[str, dict[str, str], Callable[[Sandbox], None], type | None]] = [
    ("stored", {}, break_nothing, None),
    ("wrong-cpv-secret", {"app_secret": "wrong-cpv-secret-0123456789"}, break_nothing,
     SecureAppError),
    ("vault-refuses", {}, lambda box: box.world.vault.set_access_policy(
        box.world.writer_sp, secrets=["get"]), SecureAppError),
]


@pytest.mark.parametrize(("override", "arrange", "error"),
                         [pytest.param(*row[1:], id=row[0]) for row in CONSENT_ROWS])
def test_consent_in_process_leaks_nothing(inside: Sandbox, caplog: pytest.LogCaptureFixture,
                                          capsys: pytest.CaptureFixture[str],
                                          override: dict[str, str],
                                          arrange: Callable[[Sandbox], None],
                                          error: type | None) -> None:
    """The consent flow's own functions (the task adds only printing): sign in with the
    loopback listener, redeem the code, check the token, store it."""
    world = inside.world
    arrange(inside)
    endpoints = resolve_endpoints()
    app = PartnerApp(csp_domain=world.domain, app_id=world.cpv.app_id,
                     app_secret=override.get("app_secret", world.cpv_secret))

    def person(url: str) -> None:
        threading.Thread(target=lambda: deliver(sign_in(inside, url)), name=BROWSER_THREAD,
                         daemon=True).start()

    ui = consent.SignInUI(show_url=person, open_browser=lambda _url: False)
    exc: BaseException | None = None
    try:
        tokens = consent.sign_in(app, endpoints, ui, mode="no-browser", port=world.port,
                                 timeout=30)
        assert tokens.refresh_token not in repr(tokens)
        consent.store(tokens, app, VaultTarget(world.vault.uri, world.secret_name), endpoints)
    except SecureAppError as caught:
        exc = caught
    assert isinstance(exc, error) if error else exc is None, exc
    secrets = [*inside.known_secrets(), override.get("app_secret", world.cpv_secret)]
    assert_nothing_leaked(inside, caplog, capsys, exc)
    for text in exception_texts(exc):
        assert all(s not in text for s in secrets)


# -- child processes -----------------------------------------------------------------------------

def assert_child_clean(box: Sandbox, record: dict[str, Any], may_get: set[str]) -> None:
    secrets = box.known_secrets()
    allowed = {record["environ"].get(name) for name in may_get} - {None}
    for arg in record["cmdline"]:
        assert all(s not in arg for s in secrets), "a secret is in a child's arguments"
    for name, value in record["environ"].items():
        if value in allowed:
            continue
        assert all(s not in value for s in secrets), f"a secret is in the child's ${name}"


def test_pulumi_cli_child_gets_no_secret_it_does_not_need(box: Sandbox) -> None:
    """The stack outputs fill every gap (vault, secret name, Key Vault client app): the CLI
    runs, and neither its arguments nor its environment hold the CPV or KV client secret."""
    world = box.world
    before = seed(box)
    box.write_stack("dev", vaultUri=world.vault.uri, secretName=world.secret_name,
                    keyVaultClientAppId=world.kv_app.app_id,
                    keyVaultClientAppSecret=world.kv_secret,
                    keyVaultClientCspDomain=world.domain)
    gaps = ("KEY_VAULT_URL", "KEY_VAULT_SECRET_NAME", "KV_CLIENT_APP_ID", "KV_CLIENT_CSP_DOMAIN")
    # KV_CLIENT_APP_SECRET stays set: the child must not inherit it even so.
    for task in ("settings", "verify", "rotate"):
        run = box.invoke(task, "--stack", "dev", env=box.env(drop=gaps))
        box.check(run, Expect(0, vault="new" if task == "rotate" else "same"), before)
        before = box.snapshot()
    records = box.records("pulumi")
    assert len(records) == 3, "each task asks the CLI once"
    for record in records:
        assert record["cmdline"][-6:] == ["stack", "output", "--json", "--show-secrets",
                                          "--stack", "dev"]
        assert "CPV_APP_SECRET" not in record["environ"]
        assert "KV_CLIENT_APP_SECRET" not in record["environ"]
        assert_child_clean(box, record, PULUMI_MAY_GET)


def test_browser_child_gets_none_of_our_credentials(box: Sandbox) -> None:
    """consent opens the browser (a stand-in on $BROWSER) without CPV_APP_SECRET,
    KV_CLIENT_APP_SECRET or AZURE_CLIENT_SECRET in its environment."""
    env = box.env(BROWSER=str(box.root / "bin" / "browser"))
    before = box.snapshot()
    run = box.consent(env=env, browser=True)
    box.check(run, Expect(0, vault="new"), before)
    [record] = box.records("browser")
    # The browser is opened on the listener's one-time start address (issue 10, point 3).
    assert record["cmdline"][-1].startswith(f"http://localhost:{box.world.port}/start/")
    assert_child_clean(box, record, set())
    for name in ("CPV_APP_SECRET", "KV_CLIENT_APP_SECRET", "AZURE_CLIENT_SECRET"):
        assert name not in record["environ"]


# -- Pulumi state --------------------------------------------------------------------------------

@pytest.mark.parametrize("in_house", ["false", "true"])
def test_every_credential_in_pulumi_state_is_secret(in_house: str) -> None:
    """Through the mock engine: each client secret Pulumi creates (ApplicationPassword.value)
    is a secret output, the token secret's value input is secret, and every stack output or
    resource input that carries a client secret is marked secret."""
    document = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    config = config_values_from_stack_file(document["config"])
    config["inHouseApp"] = in_house
    result = run_program(config, RecordingMocks())
    passwords = result.find(policy_rules.APPLICATION_PASSWORD)
    assert len(passwords) == (2 if in_house == "true" else 1)
    values = {p.outputs["value"] for p in passwords}
    for password in passwords:
        assert "value" in password.options["additionalSecretOutputs"], password.name
    [token] = result.find(policy_rules.SECRET)
    assert token.is_secret("properties.value")
    for record in result.resources:
        for path in _paths_holding(record.inputs, values):
            assert record.is_secret(path), f"{record.name}.{path} carries a client secret"
    carrying = {key for key, out in result.outputs.items() if out.value in values}
    expected = {"keyVaultClientAppSecret"} | ({"inHouseAppSecret"} if in_house == "true"
                                              else set())
    assert carrying == expected
    assert all(result.outputs[key].secret for key in carrying)


def _paths_holding(value: Any, needles: set[str], path: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths_holding(item, needles, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths_holding(item, needles, f"{path}.{index}")
    elif isinstance(value, str) and any(n in value for n in needles):
        yield path


# -- text from outside reaches the terminal escaped (issue 10, "printed safe") ----------------

#: What a terminal would act on: C0 controls (tab aside), DEL, C1.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: Sets the window title, plants a hyperlink, clears the screen.
OSC_AND_CSI = "\x1b]0;owned\x07\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\\x1b[2J"


def test_forged_redirect_error_description_is_printed_escaped(box: Sandbox) -> None:
    """Whoever read the state from `ps` (or the listener page) sends the error redirect first."""
    def forge(box: Sandbox, url: str, _proc: Any) -> None:
        query = query_params(url)
        port = urlsplit(query["redirect_uri"]).port
        deliver(f"http://localhost:{port}/?" + urlencode({
            "error": "odd_error\x1b[31m", "state": query["state"],
            "error_description": f"Sign-in halted{OSC_AND_CSI} re-enter your password."}))

    before = box.snapshot()
    run = box.consent(play=forge)
    box.check(run, Expect(3), before)
    [line] = [line for line in run.lines if line.startswith("error:")]
    assert not CONTROL.search(run.stderr), run.stderr
    assert "\\x1b]0;owned\\x07" in line and "odd_error\\x1b[31m" in line


def test_vault_tag_with_escape_sequences_is_printed_escaped(box: Sandbox) -> None:
    world = box.world
    seed(box)
    [(_version, value, _enabled)] = box.snapshot()
    world.vault.set_secret(world.secret_name, value, content_type=wk.TOKEN_CONTENT_TYPE,
                           tags={"tenantId": f"{world.tenant.id}{OSC_AND_CSI}",
                                 "source": "consent"})
    run = box.invoke("settings")
    assert run.code == 0, run.stderr
    assert not CONTROL.search(run.stdout + run.stderr)
    # A tag that is not a tenant GUID is not trusted as the account id: the tenant's own is
    # printed, and nothing of the planted sequence reaches the terminal.
    assert world.tenant.id in run.stdout and "owned" not in run.stdout


def test_server_error_message_with_c1_characters_is_printed_escaped(box: Sandbox) -> None:
    """The code redemption's refusal (the only token request of a manual consent) carries C1
    controls, the one-code-point form of ESC sequences."""
    before = box.snapshot()
    body = json.dumps({"error": "odd_refusal", "error_codes": [],
                       "error_description": "Refused\x9b2J\x9d0;owned\x9c\x85 for now."})
    box.cloud.inject_fault(r"/oauth2/v2\.0/token$", status=400, count=10, retry_after=None,
                           service="identity", body=body.encode())
    run = box.consent("--store", "manual")
    box.check(run, Expect(3), before)
    [line] = [line for line in run.lines if line.startswith("error:")]
    assert not CONTROL.search(run.stdout + run.stderr), run.stderr
    assert "Refused\\x9b2J\\x9d0;owned\\x9c" in line
