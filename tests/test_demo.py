"""`invoke demo`: the README's first command, end to end, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.partner_world import ROOT


def test_demo_completes_and_prints_masked_settings(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "CI": "true"}
    proc = subprocess.run([sys.executable, "-m", "invoke", "demo", "--format", "json"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    settings = json.loads(proc.stdout)
    assert settings["mfa_method"] == "Azure Key Vault"
    assert settings["app_secret"] == settings["key_vault_client_app_secret"] == "***"
    assert settings["key_vault_url"].endswith("?api-version=7.0")
    assert "/secrets/PartnerCenterRefreshToken/" in settings["key_vault_url"]
    for step in ("1/6", "2/6", "3/6", "4/6", "5/6", "6/6"):
        assert step in proc.stderr
    assert "overall: ok" in proc.stderr and "Traceback" not in proc.stderr
