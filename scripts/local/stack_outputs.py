"""Defaults from the Pulumi stack's outputs, when the Pulumi CLI is installed.

Flags and environment variables always win; the stack only fills gaps. When an output cannot
be had, ``scripts.inputs`` names, for each value still missing, the output it wanted beside the
flag or variable that replaces it, and says once (``unavailable``) why the outputs were not
there: no Pulumi CLI, the CLI's own first error line, or a stack with no outputs yet. Which stack
(``--stack``, else ``PULUMI_STACK``) is ``scripts.inputs``' decision.
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
        #: No ``pulumi`` on PATH: the fix is to install it, not to look at its error.
        self.cli_missing = False

    @property
    def which(self) -> str:
        """The stack as a person reads it: ``stack 'prod'``, or the project's current one."""
        return f"stack {self.stack!r}" if self.stack else "the current Pulumi stack"

    def unavailable(self, *, choose: str) -> ConfigError | None:
        """Why no output could be had, as the one line printed after the values that wanted
        one: no CLI, the CLI's own failure, or a stack with no outputs (not deployed yet). None
        when outputs were read: a key missing among them is said by that value's own line.
        ``choose``: how the user names another stack."""
        values = self._load()
        rest = "or give each value above by its flag or variable"
        if self.cli_missing:
            fix = f"install the Pulumi CLI (https://www.pulumi.com/docs/install/), {rest}"
        elif self.unavailable_reason:
            fix = (f"run `pulumi stack output` in the project folder to see why (another stack: "
                   f"{choose}), {rest}")
        elif not values:
            return ConfigError(f"{self.which} has no outputs: it was not deployed yet",
                               fix=f"run `pulumi up` for it, {rest}")
        else:
            return None
        return ConfigError(f"the outputs of {self.which} could not be read: "
                           f"{self.unavailable_reason}", fix=fix)

    def get(self, key: str) -> str | None:
        value = self._load().get(key)
        return str(value) if value not in (None, "") else None

    def require(self, key: str, *, flag: str | None, env: str) -> str:
        """The output ``key``, else one line naming it, why it is missing, and what replaces it:
        ``flag`` (None for a value that has no flag, such as a secret) or ``env``."""
        value = self.get(key)
        if value is None:
            why = f" ({self.unavailable_reason})" if self.unavailable_reason else ""
            raise ConfigError(
                f"no value for {flag or env}: it defaults to the stack output '{key}', which is "
                f"not available{why}",
                fix=f"pass {flag} or set {env}" if flag else f"set {env}",
            )
        return value

    def _load(self) -> Mapping[str, object]:
        if self._values is not None:
            return self._values
        self._values = {}
        pulumi = shutil.which("pulumi")
        if pulumi is None:
            self.unavailable_reason = "the Pulumi CLI is not installed"
            self.cli_missing = True
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
