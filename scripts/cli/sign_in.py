"""The terminal side of the sign-in: the block that says what the admin must do, and the
countdown while consent waits.

A partner admin who runs ``csp-secure-app consent`` must know, before the wait starts, which
tenant this is, which account must sign in (a Global Administrator of that tenant who is also in
its Admin Agents group: Partner Center refuses any other), where the browser comes back, how long
the run waits, that Ctrl-C cancels, and what to try when this mode cannot work here. The flow
hands all of it over as one ``Waiting`` (``scripts.flows.consent``); this module prints it on
stderr (stdout carries only the result).

The countdown is rewritten in place (``\\r``) on a terminal, at most once a second (the text
changes only when the whole seconds left do), and erased when the wait ends, however it ends,
so the next line (the result, an error, "interrupted") starts clean. Elsewhere (a pipeline's
log, a test reading stderr) it is a plain line at the start and one a minute: ``\\r`` would be
noise in a log. ``--paste`` has no live countdown: the person types on that line.

The sign-in link stays a line of its own, starting with ``https://``, so it can be copied
whole (and a played user in the tests finds it): the lines around it say what it is for.
"""

from __future__ import annotations

import math
import os
import selectors
import sys
from collections.abc import Callable
from typing import TextIO

from foundation.text import printable
from scripts.flows.consent import Mode, SignInUI, Waiting

#: The other ways to sign in, each shown in every mode but its own.
FALLBACKS: dict[Mode, str] = {
    "no-browser": "--no-browser   print the link and open it yourself, in a browser on this "
                  "machine",
    "paste": "--paste        the browser is on another machine: paste back the address it "
             "ends on",
    "device-code": "--device-code  enter a code on any device (the CPV app must allow public "
                   "client flows)",
}
PASTE_PROMPT = "Paste the address the browser ended on (http://localhost...) and press Enter:"


