"""Every exception the domain code raises, and the one table that maps them to exit codes.

Domain code raises these; only ``tasks.py`` turns them into one line on stderr and an exit code
(pyinvoke's model: all exceptions in one module, errors turned into exit codes in one place).
Messages are written for the person who reads them: what is wrong, then how to fix it. They never
contain a secret.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, ClassVar


class ExitStatus(IntEnum):
    """The documented exit codes: pipelines branch on these numbers (httpie's ``ExitStatus``).
    ``tests/test_exit_codes.py`` checks the README's "Exit codes" table against this enum and
    :data:`EXIT_CODES`, so the documentation cannot drift from the code."""

    OK = 0
    INTERNAL = 1
    BAD_INPUT = 2
    SIGN_IN = 3
    STORAGE = 4
    SERVICE = 5
    POLICY = 6
    HEALTH_WARNING = 8
    HEALTH_BROKEN = 9
    INTERRUPTED = 130


# Short names for the members, as the domain code and tasks.py use them.
EXIT_OK = ExitStatus.OK
EXIT_INTERNAL = ExitStatus.INTERNAL
EXIT_BAD_INPUT = ExitStatus.BAD_INPUT
EXIT_SIGN_IN = ExitStatus.SIGN_IN
EXIT_STORAGE = ExitStatus.STORAGE
EXIT_SERVICE = ExitStatus.SERVICE
EXIT_POLICY = ExitStatus.POLICY
EXIT_HEALTH_WARNING = ExitStatus.HEALTH_WARNING
EXIT_HEALTH_BROKEN = ExitStatus.HEALTH_BROKEN
EXIT_INTERRUPTED = ExitStatus.INTERRUPTED

#: What each code means, word for word the README's table.
EXIT_CODES: dict[ExitStatus, str] = {
    ExitStatus.OK: "success; for `verify`, healthy",
    ExitStatus.INTERNAL: "unexpected internal error (a bug: re-run with `SECURE_APP_DEBUG=1` and "
    "report it)",
    ExitStatus.BAD_INPUT: "bad input: a flag, environment variable, stack config or file is wrong",
    ExitStatus.SIGN_IN: "sign-in, consent or token refused: a human must act (often: re-run "
    "consent)",
    ExitStatus.STORAGE: "the token could not be stored; it was kept in an owner-only fallback "
    "file",
    ExitStatus.SERVICE: "a service (identity, Key Vault, Partner Center, Graph) is down, failing "
    "or throttling (the line says how long to wait, from `Retry-After`); for `verify`: down, "
    "while your setup may be fine",
    ExitStatus.POLICY: "the security policy rules found violations (`plan`)",
    ExitStatus.HEALTH_WARNING: "`verify`: working, but something expires within `--warn-days`",
    ExitStatus.HEALTH_BROKEN: "`verify`/`mfa-report`: broken",
    ExitStatus.INTERRUPTED: "interrupted (Ctrl-C); nothing was half-written",
}


class SecureAppError(Exception):
    """Base of every error this tool reports to its user.

    ``message`` says what is wrong; ``fix`` says what to do about it. ``str()`` gives both on one
    line, which is what ``tasks.py`` prints.
    """

    exit_code: ClassVar[ExitStatus] = EXIT_INTERNAL

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        self.message = message
        self.fix = fix
        super().__init__(self.one_line())

    def lines(self) -> list[str]:
        """What ``tasks.py`` prints on stderr: one line per problem (usually exactly one)."""
        return [self.one_line()]

    def one_line(self) -> str:
        text = self.message.rstrip(". ") + "."
        if self.fix:
            text += f" Fix: {self.fix.rstrip('. ')}."
        return " ".join(text.split())


class ConfigError(SecureAppError):
    """A flag, environment variable, stack config value or input file is invalid or missing."""

    exit_code = EXIT_BAD_INPUT


class InvalidConfig(ConfigError):
    """Several config values are wrong at once: ``problems`` holds one line per bad value, each
    naming the key, what is wrong and the rule, so the user can fix them all in one pass."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} config value(s) are invalid")

    def lines(self) -> list[str]:
        return list(self.problems)


class Interrupted(SecureAppError):
    """Ctrl-C after something was already written: the message says what stands (the generic
    "nothing was stored" of the command line would be untrue)."""

    exit_code = EXIT_INTERRUPTED


class InputProblems(ConfigError):
    """Several inputs of one run are missing or invalid: one line each (what, then ``Fix:``), as
    ``plan`` reports a stack's config. A new user once needed six runs to reach the sign-in."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} inputs are missing or invalid",
                         fix="each line names the flag or variable to set")

    def lines(self) -> list[str]:
        return list(self.problems)


class OlderVersionsLeftEnabled(SecureAppError):
    """The rotation succeeded but ``--keep`` could not disable every older version. ``lines()``:
    first what was rotated (the new Key Vault URL, which the platform needs whatever else
    failed), then one line per problem. Exit 5: the vault failed; trying again later may work.
    The subclasses below carry the other exit codes (``scripts.flows.rotate.left_enabled`` picks
    by the causes).
    ``rotation`` is the result all the same (what was disabled included), for a caller that
    prints it before the error."""

    exit_code: ClassVar[ExitStatus] = EXIT_SERVICE

    def __init__(self, message: str, problems: list[str], *, fix: str,
                 rotation: Any) -> None:
        self.problems = problems
        self.rotation = rotation
        super().__init__(message, fix=fix)

    def lines(self) -> list[str]:
        return [self.one_line(), *self.problems]


class OlderVersionsRefused(OlderVersionsLeftEnabled):
    """Some PATCH was refused (permission, firewall): a retry alone will not finish the job."""

    exit_code = EXIT_SIGN_IN


class OlderVersionsRejected(OlderVersionsLeftEnabled):
    """The vault rejected a request as invalid (400), or the secret vanished (404) meanwhile."""

    exit_code = EXIT_BAD_INPUT


class ProtocolError(SecureAppError):
    """An identity-platform or service error carried as data, MSAL-style.

    ``error`` is the OAuth error (``invalid_grant``), ``error_description`` the server's text,
    ``codes`` the AADSTS numbers found in it.
    """

    exit_code = EXIT_SIGN_IN

    def __init__(
        self,
        message: str,
        *,
        fix: str | None = None,
        error: str | None = None,
        error_description: str | None = None,
        codes: tuple[int, ...] = (),
    ) -> None:
        self.error = error
        self.error_description = error_description
        self.codes = codes
        super().__init__(message, fix=fix)


class SignInError(ProtocolError):
    """Sign-in, consent or a token was refused: a human has to act."""

    exit_code = EXIT_SIGN_IN


class ServiceError(ProtocolError):
    """A service could not be reached or kept failing after retries; trying later may work."""

    exit_code = EXIT_SERVICE


class StorageError(SecureAppError):
    """The token could not be written to Key Vault. ``fallback_path`` is where it was kept."""

    exit_code = EXIT_STORAGE

    def __init__(self, message: str, *, fix: str | None = None, fallback_path: str | None = None):
        self.fallback_path = fallback_path
        super().__init__(message, fix=fix)


class PolicyViolation(SecureAppError):
    """One or more security policy rules failed; ``problems`` has one line each."""

    exit_code = EXIT_POLICY

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} security policy rule(s) failed")

    def lines(self) -> list[str]:
        return list(self.problems)
