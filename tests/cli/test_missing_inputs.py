"""Every missing input of a run is reported in that run (issue 11, point 4).

A new user without the Pulumi CLI once needed six runs to reach the sign-in: the tenant, then the
secret, then the vault URL, then each of the three KV_CLIENT_* values, and the text asked for a
"--KV_CLIENT_APP_ID" flag that does not exist. Now each task resolves all of its inputs (flags,
then environment, then stack outputs) and prints one line per missing or invalid value, naming
the real flag and variable, then once why the stack outputs were not there; exit 2, nothing on
stdout. A variable set under a near-miss name is named ("did you mean"). consent checks all of it
before anyone signs in and before it prompts for the CPV app secret, which it asks only when
nothing else is missing and someone is at a terminal.

Each run is `python -m scripts.cli <task>` as a subprocess with a clean environment (only what
the row sets, the double's endpoints and a private HOME) and no `pulumi` on PATH.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from clouddouble import CloudDouble
from scripts.local.pending import PendingToken
from tests.support import ROOT, PartnerWorld, deliver

#: A flag (--vault-url) or a variable (KV_CLIENT_APP_ID) named in a line.
NAMED = re.compile(r"(?<![\w-])--[a-z][a-z-]*|\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")
NO_CLI = ("error: the outputs of the current Pulumi stack could not be read: the Pulumi CLI is "
          "not installed. Fix: install the Pulumi CLI (https://www.pulumi.com/docs/install/), or "
          "give each value above by its flag or variable.")

TENANT = {"--csp-domain", "CSP_DOMAIN"}
APP = {"--app-id", "CPV_APP_ID"}
APP_SECRET = {"CPV_APP_SECRET"}
VAULT = {"--vault-url", "KEY_VAULT_URL"}
SECRET_NAME = {"--secret-name", "KEY_VAULT_SECRET_NAME"}
KV = [{"KV_CLIENT_APP_ID"}, {"KV_CLIENT_APP_SECRET"}, {"KV_CLIENT_CSP_DOMAIN"}]
PARTNER = [TENANT, APP, APP_SECRET, VAULT, SECRET_NAME]


@pytest.fixture
def world(cloud: CloudDouble, tmp_path: Path) -> PartnerWorld:
    return PartnerWorld(cloud, tmp_path / "home" / ".secure-app")


def clean_env(world: PartnerWorld, **values: str) -> dict[str, str]:
    """Nothing of the developer's shell: a private HOME, the double's endpoints, no pulumi."""
    home = world.home.parent
    home.mkdir(parents=True, exist_ok=True)
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "SECURE_APP_HOME": str(world.home),
            **world.cloud.env(), **values}


def full_env(world: PartnerWorld, *, drop: tuple[str, ...] = (), **extra: str) -> dict[str, str]:
    """Every input set (the writer's credentials too), but those in ``drop``."""
    values = {
        "CSP_DOMAIN": world.domain, "CPV_APP_ID": world.cpv.app_id,
        "CPV_APP_SECRET": world.cpv_secret, "KEY_VAULT_URL": world.vault.uri,
        "KEY_VAULT_SECRET_NAME": world.secret_name, "KV_CLIENT_APP_ID": world.kv_app.app_id,
        "KV_CLIENT_APP_SECRET": world.kv_secret, "KV_CLIENT_CSP_DOMAIN": world.domain,
        "AZURE_TENANT_ID": world.tenant.id, "AZURE_CLIENT_ID": world.writer_app.app_id,
        "AZURE_CLIENT_SECRET": world.writer_secret}
    for name in drop:
        del values[name]
    return clean_env(world, **{**values, **extra})


def run(world: PartnerWorld, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A task with stdin that is no terminal (nothing can be prompted for) and the fast flags."""
    if args[:1] == ("consent",):
        args = (*args, "--no-browser", "--redirect-port", str(world.port), "--timeout", "30")
    return subprocess.run([sys.executable, "-m", "scripts.cli", *args], cwd=ROOT, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=90,
                          check=False)


def reported(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """The error lines of a run refused for bad input: exit 2, nothing on stdout, no prompt."""
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr and "input hidden" not in proc.stderr, proc.stderr
    lines = proc.stderr.splitlines()
    for line in lines:
        assert line.startswith("error: ") and " Fix: " in line, line
    return lines


def named(lines: list[str]) -> list[set[str]]:
    """The flags and variables each line names, sorted for comparing as a multiset."""
    return sorted((set(NAMED.findall(line)) for line in lines), key=sorted)


def named_sets(expected: list[set[str]]) -> list[set[str]]:
    return sorted(expected, key=sorted)


def gaps(lines: list[str], *, footer: bool) -> list[str]:
    """The lines for values, once the one line about the stack outputs (last) is checked."""
    if footer:
        assert lines[-1] == NO_CLI, lines
    values = lines[:-1] if footer else lines
    assert not any("Pulumi CLI" in line for line in values), "said once, at the end"
    return values


# -- nothing set: every input of the task in one run ----------------------------------------------

@pytest.mark.parametrize(("args", "expected", "footer"), [
    pytest.param(("consent",), [*PARTNER, *KV], True, id="consent-keyvault"),
    pytest.param(("consent", "--store", "manual"), [TENANT, APP, APP_SECRET], False,
                 id="consent-manual"),
    pytest.param(("rotate",), PARTNER, True, id="rotate"),
    pytest.param(("verify",), [*PARTNER, *KV], True, id="verify"),
    pytest.param(("settings",), [*PARTNER, *KV], True, id="settings"),
])
def test_nothing_set_every_missing_input_in_one_run(world: PartnerWorld, args: tuple[str, ...],
                                                    expected: list[set[str]],
                                                    footer: bool) -> None:
    world.cloud.clear_requests()
    lines = gaps(reported(run(world, *args, env=clean_env(world))), footer=footer)
    assert named(lines) == named_sets(expected)
    assert world.cloud.requests == [], "nothing may be asked of a service with inputs missing"
    assert "error: no CSP tenant. Fix: pass --csp-domain or set CSP_DOMAIN." in lines
    if KV[0] in expected:
        assert ("error: no Key Vault client app id. Fix: set KV_CLIENT_APP_ID (or deploy the stack "
                "so its output keyVaultClientAppId can be read).") in lines
    assert not any("--KV_" in line or "pass KV_" in line for line in lines), lines


def test_store_token_reports_the_file_and_the_variables_together(world: PartnerWorld) -> None:
    assert named(reported(run(world, "store-token", env=clean_env(world)))) == [{"--from-file"}]
    missing = world.home / "pending" / "nope.json"
    env = clean_env(world, SECURE_APP_HTTP_TIMEOUT="soon", CSP_CLOUD="mars")
    lines = reported(run(world, "store-token", "--from-file", str(missing), env=env))
    assert len(lines) == 3, lines
    assert [any(word in line for line in lines) for word in (
        "SECURE_APP_HTTP_TIMEOUT='soon'", "CSP_CLOUD='mars'", f"no fallback file at {missing}")
    ] == [True, True, True]


def test_store_token_of_a_manual_file_names_both_flags(world: PartnerWorld, tmp_path: Path) -> None:
    """A token kept by ``consent --store manual`` records no vault: both flags in one line."""
    path = tmp_path / "kept.json"
    fields = {name: "" for name in PendingToken.__dataclass_fields__}
    path.write_text(json.dumps({**fields, "refresh_token": "rt-kept",
                                "tenant_id": world.tenant.id}))
    path.chmod(0o600)
    [line] = reported(run(world, "store-token", "--from-file", str(path), env=clean_env(world)))
    assert "names no vault" in line and line.endswith("Fix: pass --vault-url and --secret-name.")
    [line] = reported(run(world, "store-token", "--from-file", str(path), "--vault-url",
                          world.vault.uri, env=clean_env(world)))
    assert line.endswith("Fix: pass --secret-name.")


# -- one value missing: that one only ------------------------------------------------------------

@pytest.mark.parametrize(("task", "dropped", "expected", "footer"), [
    ("consent", "CSP_DOMAIN", TENANT, False),
    ("consent", "KV_CLIENT_CSP_DOMAIN", {"KV_CLIENT_CSP_DOMAIN"}, True),
    ("rotate", "CPV_APP_ID", APP, False),
    ("rotate", "CPV_APP_SECRET", APP_SECRET, False),
    ("verify", "KV_CLIENT_APP_SECRET", {"KV_CLIENT_APP_SECRET"}, True),
    ("settings", "KEY_VAULT_SECRET_NAME", SECRET_NAME, True),
    ("settings", "KEY_VAULT_URL", VAULT, True),
])
def test_one_missing_value_is_the_only_one_named(world: PartnerWorld, task: str, dropped: str,
                                                 expected: set[str], footer: bool) -> None:
    world.cloud.clear_requests()
    lines = reported(run(world, task, env=full_env(world, drop=(dropped,))))
    assert named(gaps(lines, footer=footer)) == [expected]
    assert "did you mean" not in lines[0], "a variable the tool reads is never a misspelling"
    assert world.cloud.requests == []


def test_rotate_needs_no_key_vault_client_app(world: PartnerWorld) -> None:
    """The KV_CLIENT_* values are the platform's: rotate gets past its inputs without them (and
    without the stack outputs that could stand in) and goes on to the vault."""
    world.cloud.clear_requests()
    proc = run(world, "rotate", env=full_env(world, drop=tuple(v for s in KV for v in s)))
    assert "KV_CLIENT" not in proc.stderr and "Pulumi" not in proc.stderr, proc.stderr
    assert any(r.host_port == world.vault.host_port for r in world.cloud.requests)


def test_invalid_and_missing_values_come_together(world: PartnerWorld) -> None:
    env = full_env(world, drop=("CPV_APP_ID", "KV_CLIENT_APP_SECRET"),
                   CSP_DOMAIN="not a domain!", KEY_VAULT_SECRET_NAME="bad_name!")
    lines = reported(run(world, "verify", env=env))
    assert len(lines) == 5, lines  # tenant, app id, secret name, KV secret, the stack outputs
    assert "CSP_DOMAIN 'not a domain!' is neither a tenant id" in lines[0]
    assert any("KEY_VAULT_SECRET_NAME 'bad_name!'" in line for line in lines)
    assert named(gaps(lines, footer=True)) == named_sets(
        [{"CSP_DOMAIN"}, APP, {"KEY_VAULT_SECRET_NAME"}, {"KV_CLIENT_APP_SECRET"}])


# -- near misses ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("task", "right", "wrong"), [
    ("consent", "CSP_DOMAIN", "CSP_DOMIAN"),
    ("rotate", "KEY_VAULT_URL", "KEYVAULT_URL"),
    ("settings", "CPV_APP_ID", "CPV_APPID"),
    ("verify", "KV_CLIENT_APP_ID", "kv_client_app_id"),
])
def test_a_near_miss_variable_gets_did_you_mean(world: PartnerWorld, task: str, right: str,
                                                wrong: str) -> None:
    value = full_env(world)[right]
    lines = reported(run(world, task, env=full_env(world, drop=(right,), **{wrong: value})))
    assert f"({wrong} is set: did you mean {right}?)" in lines[0], lines
    assert value not in lines[0], "the line names the variable, never its value"
    assert len(lines) == (2 if right in ("KEY_VAULT_URL", "KV_CLIENT_APP_ID") else 1), lines


# -- consent: nothing signed in, nothing prompted, while anything is missing -----------------------

def _take_terminal() -> None:
    """In the child: the pseudo terminal on stdin becomes its controlling terminal, as a shell's
    is, so getpass prompts on it (not on stderr) exactly as it would for a person."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def at_terminal(world: PartnerWorld, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    """consent with a terminal on stdin; the terminal's other end (what the person sees)."""
    master, slave = pty.openpty()
    cmd = [sys.executable, "-m", "scripts.cli", "consent", "--no-browser", "--redirect-port",
           str(world.port), "--timeout", "30"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=slave, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=_take_terminal)  # only an ioctl: safe after fork
    os.close(slave)
    return proc, master


def screen(master: int, until: str | None = None, limit: float = 30) -> str:
    """What the terminal showed: until ``until`` appears, or until the program let go of it."""
    seen, deadline = b"", time.monotonic() + limit
    while time.monotonic() < deadline and (until is None or until.encode() not in seen):
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: every holder of the terminal is gone
                break
            if not chunk:
                break
            seen += chunk
    return seen.decode(errors="replace")


def test_consent_at_a_terminal_never_prompts_while_anything_else_is_missing(
        world: PartnerWorld) -> None:
    world.cloud.clear_requests()
    env = full_env(world, drop=("CSP_DOMAIN", "CPV_APP_SECRET", "KEY_VAULT_URL"))
    proc, master = at_terminal(world, env)
    out, err = proc.communicate(timeout=60)
    shown = screen(master, limit=2)
    os.close(master)
    assert proc.returncode == 2 and out == b"", err
    assert "input hidden" not in shown + err.decode(), "a secret typed now would be wasted"
    lines = err.decode().splitlines()
    assert named(gaps(lines, footer=True)) == named_sets([TENANT, APP_SECRET, VAULT])
    assert any("CPV app secret" in line and "hidden prompt" in line for line in lines), lines
    assert world.cloud.requests == [], "no sign-in may start while an input is missing"


def test_consent_prompts_last_and_only_for_the_secret(world: PartnerWorld) -> None:
    """Everything else right: the prompt comes before any request, and the typed secret signs in
    (the MFA admin, through the double's pages) and the token is stored."""
    world.cloud.clear_requests()
    proc, master = at_terminal(world, full_env(world, drop=("CPV_APP_SECRET",)))
    try:
        assert "CPV app secret (input hidden): " in screen(master, until="(input hidden): ")
        assert world.cloud.requests == [], "the prompt must come before the sign-in starts"
        os.write(master, f"{world.cpv_secret}\n".encode())
        assert proc.stderr is not None
        for raw in proc.stderr:
            line = raw.decode().strip()
            if line.startswith("https://"):
                deliver(world.cloud.sign_in(line, world.admin.upn, world.password,
                                            mfa_code="auto", consent=True))
                break
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert proc.returncode == 0, err
    assert world.cpv_secret not in out.decode() + err.decode()
    assert len(world.vault.secret_versions(world.secret_name)) == 1
