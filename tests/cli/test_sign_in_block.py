"""The sign-in block and its countdown (issue 11): what the partner admin sees while consent waits.

On a terminal (a pseudo terminal driven by pexpect, as a person's shell would be) the countdown
is rewritten in place and erased when the wait ends; Ctrl-C ends the run with exit 130 and one
line. Elsewhere (a pipe) it is plain lines. Browser mode on a machine without a display says it
could not open one and what to do instead."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from scripts.cli.sign_in import Countdown, block_lines
from scripts.flows.consent import Waiting
from tests.support import ROOT, PartnerWorld, assert_no_secret, deliver

COUNTDOWN = r"waiting for the sign-in: (\d+:\d\d) left \(Ctrl-C cancels\)"
URL_LINE = r"(https://\S+)\r\n"


@pytest.fixture
def world(cloud, tmp_path: Path) -> PartnerWorld:
    return PartnerWorld(cloud, tmp_path / "home")


def on_a_terminal(world: PartnerWorld, *args: str) -> pexpect.spawn:
    """``consent`` with stdin, stdout and stderr on a pseudo terminal, as in a person's shell."""
    return pexpect.spawn(sys.executable, ["-m", "scripts.cli", "consent", "--redirect-port",
                                          str(world.port), *args],
                         cwd=str(ROOT), env=world.env(), encoding="utf-8", timeout=30,
                         dimensions=(24, 200))


def play_the_admin(world: PartnerWorld, url: str) -> None:
    """The admin signs in with MFA and consents; the browser follows the redirect."""
    deliver(world.cloud.sign_in(url, world.admin.upn, world.password, mfa_code="auto"))


def test_on_a_terminal_the_countdown_runs_in_place_and_the_sign_in_completes(world):
    child = on_a_terminal(world, "--no-browser", "--timeout", "30", "--format", "json")
    try:
        child.expect(URL_LINE)
        url = child.match.group(1)
        child.expect("\r" + COUNTDOWN)
        first = child.match.group(1)
        assert first in ("0:30", "0:29")
        while True:  # rewritten in place (\r, no new line) as the seconds go
            child.expect("\r" + COUNTDOWN)
            if child.match.group(1) != first:
                break
        assert "\n" not in child.before
        play_the_admin(world, url)
        child.expect(r"\r +\rSigned in as ")  # the countdown is erased first
        child.expect(pexpect.EOF)
        shown = child.before
    finally:
        child.close()
    assert child.exitstatus == 0, shown
    result = json.loads(shown[shown.index("{"):shown.rindex("}") + 1])
    assert result["mfa_method"] == "Azure Key Vault"
    [version] = world.vault.secret_versions(world.secret_name)
    assert version.version in result["key_vault_url"]
    assert_no_secret(shown, [*world.secrets(), version.value])


def test_ctrl_c_during_the_countdown_ends_the_run_with_exit_130_and_one_line(world):
    child = on_a_terminal(world, "--no-browser", "--timeout", "60")
    try:
        child.expect("\r" + COUNTDOWN)
        child.sendintr()
        child.expect(r"\r +\rerror: interrupted \(Ctrl-C\)")  # on a line of its own
        child.expect(pexpect.EOF)
        rest = child.before
    finally:
        child.close()
    assert child.exitstatus == 130
    assert "Traceback" not in rest and len(rest.strip().splitlines()) == 1, rest
    assert "nothing was stored" in rest and world.vault.secret_versions(world.secret_name) == []


def test_browser_mode_without_a_display_says_so_and_names_the_other_ways(world, tmp_path):
    """A shell with no display (SSH, a container) and no browser on PATH: the block says the
    browser could not be opened and what to do; the link shown still completes the sign-in."""
    nothing = tmp_path / "no-programs"
    nothing.mkdir()
    env = {k: v for k, v in world.env().items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER")}
    env["PATH"] = str(nothing)
    proc = subprocess.Popen(
        [sys.executable, "-m", "scripts.cli", "consent", "--redirect-port", str(world.port),
         "--timeout", "30", "--format", "json"],
        cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    seen: list[str] = []
    try:
        for line in proc.stderr:
            seen.append(line.rstrip("\n"))
            if line.startswith("waiting for the sign-in: "):
                break
        url = next(line for line in seen if line.startswith("https://"))
        play_the_admin(world, url)
        err = proc.stderr.read()  # the file, not communicate(): it would skip what is buffered
        out = proc.stdout.read() if proc.stdout else ""
        proc.wait(timeout=60)
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == 0, "\n".join(seen) + err
    [note] = [line for line in seen if "could not open a browser here" in line]
    assert "no graphical display" in note and "Open this link" in note
    assert "--paste" in note and "--device-code" in note
    assert seen[seen.index(note) + 1] == url, "the link follows the note"
    assert [line.split()[0] for line in seen if line.startswith("    --")] == [
        "--no-browser", "--paste", "--device-code"]
    assert json.loads(out)["mfa_method"] == "Azure Key Vault"


# -- the block's text and the countdown's rules, without a process ------------------------------

def test_a_plain_countdown_is_a_line_at_the_start_and_at_most_one_a_minute():
    stream = io.StringIO()
    countdown = Countdown(stream, live=False)
    for seconds in (300, 299.4, 270, 240.5, 240, 181, 180, 0.4):
        countdown.tick(seconds)
    countdown.clear()
    assert stream.getvalue().splitlines() == [
        "waiting for the sign-in: 5:00 left (Ctrl-C cancels)",
        "waiting for the sign-in: 4:00 left (Ctrl-C cancels)",
        "waiting for the sign-in: 3:00 left (Ctrl-C cancels)",
        "waiting for the sign-in: 0:01 left (Ctrl-C cancels)",
    ]
    assert "\r" not in stream.getvalue()


def test_a_live_countdown_rewrites_one_line_once_a_second_and_erases_it():
    stream = io.StringIO()
    countdown = Countdown(stream, live=True)
    for seconds in (10, 9.7, 9.2, 9.0, 8.99):
        countdown.tick(seconds)
    written = stream.getvalue()
    assert written.split("\r")[1:] == [
        "waiting for the sign-in: 0:10 left (Ctrl-C cancels)",
        "waiting for the sign-in: 0:09 left (Ctrl-C cancels)",
    ]
    assert "\n" not in written
    countdown.clear()
    assert re.fullmatch(r"\r +\r", stream.getvalue()[len(written):])


def test_a_browser_that_opened_still_leaves_the_link_and_every_other_way():
    waiting = Waiting(tenant="contoso.onmicrosoft.com", mode="browser", timeout=300,
                      redirect_address="http://localhost:8400/",
                      sign_in_url="https://login.example/authorize?x=1", browser_opened=True)
    lines = block_lines(waiting)
    at = lines.index("https://login.example/authorize?x=1")
    assert "a browser was opened" in lines[at - 1] and "open this link" in lines[at - 1]
    assert any("up to 300 s (5:00" in line for line in lines)
    assert [line.split()[0] for line in lines if line.startswith("    --")] == [
        "--no-browser", "--paste", "--device-code"]


def test_no_display_is_named_only_where_it_is_the_reason():
    from scripts.cli.sign_in import no_display_reason

    if sys.platform in ("win32", "darwin"):
        pytest.skip("a desktop always has a display to try")
    assert "DISPLAY is not set" in no_display_reason({})
    assert no_display_reason({"DISPLAY": ":0"}) == ""
    assert no_display_reason({"WAYLAND_DISPLAY": "wayland-0"}) == ""
