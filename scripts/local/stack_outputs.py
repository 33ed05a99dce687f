"""Defaults from the Pulumi stack's outputs, when the Pulumi CLI is installed.

Flags and environment variables always win; the stack only fills gaps. Without the CLI the
caller's error says which output it wanted, so the user knows which flag replaces it. Which
stack (``--stack``, else ``PULUMI_STACK``) is ``scripts.inputs``' decision.
"""

from __future__ import annotations

import json
import shutil
import subprocess  # nosec B404
from collections.abc import Mapping

from foundation.errors import ConfigError
from scripts.local.children import pulumi_environment


class StackOutputs:
    """Lazily runs ``pulumi stack output --json --show-secrets`` once, on first need.

    ``stack``: None for the Pulumi project's current stack."""

    def __init__(self, stack: str | None = None, cwd: str | None = None) -> None:
        self.stack = stack
        self.cwd = cwd
        self._values: Mapping[str, object] | None = None
        self.unavailable_reason: str | None = None

    def get(self, key: str) -> str | None:
        value = self._load().get(key)
        return str(value) if value not in (None, "") else None

    def require(self, key: str, *, flag: str, env: str) -> str:
        value = self.get(key)
        if value is None:
            why = f" ({self.unavailable_reason})" if self.unavailable_reason else ""
            raise ConfigError(
                f"no value for {flag}: it defaults to the stack output '{key}', which is not "
                f"available{why}",
                fix=f"pass {flag} or set {env}",
            )
        return value

    def _load(self) -> Mapping[str, object]:
        if self._values is not None:
            return self._values
        self._values = {}
        pulumi = shutil.which("pulumi")
        if pulumi is None:
            self.unavailable_reason = "the Pulumi CLI is not installed"
            return self._values
        cmd = [pulumi, "stack", "output", "--json", "--show-secrets"]
        if self.stack:
            cmd += ["--stack", self.stack]
        try:
            # The child's stdout holds secrets: it is captured here and never echoed.
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60,  # noqa: S603 # nosec B603
                                  cwd=self.cwd, check=False, env=pulumi_environment())
        except (OSError, subprocess.TimeoutExpired) as exc:
            self.unavailable_reason = f"'pulumi stack output' failed: {type(exc).__name__}"
            return self._values
        if proc.returncode != 0:
            first = (proc.stderr.strip().splitlines() or ["no message"])[0][:200]
            self.unavailable_reason = f"'pulumi stack output' failed: {first}"
            return self._values
        try:
            loaded = json.loads(proc.stdout or "{}")
        except ValueError:
            self.unavailable_reason = "'pulumi stack output' printed no JSON"
            return self._values
        self._values = loaded if isinstance(loaded, dict) else {}
        return self._values
