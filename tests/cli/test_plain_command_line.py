"""A plain command line runs its task without invoke's parser (scripts/cli/command.py), and
means exactly what it means to invoke: the same task, called with the same values.

The property: for any command line (tasks, every task's flags in both forms, core flags, values
that look like flags, numbers, task names, empty text), whatever the direct parse accepts,
invoke's parser (the console command's Program) parses into the one same task and the same
keyword arguments, defaults included. The examples: every flag of every task, as a user types
it, is taken directly; and a lifecycle task so run does not import invoke at all, which is what
it is for (bench/lifecycle.py measures the time).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from invoke.exceptions import Exit, ParseError

from scripts.cli import tasks
from scripts.cli.command import Command, commands, plain_call
from scripts.cli.program import NAME, program

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = commands(tasks)
FLAGS = sorted({flag for command in COMMANDS for flag in command.flags()})
TASK_NAMES = [command.name for command in COMMANDS]


def invoke_parse(argv: list[str]) -> list[tuple[str, dict[str, object]]] | None:
    """What invoke's parser makes of a command line: each task and its keyword arguments, or
    None when it refuses it (or it asks for help, a list or the version)."""
    parser = program()
    try:
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):  # help, errors
            parser.create_config()
            parser.parse_core([NAME, *argv])
            parser.parse_collection()
            parser.parse_tasks()
            parser.parse_cleanup()
    except (Exit, ParseError, ValueError):
        return None
    return [(context.name, context.as_kwargs) for context in parser.tasks]


def direct(argv: list[str]) -> tuple[str, dict[str, object]] | None:
    call = plain_call(argv, COMMANDS)
    return (call[0].name, call[1]) if call else None


values = st.one_of(
    st.text(alphabet="ab-=_ 0123456789٣.:/", max_size=6),
    st.sampled_from(["", "-", "-1", "--", "0", "007", "12", "json", "table", "+3", " 4"]),
    st.sampled_from([*TASK_NAMES, *FLAGS, "--help", "-h", "--list", "-e"]))
flags = st.sampled_from([*FLAGS, "--help", "-h", "--list", "--echo", "-e", "--", "--version",
                         "--no-paste", "--csp_domain", "-T"])
tokens = st.one_of(flags, values, st.tuples(flags, values).map("=".join))
command_lines = st.tuples(st.sampled_from([*TASK_NAMES, "store_token", "nope", "--echo"]),
                          st.lists(tokens, max_size=7)).map(lambda t: [t[0], *t[1]])


@given(argv=command_lines)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_what_is_taken_directly_invoke_parses_alike(argv: list[str]) -> None:
    mine = direct(argv)
    if mine is not None:
        assert invoke_parse(argv) == [mine], argv


def typed(command: Command) -> list[list[str]]:
    """Every flag of the task as a user types it, ``--flag value`` and ``--flag=value`` (a
    number for a number, a bare switch for a switch), then all of them in one command line."""
    lines, everything = [], [command.name]
    for flag, (_, kind, _) in command.flags().items():
        if kind is bool:
            lines.append([command.name, flag])
            everything.append(flag)
            continue
        value = "7" if kind is int else "contoso.onmicrosoft.com"
        lines += [[command.name, flag, value], [command.name, f"{flag}={value}"]]
        everything += [flag, value]
    return [[command.name], *lines, everything]


@pytest.mark.parametrize("command", COMMANDS, ids=TASK_NAMES)
def test_every_flag_as_typed_is_taken_directly(command: Command) -> None:
    for argv in typed(command):
        mine = direct(argv)
        assert mine is not None, argv
        assert invoke_parse(argv) == [mine], argv


@pytest.mark.parametrize("argv", [
    [], ["--list"], ["--help", "settings"], ["settings", "--help"], ["settings", "-h"],
    ["--echo", "settings"], ["settings", "rotate"], ["store_token"], ["settings", "--format"],
    ["settings", "--format="], ["rotate", "--keep", "-1"], ["rotate", "--keep", "three"],
    ["consent", "--paste=yes"], ["settings", "--", "x"],
    # Found by the property: invoke refuses a value flag given twice (exit 2, "no task named
    # '0'"), so the direct parse must not take the last value.
    ["consent", "--app-id=0", "--app-id=0"], ["rotate", "--keep", "1", "--keep", "2"]])
def test_anything_else_goes_to_invoke(argv: list[str]) -> None:
    assert direct(argv) is None


def test_a_repeatable_flag_collects_every_value() -> None:
    argv = ["verify", "--skip", "consent", "--skip=liveness"]
    assert direct(argv) == invoke_parse(argv)[0]  # type: ignore[index]
    assert direct(argv)[1]["skip"] == ["consent", "liveness"]  # type: ignore[index]


def imports_of(*argv: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """The console command in a fresh process, and the modules it imported."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CSP_", "CPV_", "KEY_VAULT", "AZURE_", "PULUMI_"))}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "scripts.cli", *argv],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    names = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
             if line.startswith("import time:")}
    return proc, names


@pytest.mark.parametrize(("argv", "said"), [
    (["settings", "--format", "xml"], "error: --format 'xml' is not known"),
    (["rotate", "--format=xml"], "error: --format 'xml' is not known"),
    (["verify", "--warn-days", "400"], "error: --warn-days 400 is out of range"),
    (["store-token"], "error: store-token needs --from-file PATH")])
def test_a_plain_lifecycle_command_line_does_not_import_invoke(argv: list[str],
                                                               said: str) -> None:
    proc, names = imports_of(*argv)
    assert proc.returncode == 2 and said in proc.stderr  # the task ran, and refused the input
    assert not {n for n in names if n.split(".")[0] == "invoke"}


def test_help_goes_to_invoke() -> None:
    proc, names = imports_of("settings", "--help")
    assert proc.returncode == 0 and "Usage: csp-secure-app [--core-opts] settings" in proc.stdout
    assert "invoke.program" in names
