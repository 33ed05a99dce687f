"""Every missing or invalid input of a run, gathered and reported together.

A new user once needed six runs to reach the sign-in, one missing value per run. ``Gather``
notes each problem and goes on checking, and raises them all at the end (one line each, as
``plan`` reports a stack's config), with "did you mean" for a variable set under a near-miss
name and, once, why the stack outputs were not there. ``Wanted`` names each value the way the
user gives it: its flag (if it has one), its variable, the stack output that can stand in.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TypeVar

from foundation.clouds import AUTHORITY_ENV, CLOUD_ENV, GRAPH_ENV, PARTNER_CENTER_ENV
from foundation.errors import ConfigError, InputProblems

if TYPE_CHECKING:
    from scripts.local.stack_outputs import StackOutputs

T = TypeVar("T")
DEBUG_ENV: Final = "SECURE_APP_DEBUG"
STACK_ENV: Final = "PULUMI_STACK"
HOME_ENV: Final = "SECURE_APP_HOME"


@dataclass(frozen=True)
class Wanted:
    """A value a task needs: what a person calls it, its variable, its flag (None for secrets
    and the Key Vault client app, which have none) and the stack output that can stand in."""

    label: str
    env: str
    flag: str | None = None
    output: str | None = None
    secret: bool = False


CSP_TENANT: Final = Wanted("CSP tenant", "CSP_DOMAIN", "--csp-domain")
CPV_APP: Final = Wanted("CPV app id", "CPV_APP_ID", "--app-id")
CPV_SECRET: Final = Wanted("CPV app secret", "CPV_APP_SECRET", secret=True)
VAULT_URL: Final = Wanted("Key Vault URL", "KEY_VAULT_URL", "--vault-url", "vaultUri")
SECRET_NAME: Final = Wanted("secret name", "KEY_VAULT_SECRET_NAME", "--secret-name", "secretName")
KV_APP: Final = Wanted("Key Vault client app id", "KV_CLIENT_APP_ID", output="keyVaultClientAppId")
KV_SECRET: Final = Wanted("Key Vault client app secret", "KV_CLIENT_APP_SECRET",
                          output="keyVaultClientAppSecret", secret=True)
KV_DOMAIN: Final = Wanted("Key Vault client CSP domain", "KV_CLIENT_CSP_DOMAIN",
                          output="keyVaultClientCspDomain")
#: What the tool reads: one of these set is never a misspelling of another (KV_CLIENT_APP_SECRET
#: is close to KV_CLIENT_APP_ID, and means what it says).
KNOWN_VARIABLES: Final = frozenset({
    CSP_TENANT.env, CPV_APP.env, CPV_SECRET.env, VAULT_URL.env, SECRET_NAME.env, KV_APP.env,
    KV_SECRET.env, KV_DOMAIN.env, CLOUD_ENV, STACK_ENV, HOME_ENV, DEBUG_ENV, AUTHORITY_ENV,
    PARTNER_CENTER_ENV, GRAPH_ENV, "SECURE_APP_HTTP_TIMEOUT", "SECURE_APP_RBAC_WAIT"})
#: difflib's ratio from which a set variable is named as a likely misspelling (CSP_DOMIAN 0.9,
#: KEYVAULT_URL 0.96, CPV_APPID 0.95; unrelated names stay well below).
NEAR_MISS: Final = 0.8
Got = tuple[str, str]  # (value, where it came from: the flag, the variable or the stack output)


class Gather:
    """One run's inputs being resolved: each problem is noted and the rest are still checked;
    :meth:`done` raises them all together."""

    def __init__(self, environ: Mapping[str, str], outputs: StackOutputs | None = None) -> None:
        self.environ, self.outputs = environ, outputs
        self.errors: list[ConfigError] = []
        self._stack_wanted = False

    def check(self, call: Callable[[], T]) -> T | None:
        try:
            return call()
        except ConfigError as exc:
            self.errors.append(exc)
            return None

    def checked(self, got: Got | None, checker: Callable[[str, str], T]) -> T | None:
        return None if got is None else self.check(lambda: checker(*got))

    def value(self, wanted: Wanted, flag_value: str | None = None, *,
              note: bool = True) -> Got | None:
        """Flag, then variable, then stack output (the CLI runs at most once, on first need);
        else None with the gap noted (``note`` False: the caller notes it, after a prompt)."""
        if wanted.flag and flag_value and flag_value.strip():
            return flag_value, wanted.flag
        if self.environ.get(wanted.env, "").strip():
            return self.environ[wanted.env], wanted.env
        if wanted.output and self.outputs is not None:
            got = self.outputs.get(wanted.output)
            if got:
                return got, f"the stack output {wanted.output}"
            self._stack_wanted = True
        if note:
            self.errors.append(self.missing(wanted))
        return None

    def missing(self, wanted: Wanted, *, at_terminal: bool = False) -> ConfigError:
        """``no <what>``, any misspelt variable set instead, and every way to give it."""
        notes = [f"{name} is set: did you mean {wanted.env}?" for name in self.near(wanted.env)]
        if wanted.env in self.environ:
            notes.insert(0, f"{wanted.env} is set but blank")
        ways = [text for on, text in (
            (wanted.secret, "a secret is never a command-line flag"),
            (bool(wanted.output), f"or deploy the stack so its output {wanted.output} can be read"),
        ) if on]
        fix = (f"pass {wanted.flag} or set {wanted.env}" if wanted.flag else f"set {wanted.env}")
        fix += f" ({'; '.join(ways)})" if ways else ""
        if at_terminal:
            fix += ", or type it at the hidden prompt, asked once every other input is right"
        return ConfigError(f"no {wanted.label}" + (f" ({'; '.join(notes)})" if notes else ""),
                           fix=fix)

    def near(self, env: str) -> list[str]:
        """Variables set under a name close to ``env`` (case aside) that no input reads."""
        import difflib

        others = {name.upper(): name for name in self.environ if name not in KNOWN_VARIABLES}
        return [others[close] for close in
                difflib.get_close_matches(env, list(others), n=3, cutoff=NEAR_MISS)]

    def secret_last(self, wanted: Wanted, got: Got | None, slot: int,
                    prompt: Callable[[str], str] | None) -> str | None:
        """The secret from the environment; else, when everything else is right and someone is
        at a terminal, typed at a hidden prompt. Asked last, so a typed secret is never wasted
        on a run that then stops at a missing vault URL (and, for consent, before the sign-in:
        an MFA sign-in is never wasted on a missing secret). ``slot``: where its line goes."""
        if got is not None:
            return got[0].strip()
        if prompt is None and sys.stdin is not None and sys.stdin.isatty():
            import getpass  # only a secret missing from the environment is prompted for

            prompt = getpass.getpass
        typed = "" if prompt is None or self.errors else prompt(
            f"{wanted.label} (input hidden): ").strip()
        if not typed:
            self.errors.insert(slot, self.missing(
                wanted, at_terminal=prompt is not None and bool(self.errors)))
        return typed or None

    def done(self) -> None:
        """Raise what was noted: one error as itself, several as :class:`InputProblems`, and
        once, last, why the stack outputs were not there when a missing value wanted one."""
        why = (self.outputs.unavailable(choose=f"--stack NAME or {STACK_ENV}")
               if self.errors and self.outputs is not None and self._stack_wanted else None)
        if why is None and len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise InputProblems([line for exc in [*self.errors, *([why] if why else [])]
                                 for line in exc.lines()])


def _sure(value: T | None) -> T:
    """A value :meth:`Gather.done` vouched for: None here would be a bug, not bad input."""
    if value is None:
        raise RuntimeError("an input was neither resolved nor reported")
    return value
