"""Every exception the domain code raises, and the one table that maps them to exit codes.

Domain code raises these; only ``tasks.py`` turns them into one line on stderr and an exit code
(pyinvoke's model: all exceptions in one module, errors turned into exit codes in one place).
Messages are written for the person who reads them: what is wrong, then how to fix it. They never
contain a secret.
"""

from __future__ import annotations

from typing import ClassVar

#: The documented exit codes (README "Exit codes"). Pipelines branch on these numbers.
EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
EXIT_SIGN_IN = 3
EXIT_STORAGE = 4
EXIT_SERVICE = 5
EXIT_POLICY = 6
EXIT_HEALTH_WARNING = 8
EXIT_HEALTH_BROKEN = 9
EXIT_INTERRUPTED = 130

EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success; for `verify`, healthy",
    EXIT_INTERNAL: "unexpected internal error (a bug: please report it)",
    EXIT_BAD_INPUT: "bad input: a flag, environment variable, stack config or file is wrong",
    EXIT_SIGN_IN: "sign-in, consent or token refused: a human must act (often: re-run consent)",
    EXIT_STORAGE: "the token could not be stored; it was kept in an owner-only fallback file",
    EXIT_SERVICE: "a service (identity, Key Vault, Partner Center, Graph) is down or failing",
    EXIT_POLICY: "the security policy rules found violations",
    EXIT_HEALTH_WARNING: "`verify`: working, but something expires within --warn-days",
    EXIT_HEALTH_BROKEN: "`verify`/`mfa-report`: broken, the platform cannot use the token",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C); nothing was half-written",
}


class SecureAppError(Exception):
    """Base of every error this tool reports to its user.

    ``message`` says what is wrong; ``fix`` says what to do about it. ``str()`` gives both on one
    line, which is what ``tasks.py`` prints.
    """

    exit_code: ClassVar[int] = EXIT_INTERNAL

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
