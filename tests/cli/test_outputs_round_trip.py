"""Outputs that round-trip (issue 11, point 7): what one task prints can be fed to the next.

`settings --format env` used to emit `KEY_VAULT_URL='<secret URL>?api-version=7.0'`, the name the
tool reads as the *vault* URL: after `eval "$(csp-secure-app settings --format env)"` every task
failed with exit 2. Now every name is `MODULE_` + the setting's key, which no variable the tool
reads starts with; and every JSON result uses one key casing, snake_case, as the settings do."""

from __future__ import annotations

import ast
import json
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clouddouble import CloudDouble
from scripts.flows import settings
from scripts.types import KeyVaultReader
from tests.support import ROOT, PartnerWorld, assert_no_secret, seed_in_process

SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


@pytest.fixture
def world(cloud: CloudDouble, tmp_path: Path) -> PartnerWorld:
    return seed_in_process(PartnerWorld(cloud, tmp_path / "home"))


def test_after_eval_of_the_env_output_rotate_verify_and_settings_still_run(
        world: PartnerWorld, tmp_path: Path) -> None:
    """The README's `eval "$(csp-secure-app settings --format env --show-secrets)"`, in a POSIX
    shell with the world's environment, then the tasks a pipeline runs next."""
    cli = f"{shlex.quote(sys.executable)} -m scripts.cli"
    logs = shlex.quote(str(tmp_path))
    script = f"""
        eval "$({cli} settings --format env --show-secrets)" || exit 90
        [ -n "$MODULE_KEY_VAULT_URL" ] || exit 91
        printf 'url %s\\n' "$MODULE_KEY_VAULT_URL"
        printf 'vault %s\\n' "$KEY_VAULT_URL"
        for task in rotate verify settings; do
            {cli} "$task" > /dev/null 2> {logs}/"$task.err"
            printf '%s %s\\n' "$task" "$?"
        done
    """
    result = subprocess.run(["sh", "-c", script], cwd=ROOT, env=world.env(), text=True,
                            capture_output=True, timeout=240, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    errors = {task: (tmp_path / f"{task}.err").read_text()
              for task in ("rotate", "verify", "settings")}
    assert (lines["rotate"], lines["verify"], lines["settings"]) == ("0", "0", "0"), errors
    assert lines["vault"] == world.vault.uri, "the tool's own KEY_VAULT_URL is untouched"
    [consented, _rotated] = world.vault.secret_versions(world.secret_name)
    assert consented.version in lines["url"]
    assert_no_secret(result.stderr + "".join(errors.values()), world.secrets())


def _names_the_tool_reads() -> set[str]:
    """Every string constant in the product that looks like an environment variable name: the
    variables it reads are among them (scripts.inputs, foundation.clouds, the SDKs' AZURE_*)."""
    found: set[str] = set()
    for folder in ("scripts", "foundation", "infra"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                        re.fullmatch(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)+", node.value):
                    found.add(node.value)
    return found


def _env_names(rendered: str) -> list[str]:
    return [line.split("=", 1)[0] for line in rendered.splitlines()]


def test_no_env_output_name_is_a_variable_the_tool_reads() -> None:
    keyvault = settings.build(csp_domain="c.onmicrosoft.com", csp_account_id="t", app_id="a",
                              app_secret="s", secret_id="https://kv.vault.azure.net/secrets/x/"
                              + "a" * 32,
                              kv_client=KeyVaultReader("k", "ks", "c.onmicrosoft.com"))
    manual = settings.build(csp_domain="c.onmicrosoft.com", csp_account_id="t", app_id="a",
                            app_secret="s", refresh_token="rt")
    names = {*_env_names(settings.render(keyvault, "env", show_secrets=False)),
             *_env_names(settings.render(manual, "env", show_secrets=False))}
    assert all(name.startswith("MODULE_") for name in names), names
    read = _names_the_tool_reads()
    assert {"KEY_VAULT_URL", "CSP_DOMAIN", "KV_CLIENT_APP_SECRET"} <= read, "the scan works"
    assert not names & read
    assert not any(name.startswith(settings.ENV_PREFIX) for name in read)


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from _keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _keys(inner)


def test_every_json_result_uses_snake_case_keys(cloud: CloudDouble, tmp_path: Path) -> None:
    world = PartnerWorld(cloud, tmp_path / "home")
    consented = world.consent("--format", "json")
    assert consented.returncode == 0, consented.stderr
    results = {"consent": consented.stdout}
    for name, args in {"settings": ["settings"], "rotate": ["rotate"], "verify": ["verify"],
                       "verify --platform-url": ["verify", "--platform-url",
                                                 json.loads(consented.stdout)["key_vault_url"]],
                       }.items():
        run = world.invoke(*args, "--format", "json")
        assert run.returncode in (0, 8), (name, run.stderr)
        results[name] = run.stdout
    for name, text in results.items():
        keys = list(_keys(json.loads(text)))
        assert keys, name
        assert [k for k in keys if not SNAKE.match(k)] == [], name
