"""A task as the command line knows it, without importing invoke: its name, its flags (read
from its signature as invoke reads them), its help, and a plain command line run directly.

Why: importing invoke costs a task about 30 ms (its ``__init__`` imports every submodule,
``unittest.mock`` and ``asyncio`` with them, a YAML library, and scans ``sys.path`` for its own
version), against the 37 ms a 0.25 s lifecycle task may cost over its bare SDK calls
(issue 12, bench/README.md). So a command line that is one task and its own long flags
(``settings --format json``, ``rotate --keep=3 --csp-domain contoso.onmicrosoft.com``) calls
the task here; anything else (no task, help, ``--list``, a core flag, two tasks, an unknown
or repeated flag, a value that is empty or starts with ``-``, a number that is not plain digits)
goes to invoke's parser (``scripts.cli.program``), which runs it or explains what is wrong.
tests/cli/test_plain_command_line.py checks that invoke parses every command line this module
accepts into the same task and the same values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any


class Command:
    """One task: its body (``c`` first, as invoke calls it; no task reads ``c``), the help of
    its flags and which flags repeat (invoke's ``iterable``)."""

    __slots__ = ("body", "help", "iterable")

    def __init__(self, body: Callable[..., None], help: Mapping[str, str],
                 iterable: Iterable[str]) -> None:
        self.body = body
        self.help = dict(help)
        self.iterable = tuple(iterable)

    def __call__(self, c: object, **values: Any) -> None:
        self.body(c, **values)

    @property
    def name(self) -> str:
        """As invoke names it (``auto_dash_names``): ``store_token`` is ``store-token``."""
        return self.body.__name__.replace("_", "-")

    def flags(self) -> dict[str, tuple[str, type, object]]:
        """``--flag``: (parameter, kind, default) for every parameter after ``c``; the kind as
        invoke's ``Task.arg_opts`` gives it: ``list`` for an iterable flag, else the type of
        the default (``str`` when it is None)."""
        import inspect

        parameters = list(inspect.signature(self.body).parameters.values())[1:]
        return {f"--{p.name.replace('_', '-')}": (
                    p.name, list if p.name in self.iterable
                    else str if p.default is None else type(p.default), p.default)
                for p in parameters}


def cli(help: Mapping[str, str] | None = None,
        iterable: Iterable[str] = ()) -> Callable[[Callable[..., None]], Command]:
    """Declare a task: ``help`` for its flags, ``iterable`` the flags that repeat. invoke gets
    it with long flags only and no positional arguments (``scripts.cli.program.collection``)."""
    return lambda body: Command(body, help or {}, iterable)


def commands(module: object) -> list[Command]:
    """The tasks a module declares, in the order it declares them."""
    return [value for value in vars(module).values() if isinstance(value, Command)]


def plain_call(argv: list[str],
               known: Iterable[Command]) -> tuple[Command, dict[str, object]] | None:
    """The task and every value invoke would call it with (defaults included, ``[]`` for an
    iterable flag not given), or None when the command line is not plain (see above)."""
    command = next((k for k in known if argv[:1] == [k.name]), None)
    if command is None:
        return None
    flags = command.flags()
    values: dict[str, Any] = {name: [] if kind is list else default
                              for name, kind, default in flags.values()}
    seen: set[str] = set()
    tokens = iter(argv[1:])
    for token in tokens:
        flag, equals, value = token.partition("=")
        if flag not in flags:
            return None
        name, kind, _ = flags[flag]
        if flag in seen and kind is not list:
            return None  # invoke refuses a value flag given twice; a switch twice is declined too
        seen.add(flag)
        if kind is bool:
            if equals:
                return None
            values[name] = True
            continue
        if not equals:
            value = next(tokens, "")
        if not value or value.startswith("-"):
            return None
        if kind is int:
            if not (value.isascii() and value.isdigit()):
                return None
            values[name] = int(value)
        elif kind is list:
            values[name].append(value)
        else:
            values[name] = value
    return command, values
