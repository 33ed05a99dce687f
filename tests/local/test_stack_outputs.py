"""Stack outputs as defaults, through a stand-in `pulumi` executable on PATH (the CLI is the
process boundary here, as the network is for the SDKs)."""

from __future__ import annotations

import json
import os
import stat
import sys

import pytest

from foundation.errors import ConfigError
from scripts.local.stack_outputs import StackOutputs

FAKE_PULUMI = """#!{python}
import json, os, sys
with open({record!r}, "w") as f:
    json.dump({{"argv": sys.argv[1:], "env": sorted(os.environ)}}, f)
if "--stack" in sys.argv and sys.argv[sys.argv.index("--stack") + 1] == "missing":
    print("error: no stack named 'missing' found", file=sys.stderr)
    sys.exit(255)
print(json.dumps({{"vaultUri": "https://kv-x.vault.azure.net/", "secretName": "Tok"}}))
"""


@pytest.fixture
def fake_pulumi(tmp_path, monkeypatch):
    record = tmp_path / "record.json"
    exe = tmp_path / "bin" / "pulumi"
    exe.parent.mkdir()
    exe.write_text(FAKE_PULUMI.format(python=sys.executable, record=str(record)))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{exe.parent}{os.pathsep}{os.environ['PATH']}")
    return record


def test_outputs_fill_gaps_and_child_gets_no_cpv_secret(fake_pulumi, monkeypatch):
    monkeypatch.setenv("CPV_APP_SECRET", "cpv-secret-value")
    monkeypatch.setenv("KV_CLIENT_APP_SECRET", "kv-secret-value")
    outputs = StackOutputs("prod")
    assert outputs.require("vaultUri", flag="--vault-url", env="KEY_VAULT_URL") == (
        "https://kv-x.vault.azure.net/")
    seen = json.loads(fake_pulumi.read_text())
    assert seen["argv"] == ["stack", "output", "--json", "--show-secrets", "--stack", "prod"]
    assert "CPV_APP_SECRET" not in seen["env"] and "KV_CLIENT_APP_SECRET" not in seen["env"]


def test_unknown_stack_names_the_output_and_the_flag(fake_pulumi):
    with pytest.raises(ConfigError) as caught:
        StackOutputs("missing").require("vaultUri", flag="--vault-url", env="KEY_VAULT_URL")
    line = caught.value.one_line()
    assert "vaultUri" in line and "--vault-url" in line and "no stack named 'missing'" in line


def test_without_the_pulumi_cli_the_message_says_which_output_was_wanted(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigError) as caught:
        StackOutputs().require("secretName", flag="--secret-name", env="KEY_VAULT_SECRET_NAME")
    line = caught.value.one_line()
    assert "secretName" in line and "Pulumi CLI is not installed" in line
    assert "--secret-name" in line and "KEY_VAULT_SECRET_NAME" in line
