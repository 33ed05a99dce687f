"""What the children of a real task run inherit (issue 10, point 5).

azure-identity's ``DefaultAzureCredential`` runs ``az`` with this process's whole environment;
the browser and the Pulumi CLI get ours filtered. A stand-in ``az`` on PATH records its
environment and answers with a real token of the pipeline writer app from the double, so the
task runs to its end through the real azure-identity code path; the stand-in browser records
its own. None of them may hold our secrets, nor a storage connection string of the shell.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from clouddouble import CloudDouble
from tests.matrix.runner import Expect, Sandbox, seed

#: A credential of the shell nothing of ours needs; only Pulumi's state backend might.
CONNECTION_STRING = ("DefaultEndpointsProtocol=https;AccountName=state;"
                     "AccountKey=c3RvcmFnZS1rZXktb2YtdGhlLXNoZWxs;EndpointSuffix=core.windows.net")

#: Stands in for the Azure CLI: records its environment, then does what `az account
#: get-access-token` does for a logged-in pipeline identity (the writer app, whose secret is
#: written into this script, not passed through the environment).
FAKE_AZ = """#!{python}
import json, os, ssl, sys, time, urllib.parse, urllib.request
with open({record!r}, "w") as f:
    json.dump({{"cmdline": sys.argv, "environ": dict(os.environ)}}, f)
args = sys.argv[1:]
scope = args[args.index("--scope") + 1] if "--scope" in args else \\
    args[args.index("--resource") + 1].rstrip("/") + "/.default"
tenant = args[args.index("--tenant") + 1] if "--tenant" in args else {tenant!r}
body = urllib.parse.urlencode({{"grant_type": "client_credentials", "client_id": {client!r},
                               "client_secret": {secret!r}, "scope": scope}}).encode()
url = os.environ["AZURE_AUTHORITY_HOST"].rstrip("/") + f"/{{tenant}}/oauth2/v2.0/token"
context = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
reply = json.load(urllib.request.urlopen(url, body, context=context, timeout=20))
print(json.dumps({{"accessToken": reply["access_token"], "tenant": tenant, "tokenType": "Bearer",
                  "expires_on": int(time.time()) + int(reply["expires_in"])}}))
"""


@pytest.fixture
def box(cloud: CloudDouble, tmp_path: Path) -> Sandbox:
    box = Sandbox(cloud, tmp_path)
    world = box.world
    az = box.root / "bin" / "az"
    record = str(box.root / "records" / "az.json")
    az.write_text(FAKE_AZ.format(python=sys.executable, record=record, tenant=world.tenant.id,
                                 client=world.writer_app.app_id, secret=world.writer_secret))
    az.chmod(0o700)
    return box


def assert_holds_nothing_of_ours(box: Sandbox, environ: dict[str, str]) -> None:
    secrets = [box.world.cpv_secret, box.world.kv_secret, CONNECTION_STRING]
    for name, value in environ.items():
        assert all(s not in value for s in secrets), f"a secret is in the child's ${name}"
    for name in ("CPV_APP_SECRET", "KV_CLIENT_APP_SECRET", "AZURE_STORAGE_CONNECTION_STRING"):
        assert name not in environ


def az_login_env(box: Sandbox, **extra: str) -> dict[str, str]:
    """The admin's shell after `az login`: no AZURE_CLIENT_SECRET, so DefaultAzureCredential
    reaches the CLI (only it, so the test cannot pass through another credential)."""
    return box.env(drop=("AZURE_CLIENT_SECRET", "AZURE_CLIENT_ID"),
                   AZURE_TOKEN_CREDENTIALS="AzureCliCredential",
                   AZURE_STORAGE_CONNECTION_STRING=CONNECTION_STRING, **extra)


def recorded_az(box: Sandbox) -> dict[str, Any]:
    import json

    path = box.root / "records" / "az.json"
    assert path.exists(), "the task must have reached `az` through DefaultAzureCredential"
    return dict(json.loads(path.read_text()))


def test_az_started_by_azure_identity_during_rotate_inherits_no_secret(box: Sandbox) -> None:
    before = seed(box)
    run = box.invoke("rotate", env=az_login_env(box))
    box.check(run, Expect(0, vault="new"), before)
    record = recorded_az(box)
    assert record["cmdline"][1:3] == ["account", "get-access-token"]
    assert_holds_nothing_of_ours(box, record["environ"])


def test_az_started_during_consent_to_key_vault_inherits_no_secret(box: Sandbox) -> None:
    before = box.snapshot()
    run = box.consent(env=az_login_env(box))
    box.check(run, Expect(0, vault="new"), before)
    assert_holds_nothing_of_ours(box, recorded_az(box)["environ"])


def test_browser_gets_an_allow_listed_environment(box: Sandbox) -> None:
    env = az_login_env(box, BROWSER=str(box.root / "bin" / "browser"), CI_JOB_TOKEN="ci-token",
                       SOME_TOOL_SETTING="harmless-but-not-needed")
    before = box.snapshot()
    run = box.consent(env=env, browser=True)
    box.check(run, Expect(0, vault="new"), before)
    [record] = box.records("browser")
    environ = record["environ"]
    assert_holds_nothing_of_ours(box, environ)
    # An allow-list, not a deny pattern: names it does not know stay out, whatever they hold.
    assert not {"CI_JOB_TOKEN", "SOME_TOOL_SETTING", "AZURE_TENANT_ID", "KEY_VAULT_URL",
                "CPV_APP_ID"} & set(environ)
    assert environ["PATH"] == env["PATH"] and environ["HOME"] == env["HOME"]


def test_pulumi_gets_the_connection_string_but_not_our_secrets(box: Sandbox) -> None:
    """The state backend may be Azure blob storage: Pulumi keeps what it needs, and only it."""
    world = box.world
    box.write_stack("dev", vaultUri=world.vault.uri, secretName=world.secret_name)
    before = seed(box)
    run = box.invoke("rotate", "--stack", "dev", env=az_login_env(
        box, PULUMI_CONFIG_PASSPHRASE="state-passphrase") | {"KEY_VAULT_URL": "",
                                                             "KEY_VAULT_SECRET_NAME": ""})
    box.check(run, Expect(0, vault="new"), before)
    [record] = box.records("pulumi")
    environ = record["environ"]
    assert environ["AZURE_STORAGE_CONNECTION_STRING"] == CONNECTION_STRING
    assert environ["PULUMI_CONFIG_PASSPHRASE"] == "state-passphrase"
    assert "CPV_APP_SECRET" not in environ and "KV_CLIENT_APP_SECRET" not in environ
    assert all(world.cpv_secret not in v and world.kv_secret not in v for v in environ.values())
    az = recorded_az(box)["environ"]
    assert "PULUMI_CONFIG_PASSPHRASE" not in az and "AZURE_STORAGE_CONNECTION_STRING" not in az
