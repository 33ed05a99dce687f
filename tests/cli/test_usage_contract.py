"""The command line's contract, for every task: `--help` always shows help (exit 0), and every
usage error (unknown task or flag, a missing or mistyped value, a number out of range, flags
that exclude each other, a missing required flag) is one line on stderr and exit 2, before
anything is signed in to or read.

Most cases run the console command's Program in this process (a few hundred of them would take
minutes as subprocesses); the installed `csp-secure-app` itself runs once per kind of failure,
from a folder that is not the clone, as `pipx install` users run it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.cli.main import run as run_command_line

TASKS = ("plan", "consent", "store-token", "rotate", "verify", "mfa-report", "settings", "demo")
#: Each task's number flags, with a value out of its range.
NUMBERS = {"consent": [("--timeout", "-5"), ("--timeout", "3601"), ("--redirect-port", "80")],
           "rotate": [("--keep", "-1")], "verify": [("--warn-days", "-5")]}
CONFLICTS = {"consent": [("--paste", "--device-code"), ("--no-browser", "--paste"),
                         ("--device-code", "--no-browser")],
             "demo": [("--browser", "--no-browser")]}
CONSOLE = Path(sys.executable).parent / ("csp-secure-app.exe" if os.name == "nt"
                                         else "csp-secure-app")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """The console command in this process, either parser as it chooses (scripts.cli.main):
    (exit code, stdout, stderr)."""
    code = run_command_line(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_usage_line(code: int, stderr: str, *words: str) -> None:
    lines = stderr.splitlines()
    assert code == 2, stderr
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ") and "Fix:" in lines[0]
    assert "Traceback" not in stderr
    for word in words:
        assert word in lines[0]


@pytest.fixture(autouse=True)
def no_inputs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Nothing from the developer's shell: a usage error must not depend on it."""
    for name in list(os.environ):
        if name.startswith(("CSP_", "CPV_", "KEY_VAULT", "AZURE_", "PULUMI_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SECURE_APP_HOME", str(tmp_path / "home"))


@pytest.mark.parametrize("task", TASKS)
def test_help_always_shows_help(capsys: pytest.CaptureFixture[str], task: str) -> None:
    for argv in ([task, "--help"], ["--help", task]):
        code, out, err = run(capsys, *argv)
        assert code == 0 and err == ""
        assert out.startswith(f"Usage: csp-secure-app [--core-opts] {task} ")


@pytest.mark.parametrize("task", TASKS)
def test_unknown_flag_is_a_usage_error(capsys: pytest.CaptureFixture[str], task: str) -> None:
    code, _, err = run(capsys, task, "--format-json")
    one_usage_line(code, err, "no such flag --format-json", f"csp-secure-app {task} --help")


def test_plan_has_no_format_flag(capsys: pytest.CaptureFixture[str]) -> None:
    """The report that started this: `plan --format json` was exit 1, "No idea what..."."""
    code, _, err = run(capsys, "plan", "--format", "json")
    one_usage_line(code, err, "--format")


def test_unknown_task(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "rotat")
    one_usage_line(code, err, "no task named 'rotat'", "csp-secure-app --list")


@pytest.mark.parametrize(("task", "flag"), [(t, f) for t, pairs in NUMBERS.items()
                                            for f, _ in pairs])
def test_number_flags(capsys: pytest.CaptureFixture[str], task: str, flag: str) -> None:
    code, _, err = run(capsys, task, flag, "abc")
    one_usage_line(code, err, f"{flag} expects a whole number, not 'abc'", f"{task} --help")
    code, _, err = run(capsys, task, flag)
    one_usage_line(code, err, f"{flag} needs a value")


@pytest.mark.parametrize(("task", "flag", "value"),
                         [(t, f, v) for t, pairs in NUMBERS.items() for f, v in pairs])
def test_numbers_out_of_range(capsys: pytest.CaptureFixture[str], task: str, flag: str,
                              value: str) -> None:
    code, _, err = run(capsys, task, flag, value)
    one_usage_line(code, err, f"{flag} {value} is out of range")


@pytest.mark.parametrize(("task", "pair"), [(t, p) for t, ps in CONFLICTS.items() for p in ps])
def test_flags_that_exclude_each_other(capsys: pytest.CaptureFixture[str], task: str,
                                       pair: tuple[str, str]) -> None:
    """Never a silent choice: the user meant one of them, and we cannot know which."""
    code, _, err = run(capsys, task, *pair)
    one_usage_line(code, err, "exclude each other", *pair)


def test_store_token_takes_its_file_as_a_flag(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "store-token")
    one_usage_line(code, err, "--from-file PATH")
    code, _, err = run(capsys, "store-token", "--from-file", "/nonexistent/kept.json")
    assert code == 2 and "/nonexistent/kept.json" in err


def test_console_command_outside_the_clone(tmp_path: Path) -> None:
    """`pipx install` users have no tasks.py: the command carries its tasks; its parse errors
    keep the contract (invoke's own binary exits 1 on them)."""
    listed = subprocess.run([str(CONSOLE), "--list"], cwd=tmp_path, capture_output=True,
                            text=True, check=False)
    assert listed.returncode == 0, listed.stderr
    for task in TASKS:
        assert task in listed.stdout
    bad = subprocess.run([str(CONSOLE), "verify", "--warn-days", "soon"], cwd=tmp_path,
                         capture_output=True, text=True, check=False)
    one_usage_line(bad.returncode, bad.stderr, "--warn-days expects a whole number")
    module = subprocess.run([sys.executable, "-m", "scripts.cli", "plan", "--nope"],
                            cwd=tmp_path, capture_output=True, text=True, check=False)
    one_usage_line(module.returncode, module.stderr, "no such flag --nope")


def test_help_piped_into_head_ends_quietly(tmp_path: Path) -> None:
    """`csp-secure-app consent --help | head -1`: the reader leaves early; no traceback."""
    help_ = subprocess.Popen([str(CONSOLE), "consent", "--help"], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert help_.stdout is not None and help_.stderr is not None
    help_.stdout.close()  # the reader is gone before the command writes a byte
    errors = help_.stderr.read().decode()
    assert help_.wait(timeout=30) == 141  # what a shell shows for SIGPIPE, as `head` expects
    assert errors == ""


def test_verify_skip_names_a_check(capsys: pytest.CaptureFixture[str]) -> None:
    """A typo in --skip would silently skip nothing: it is a usage error naming the choices."""
    code, _, err = run(capsys, "verify", "--skip", "partner-centre-mfa")
    one_usage_line(code, err, "--skip 'partner-centre-mfa' names no check", "liveness")