def clock(seconds: float) -> str:
    """``4:59``: whole seconds left, rounded up (0:00 only once the time is up)."""
    whole = max(0, math.ceil(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


def countdown_text(seconds: float) -> str:
    return f"waiting for the sign-in: {clock(seconds)} left (Ctrl-C cancels)"


def no_display_reason(environ: dict[str, str] | None = None) -> str:
    """Why no browser could start, when it is plain: a Linux or BSD session without a display
    (an SSH shell, a container). Windows and macOS always have a desktop to try."""
    env = os.environ if environ is None else environ
    if sys.platform in ("win32", "darwin") or env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return ""
    return " (no graphical display: DISPLAY is not set)"


def block_lines(waiting: Waiting, *, no_display: str = "") -> list[str]:
    """The sign-in block: what the person must know before the wait, one line each."""
    tenant, mode = waiting.tenant, waiting.mode
    # Who: Partner Center's App+User calls act with the signed-in user's Partner Center role,
    # and consent for the CPV app needs a Global Administrator; an "Admin agent" is a member of
    # the tenant's AdminAgents group (Microsoft Learn, "Use the Exchange Online PowerShell v3
    # Module with GDAP and App Consent": "User account that is a member of the AdminAgents
    # group").
    lines = [f"Sign-in for the partner tenant {tenant}",
             f"  who:    a Global Administrator of {tenant} who is also an Admin Agent (a "
             "member of its AdminAgents group), signing in with MFA"]
    if mode == "device-code":
        lines.append(f"  code:   on any device, open {waiting.verification_uri} and enter the "
                     f"code {waiting.user_code}")
    elif mode == "paste":
        lines += ["  link:   open it in a browser, on any machine:", str(waiting.sign_in_url),
                  f"  then:   the browser ends on {waiting.redirect_address}?code=... (that page "
                  "may not load): copy the whole address from its address bar and paste it here"]
    else:
        if mode == "no-browser":
            lines.append("  link:   open it in a browser on this machine:")
        elif waiting.browser_opened:
            lines.append("  link:   a browser was opened on this machine; if no sign-in page "
                         "appeared, open this link in a browser here:")
        else:
            lines.append(f"  note:   could not open a browser here{no_display}. Open this link "
                         "in a browser on this machine, or run consent again with --paste or "
                         "--device-code (below):")
        lines += [str(waiting.sign_in_url),
                  f"  return: the browser comes back to {waiting.redirect_address}, where this "
                  "run listens (this machine only)"]
    seconds = round(waiting.timeout)
    lines.append(f"  waits:  up to {seconds} s ({clock(seconds)}; --timeout N); Ctrl-C cancels")
    lines.append("  other ways (run consent again with one):")
    lines += [f"    {text}" for other, text in FALLBACKS.items() if other != mode]
    return lines


class Countdown:
    """The time left on ``stream``: in place on a terminal (``live``), else a line a minute."""

    #: Plain mode: seconds between two lines.
    EVERY = 60.0

    def __init__(self, stream: TextIO, *, live: bool) -> None:
        self.stream = stream
        self.live = live
        self._shown = ""  # live: the text now on the line
        self._last: float | None = None  # plain: the seconds left when the last line was written

    def tick(self, seconds: float) -> None:
        text = countdown_text(seconds)
        if self.live:
            if text != self._shown:  # whole seconds changed: at most once a second
                pad = " " * max(0, len(self._shown) - len(text))
                self.stream.write(f"\r{text}{pad}")
                self.stream.flush()
                self._shown = text
        elif self._last is None or self._last - seconds >= self.EVERY:
            self.stream.write(f"{text}\n")
            self.stream.flush()
            self._last = seconds

    def clear(self) -> None:
        """Erase the live line (and a ``^C`` the terminal echoed after it)."""
        if self.live and self._shown:
            self.stream.write("\r" + " " * (len(self._shown) + 2) + "\r")
            self.stream.flush()
        self._shown = ""


class SignInBlock:
    """The sign-in's terminal: the block, the countdown, the pasted address."""

    def __init__(self, stream: TextIO | None = None, *, stdin: TextIO | None = None,
                 read_pasted: Callable[[], str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.stdin = stdin or sys.stdin
        #: Where stdin cannot be waited on with a deadline (a Windows console): prompt and read.
        self.read_pasted_blocking = read_pasted
        self.countdown = Countdown(self.stream, live=_is_terminal(self.stream))

    def say(self, line: str) -> None:
        self.stream.write(printable(line) + "\n")  # the tenant and the code come from outside
        self.stream.flush()

    def waiting(self, waiting: Waiting) -> None:
        for line in block_lines(waiting, no_display=no_display_reason()):
            self.say(line)
        if waiting.mode != "paste":
            self.countdown.tick(waiting.timeout)

    def tick(self, seconds: float) -> None:
        self.countdown.tick(seconds)

    def done(self) -> None:
        self.countdown.clear()

    def read_pasted(self, timeout: float) -> str | None:
        """The pasted address, or None when ``timeout`` seconds passed without one."""
        if not _selectable(self.stdin):
            if self.read_pasted_blocking is not None:
                return self.read_pasted_blocking()
            self.say(PASTE_PROMPT)
            return self.stdin.readline()
        self.say(PASTE_PROMPT)
        # select() rather than epoll: it also takes a regular file (always ready), as a
        # redirected stdin may be. A terminal is ready once Enter is pressed.
        with selectors.SelectSelector() as selector:
            selector.register(self.stdin, selectors.EVENT_READ)
            if not selector.select(timeout):
                return None
        return self.stdin.readline()

    def ui(self, *, tell: Callable[[str], None]) -> SignInUI:
        # The block shows the link (show_url is for a played user); a device code's MSAL
        # message is replaced by the block's own code line.
        return SignInUI(show_url=lambda _url: None, read_pasted=self.read_pasted, tell=tell,
                        waiting=self.waiting, tick=self.tick, done=self.done)


def terminal_ui(*, tell: Callable[[str], None],
                read_pasted: Callable[[], str] | None = None) -> SignInUI:
    """The consent task's UI: the block and countdown on stderr, the paste from stdin."""
    return SignInBlock(read_pasted=read_pasted).ui(tell=tell)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def _selectable(stdin: TextIO) -> bool:
    """Whether stdin can be waited on with a deadline: POSIX select() takes any descriptor;
    Windows' takes sockets only."""
    if sys.platform == "win32":
        return False
    try:
        stdin.fileno()
    except (AttributeError, ValueError, OSError):
        return False
    return True
