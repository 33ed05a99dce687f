"""Where a task's words go, and the one place where errors become exit codes.

stdout carries only a task's result (settings, JSON, the plan), so a pipeline can parse it;
progress, advice and errors go to stderr. Text from outside (a tag, a server reply, a file) is
printed with its control characters escaped. The exit codes are the table in
``foundation/errors.py`` (documented in the README).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from scripts.inputs import debug_requested

F = TypeVar("F", bound=Callable[..., Any])


def err(line: str) -> None:
    """Progress, advice and errors on stderr; control characters from outside escaped."""
    from foundation.text import printable

    print(printable(line, keep_newlines=True), file=sys.stderr, flush=True)


def out(text: str) -> None:
    """A task's result on stdout: it may quote a tag, a server reply or a file, so control
    characters are escaped (line breaks of a table stay)."""
    from foundation.text import printable

    print(printable(text, keep_newlines=True), flush=True)


def print_result(fmt: str, as_json: Callable[[], object], table: Callable[[], str]) -> None:
    out(json.dumps(as_json(), indent=2) if fmt == "json" else table())


def read_pasted() -> str:
    """The prompt goes to stderr: stdout carries only the result."""
    err("Paste the address the browser ended on (http://localhost...) and press Enter:")
    return sys.stdin.readline()


def reported(func: F) -> F:
    """Turn the domain's typed errors into one line each on stderr and the documented exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from foundation import errors

        try:
            return func(*args, **kwargs)
        except errors.SecureAppError as exc:
            from foundation.text import printable

            for line in exc.lines():
                # One line each, whatever a redirect or a server put in the message.
                err(printable(f"error: {line}"))
            raise SystemExit(exc.exit_code) from None
        except KeyboardInterrupt:
            # A Ctrl-C while storing is caught below us (the token is kept in the fallback file
            # and that error names it); reaching here means nothing was written.
            err("error: interrupted (Ctrl-C); nothing was stored or half-written. Fix: run the "
                "task again when ready.")
            raise SystemExit(errors.EXIT_INTERRUPTED) from None
        except Exception as exc:
            if debug_requested():
                raise
            # The exception text of an unknown error is not printed: it might quote a secret.
            err(f"error: unexpected {type(exc).__name__} (a bug). Fix: re-run with "
                "SECURE_APP_DEBUG=1 for the traceback and report it.")
            raise SystemExit(errors.EXIT_INTERNAL) from None

    return wrapper  # type: ignore[return-value]
