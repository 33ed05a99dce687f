"""Matrix, bad input: malformed tenant, domain, GUID, vault URL, secret name, cloud, format,
timeout and RBAC-wait overrides; an unknown stack; no Pulumi CLI (flags still work; each missing
value's line names its flag, variable and the output that was wanted, and one line at the end
says why the outputs were not there). Every task refuses with exit 2 before it touches a service,
one line per problem (all of a run's problems at once: tests/cli/test_missing_inputs.py), so the
vault stays exactly as it was.

Unit-level twins: tests/test_properties.py (the validators never accept what Azure rejects),
tests/test_stack_outputs.py (StackOutputs against a stand-in CLI).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from clouddouble import CloudDouble
from tests.matrix.runner import Expect, Run, Sandbox, Snapshot, kept_token, seed

PARTNER_TASKS = ("consent", "rotate", "verify", "settings")
#: (id, flags, extra environment, what the cause names, what the fix names)
BAD_INPUT = [
    ("tenant", ["--csp-domain", "not a domain!"], {},
     ("--csp-domain", "neither a tenant id"), ("GUID",)),
    ("tenant-env", [], {"CSP_DOMAIN": "contoso..onmicrosoft.com"},
     ("CSP_DOMAIN",), ("verified domain",)),
    ("guid", ["--app-id", "1234-not-a-guid"], {}, ("--app-id",), ("Application (client) ID",)),
    ("vault-url-http", ["--vault-url", "http://kv-x.vault.azure.net/"], {},
     ("must use https",), ("https://<vault-name>.vault.azure.net/",)),
    ("vault-url-secret-id", ["--vault-url", "https://kv-x.vault.azure.net/secrets/T/abc"], {},
     ("secret identifier",), ("https://<vault-name>",)),
    ("vault-url-host", ["--vault-url", "https://example.com/"], {},
     ("not a Key Vault host",), ("https://<vault-name>",)),
    ("secret-name", ["--secret-name", "bad_name!"], {},
     ("secret name", "bad_name!"), ("letters, digits and hyphens",)),
    ("cloud", ["--cloud", "mars"], {}, ("mars", "not a known cloud"), ("public, usgov",)),
    ("timeout-override", [], {"SECURE_APP_HTTP_TIMEOUT": "soon"},
     ("SECURE_APP_HTTP_TIMEOUT='soon'",), ("unset it",)),
    ("rbac-wait-override", [], {"SECURE_APP_RBAC_WAIT": "soon"},
     ("SECURE_APP_RBAC_WAIT='soon'",), ("unset it",)),
    ("format", ["--format", "yaml"], {}, ("--format 'yaml'",), ("json",)),
]


@pytest.fixture
def box(cloud: CloudDouble, tmp_path: Path) -> Sandbox:
    box = Sandbox(cloud, tmp_path)
    seed(box)
    return box


def run_task(box: Sandbox, task: str, *args: str, env: dict[str, str] | None = None) -> Run:
    return (box.consent(*args, env=env) if task == "consent"
            else box.invoke(task, *args, env=env))


@pytest.mark.parametrize("task", PARTNER_TASKS)
@pytest.mark.parametrize(("flags", "extra", "cause", "fix"),
                         [pytest.param(*row[1:], id=row[0]) for row in BAD_INPUT])
def test_malformed_input_is_refused_before_anything_happens(
        box: Sandbox, task: str, flags: list[str], extra: dict[str, str],
        cause: tuple[str, ...], fix: tuple[str, ...]) -> None:
    before = box.snapshot()
    box.cloud.clear_requests()
    run = run_task(box, task, *flags, env=box.env(**extra))
    box.check(run, Expect(2, cause, fix), before)
    world = box.world
    mine = [r for r in box.cloud.requests if r.host_port == world.vault.host_port
            or world.tenant.id in r.path or world.domain in r.path]
    assert mine == [], "bad input must be refused before any service is called"


@pytest.mark.parametrize(("task", "flags", "extra", "cause", "fix"), [
    pytest.param("mfa-report", ["--format", "csv"], {}, ("--format 'csv'",), ("json",),
                 id="mfa-report-format"),
    pytest.param("mfa-report", ["--cloud", "moon"], {}, ("moon",), ("usgov",),
                 id="mfa-report-cloud"),
    pytest.param("mfa-report", [], {"SECURE_APP_HTTP_TIMEOUT": "0"},
                 ("SECURE_APP_HTTP_TIMEOUT='0'",), ("unset it",), id="mfa-report-timeout"),
    pytest.param("rotate", ["--keep", "-1"], {}, ("--keep",), ("--keep 1",), id="rotate-keep"),
    pytest.param("verify", [], {"KV_CLIENT_APP_ID": "kv-client"}, ("KV_CLIENT_APP_ID",),
                 ("Application (client) ID",), id="verify-kv-client-guid"),
    pytest.param("settings", [], {"KV_CLIENT_CSP_DOMAIN": "-bad-"}, ("KV_CLIENT_CSP_DOMAIN",),
                 ("verified domain",), id="settings-kv-client-tenant"),
    pytest.param("consent", ["--redirect-port", "80"], {}, ("--redirect-port 80",),
                 ("1024 to 65535",), id="consent-privileged-port"),
    pytest.param("consent", ["--store", "cloud"], {}, ("--store 'cloud'",), ("manual",),
                 id="consent-store"),
    pytest.param("consent", [], {"CPV_APP_SECRET": " "}, ("no CPV app secret",),
                 ("CPV_APP_SECRET",), id="consent-no-secret"),
])
def test_other_bad_flags_and_variables(box: Sandbox, task: str, flags: list[str],
                                       extra: dict[str, str], cause: tuple[str, ...],
                                       fix: tuple[str, ...]) -> None:
    before = box.snapshot()
    box.check(run_task(box, task, *flags, env=box.env(**extra)), Expect(2, cause, fix), before)


@pytest.mark.parametrize(("content", "mode", "cause", "fix"), [
    pytest.param(None, 0o600, ("no fallback file",), ("path that consent printed",),
                 id="missing"),
    pytest.param('{"refresh_token": "x"}', 0o644, ("readable or writable by others",),
                 ("run consent again",), id="others-can-read"),
    pytest.param("[1, 2]", 0o600, ("not a fallback file",), ("path that consent printed",),
                 id="not-a-fallback-file"),
])
def test_store_token_refuses_a_bad_file(box: Sandbox, tmp_path: Path, content: str | None,
                                        mode: int, cause: tuple[str, ...],
                                        fix: tuple[str, ...]) -> None:
    path = tmp_path / "token.json"
    if content is not None:
        path.write_text(content)
        os.chmod(path, mode)
    before = box.snapshot()
    box.check(box.invoke("store-token", "--from-file", str(path)), Expect(2, cause, fix), before)


@pytest.mark.parametrize(("field", "value", "cause"), [
    pytest.param("vault_url", "https://user:pw@evil.example:8443/x/",
                 ("must not carry credentials", "***@evil.example"), id="vault-userinfo"),
    pytest.param("vault_url", "http://kv-evil.vault.azure.net/", ("must use https",),
                 id="vault-http"),
    pytest.param("vault_url", "https://evil.example/", ("not a Key Vault host",),
                 id="vault-host"),
    pytest.param("secret_name", "../../keys/x", ("secret name recorded in", "'../../keys/x'"),
                 id="secret-name-path"),
])
def test_store_token_checks_the_file_as_it_checks_flags(box: Sandbox, field: str, value: str,
                                                         cause: tuple[str, ...]) -> None:
    """A fallback file is input too (issue 10, point 6): another user, or anything that could
    write it, must not be able to send the token elsewhere. Exit 2, one line naming the file,
    the userinfo masked, nothing sent anywhere, the file (and so the token) kept."""
    path = kept_token(box)
    data = json.loads(path.read_text())
    data[field] = value
    path.write_text(json.dumps(data))
    before = box.snapshot()
    box.cloud.clear_requests()
    run = box.invoke("store-token", "--from-file", str(path))
    box.check(run, Expect(2, cause, ("https://<vault-name>",) if field == "vault_url"
                          else ("letters, digits and hyphens",), kept=True), before)
    assert "user:pw" not in run.stdout + run.stderr
    assert box.cloud.requests == [], "store-token talked to a service before refusing"
    assert json.loads(path.read_text())["refresh_token"] == data["refresh_token"]


#: (what the cause names, what the fix names) for each line of a run refused with several.
Lines = list[tuple[tuple[str, ...], tuple[str, ...]]]
VAULT_GAPS: Lines = [
    (("no Key Vault URL",), ("--vault-url", "KEY_VAULT_URL", "output vaultUri")),
    (("no secret name",), ("--secret-name", "KEY_VAULT_SECRET_NAME", "output secretName")),
]


def check_lines(box: Sandbox, run: Run, expected: Lines, before: Snapshot) -> None:
    """``Sandbox.check`` for a run refused with several lines: exit 2, one ``error:`` line per
    expected (cause, fix) in that order, and the vault, the fallback folder and the output as
    clean as for any other refusal."""
    detail = f"exit {run.code}\nstdout: {run.stdout}\nstderr: {run.stderr}"
    assert run.code == 2 and run.stdout == "", detail
    assert "Traceback" not in run.stderr, detail
    problems = [line for line in run.lines if line.startswith("error: ")]
    assert len(problems) == len(expected), detail
    for line, (cause, fix) in zip(problems, expected, strict=True):
        said, sep, advice = line.partition(" Fix: ")
        assert sep, f"the line has no fix: {line}"
        assert all(needle in said for needle in cause), f"{cause} not all in the cause: {line}"
        assert all(needle in advice for needle in fix), f"{fix} not all in the fix: {line}"
    box.check_vault(before, "same")
    assert box.kept_files() == []
    box.check_hygiene(run)


def without_pulumi(box: Sandbox, **extra: str) -> dict[str, str]:
    env = box.env(drop=("KEY_VAULT_URL", "KEY_VAULT_SECRET_NAME"), **extra)
    env["PATH"] = f"{os.path.dirname(sys.executable)}:/usr/bin:/bin"
    return env


@pytest.mark.parametrize("task", PARTNER_TASKS)
def test_without_the_pulumi_cli_each_line_names_the_output_and_its_flag(box: Sandbox,
                                                                         task: str) -> None:
    before = box.snapshot()
    run = run_task(box, task, env=without_pulumi(box))
    check_lines(box, run, [*VAULT_GAPS, (("Pulumi CLI is not installed",),
                                         ("install the Pulumi CLI",))], before)


@pytest.mark.parametrize("task", ["verify", "settings"])
def test_without_the_pulumi_cli_the_kv_client_output_is_named(box: Sandbox, task: str) -> None:
    """No flag exists for the Key Vault client app: the line names only the variable."""
    before = box.snapshot()
    env = box.env(drop=("KV_CLIENT_APP_ID",))
    env["PATH"] = f"{os.path.dirname(sys.executable)}:/usr/bin:/bin"
    run = box.invoke(task, env=env)
    check_lines(box, run, [(("no Key Vault client app id",),
                            ("set KV_CLIENT_APP_ID", "output keyVaultClientAppId")),
                           (("Pulumi CLI is not installed",), ())], before)
    assert "pass KV_CLIENT" not in run.stderr and "--KV" not in run.stderr


def test_without_the_pulumi_cli_flags_still_work(box: Sandbox) -> None:
    world = box.world
    flags = ["--vault-url", world.vault.uri, "--secret-name", world.secret_name]
    before = box.snapshot()
    settings = box.invoke("settings", *flags, env=without_pulumi(box))
    box.check(settings, Expect(0), before)
    assert before[-1][0] in settings.stdout, "settings must name the current version"
    rotated = box.invoke("rotate", *flags, env=without_pulumi(box))
    box.check(rotated, Expect(0, vault="new"), before)


@pytest.mark.parametrize("task", PARTNER_TASKS)
def test_unknown_stack_names_the_stack_the_output_and_the_flag(box: Sandbox, task: str) -> None:
    before = box.snapshot()
    env = box.env(drop=("KEY_VAULT_URL", "KEY_VAULT_SECRET_NAME"))
    run = run_task(box, task, "--stack", "missing", env=env)
    check_lines(box, run, [*VAULT_GAPS, (("stack 'missing'", "no stack named 'missing'"),
                                         ("pulumi stack output", "--stack"))], before)
    [record] = box.records("pulumi")
    assert record["cmdline"][-2:] == ["--stack", "missing"]


def test_stack_outputs_fill_what_flags_leave_out(box: Sandbox) -> None:
    world = box.world
    box.write_stack("prod", vaultUri=world.vault.uri, secretName=world.secret_name)
    before = box.snapshot()
    env = box.env(drop=("KEY_VAULT_URL", "KEY_VAULT_SECRET_NAME"))
    run = box.invoke("settings", "--stack", "prod", "--format", "json", env=env)
    box.check(run, Expect(0), before)
    assert before[-1][0] in run.stdout


def test_plan_of_an_unknown_stack_names_the_file(box: Sandbox) -> None:
    before = box.snapshot()
    box.check(box.invoke("plan", "--stack", "missing"),
              Expect(2, ("Pulumi.missing.yaml",), ("copy Pulumi.dev.yaml",)), before)


def test_plan_of_a_stack_file_that_is_not_yaml_names_the_line(box: Sandbox,
                                                                tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.broken.yaml"
    stack.write_text("config:\n  csp-secure-app:location: [west\n")
    before = box.snapshot()
    box.check(box.invoke("plan", "--stack", str(stack)),
              Expect(2, (str(stack), "not valid YAML at line 3"), ("correct the syntax",)),
              before)
