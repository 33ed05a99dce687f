"""The console command ``csp-secure-app``: invoke's ``Program`` over our tasks, keeping our
exit-code contract for the parser too.

invoke's own binary prints a parse error and exits 1 (and lets a bad number out as a
traceback); exit 1 is our "a bug" code, so here every usage error (unknown task or flag, a
missing or mistyped value, a bad number) is one line on stderr and exit 2, like every other bad
input (``foundation.errors.ExitStatus.BAD_INPUT``).
"""

from __future__ import annotations

from invoke.collection import Collection
from invoke.exceptions import Exit, ParseError
from invoke.program import Program
from invoke.tasks import Task

from foundation.errors import EXIT_BAD_INPUT
from foundation.text import printable

NAME = "csp-secure-app"


def usage_error(problem: str, task: str | None = None) -> Exit:
    """One line, what is wrong and where help is, and exit 2."""
    where = f"{NAME} {task} --help" if task else f"{NAME} --list"
    return Exit(printable(f"error: {problem.rstrip('!.')}. Fix: see `{where}`."),
                code=EXIT_BAD_INPUT)


class SecureAppProgram(Program):
    """Parse errors become usage errors (exit 2); everything else is invoke's."""

    def parse_core(self, argv: list[str] | None) -> None:
        try:
            super().parse_core(argv)
        except ParseError as exc:
            raise usage_error(_readable(str(exc))) from None

    def parse_tasks(self) -> None:
        try:
            super().parse_tasks()
        except ParseError as exc:
            raise usage_error(_readable(str(exc)), self._task_in_argv()) from None
        except ValueError:
            # invoke casts a typed flag's value with int() inside its parser: name the flag.
            raise usage_error(self._bad_number(), self._task_in_argv()) from None

    def print_version(self) -> None:
        # Read only when asked: finding the installed distribution scans sys.path (ms a run).
        self.version = release()
        super().print_version()

    def parse_cleanup(self) -> None:
        try:
            super().parse_cleanup()
        except ParseError as exc:
            raise usage_error(_readable(str(exc))) from None

    def _bad_number(self) -> str:
        from scripts.cli import tasks
        from scripts.cli.command import commands

        tokens = list(self.core.unparsed)
        numeric = {flag for command in commands(tasks)
                   for flag, (_, kind, _) in command.flags().items() if kind is int}
        for index, token in enumerate(tokens):
            flag, _, value = token.partition("=")
            if flag not in numeric:
                continue
            if not value and index + 1 < len(tokens):
                value = tokens[index + 1]
            try:
                int(value)
            except ValueError:
                return f"{flag} expects a whole number, not {value!r}"
        return "a number flag got a value that is not a whole number"

    def _task_in_argv(self) -> str | None:
        """The (last) known task named on the command line, so the fix names its --help."""
        known = set(self.collection.task_names)
        known |= {alias for aliases in self.collection.task_names.values() for alias in aliases}
        named = [token for token in self.core.unparsed if token in known]
        return named[-1] if named else None


def _readable(message: str) -> str:
    """invoke's parser names a flag as its repr (``Flag <Argument: timeout [int]> needed
    value...``): say ``--timeout needs a value`` instead."""
    import re

    missing = re.match(r"Flag <Argument: ([\w-]+)\b.*> needed value", message)
    if missing:
        return f"--{missing.group(1).replace('_', '-')} needs a value"
    unknown = re.match(r"No idea what '(.*)' is", message)
    if unknown:
        word = unknown.group(1)
        return f"no such flag {word}" if word.startswith("-") else f"no task named {word!r}"
    return message


def release() -> str:
    """This installation's version, as ``--version`` prints it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(NAME)
    except PackageNotFoundError:  # run from a checkout that is not installed
        return "unknown"


def collection() -> Collection:
    """The product's tasks as invoke's: long flags only (automatic short flags collide: ``-h``
    would be --show-secrets, not help), no positional arguments (a positional swallows
    ``--help`` as its value)."""
    from scripts.cli import tasks
    from scripts.cli.command import commands

    return Collection(*(Task(command.body, help=dict(command.help),
                             iterable=list(command.iterable), auto_shortflags=False,
                             positional=[])
                        for command in commands(tasks)))


def program() -> SecureAppProgram:
    return SecureAppProgram(name=NAME, binary=NAME, namespace=collection())
