"""The fault and bad-input matrix's runner and its one set of checks (test_matrix_*.py).

Every row runs a task the way a user does (``invoke ...`` as a subprocess, against the cloud
double) inside a sandbox (its own HOME, TMPDIR and SECURE_APP_HOME, and a stand-in ``pulumi`` on
PATH), then is judged the same way:

* the documented exit code;
* exactly one ``error:`` line on stderr, naming the cause before ``Fix:`` and the fix after it
  (success rows: none), and no traceback anywhere;
* the vault afterwards: nothing lost, nothing half-written (every version before is still there,
  unchanged; at most the one expected new version was added);
* the owner-only fallback file exists exactly when the row expects the token to be kept;
* secret hygiene: no known secret (client secrets, password, every refresh token and code the
  double issued, every value in the vault) and nothing JWT-shaped in stdout or stderr; every file
  under the sandbox is 0600 in 0700 directories, and only fallback files hold a refresh token.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import signal
import socket
import ssl
import stat
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msal
import trustme

from clouddouble import CloudDouble
from foundation import wellknown as wk
from tests.support import ROOT, PartnerWorld, deliver, query_params, redirect_port

#: Access and ID tokens: nothing of this shape may ever be printed or written.
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
#: Stands in for the Pulumi CLI and the browser: records its own cmdline and environment; as
#: pulumi, answers `stack output` from stack-<stack>.json (none: "no stack named ...").
STAND_IN = """#!{python}
import json, os, sys
root = {root!r}
with open("/proc/self/cmdline", "rb") as f:
    cmdline = [a.decode() for a in f.read().split(b"\\0") if a]
with open("/proc/self/environ", "rb") as f:
    environ = dict(e.decode().split("=", 1) for e in f.read().split(b"\\0") if b"=" in e)
with open(os.path.join(root, "records", f"{name}-{{os.getpid()}}.json"), "w") as f:
    json.dump({{"cmdline": cmdline, "environ": environ}}, f)
if {name!r} == "pulumi":
    stack = sys.argv[sys.argv.index("--stack") + 1] if "--stack" in sys.argv else "dev"
    path = os.path.join(root, f"stack-{{stack}}.json")
    if not os.path.exists(path):
        print(f"error: no stack named '{{stack}}' found", file=sys.stderr)
        sys.exit(255)
    print(open(path).read())
"""
Snapshot = list[tuple[str, str, bool]]


@dataclass(frozen=True)
class Expect:
    """What a row must end with. ``vault``: "same" (nothing changed) or "new" (exactly one new
    version, the old ones untouched). ``kept``: the token waits in a fallback file."""

    code: int
    cause: tuple[str, ...] = ()
    fix: tuple[str, ...] = ()
    vault: str = "same"
    kept: bool = False
    prefix: str = "error: "


@dataclass
class Run:
    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return self.stderr.strip().splitlines()


@dataclass
class Sandbox:
    """One partner in the double, and a private HOME / TMPDIR / PATH for the CLI it runs."""

    cloud: CloudDouble
    root: Path
    world: PartnerWorld = field(init=False)

    def __post_init__(self) -> None:
        for sub in ("home", "tmp", "bin", "records"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.world = PartnerWorld(self.cloud, self.root / "home" / ".secure-app",
                                  port=redirect_port())
        for name in ("pulumi", "browser"):
            exe = self.root / "bin" / name
            exe.write_text(STAND_IN.format(python=sys.executable, root=str(self.root),
                                              name=name))
            exe.chmod(0o700)

    # -- running ---------------------------------------------------------------------------
    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def pending(self) -> Path:
        return self.world.home / "pending"

    def env(self, drop: Iterable[str] = (), **extra: str) -> dict[str, str]:
        path = f"{self.root / 'bin'}{os.pathsep}{os.path.dirname(sys.executable)}:/usr/bin:/bin"
        env = self.world.env(HOME=str(self.home), TMPDIR=str(self.root / "tmp"), PATH=path,
                             **extra)
        for name in drop:
            env.pop(name, None)
        return env

    def invoke(self, *args: str, env: dict[str, str] | None = None) -> Run:
        if args and args[0] == "verify":
            # The matrix judges the platform's own view; the outlook checks (issue 13) have
            # their own tests and would add their own lines for a service that is down.
            from scripts.flows.verify import CHECK_NAMES

            args = (*args, *[a for n in CHECK_NAMES for a in ("--skip", n)])
        proc = subprocess.run([sys.executable, "-m", "scripts.cli", *args], cwd=ROOT, text=True,
                              capture_output=True, env=env or self.env(), timeout=110,
                              check=False)
        return Run(args, proc.returncode, proc.stdout, proc.stderr)

    def interrupted(self, *args: str, when: Callable[[], bool],
                    env: dict[str, str] | None = None) -> Run:
        """Run a task and press Ctrl-C as soon as ``when()`` holds (e.g. a request hangs)."""
        proc = subprocess.Popen([sys.executable, "-m", "scripts.cli", *args], cwd=ROOT, text=True,
                                env=env or self.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        try:
            wait_until(when, "the moment to press Ctrl-C")
        finally:
            interrupt(proc)
        out, err = proc.communicate(timeout=110)
        return Run(args, proc.returncode, out, err)

    def consent(self, *args: str, env: dict[str, str] | None = None,
                play: Callable[[Sandbox, str, subprocess.Popen[str]], None] | None = None,
                browser: bool = False) -> Run:
        """``csp-secure-app consent``; when it prints the sign-in URL, ``play`` acts as the person
        (by
        default: the MFA admin signs in and consents, and the browser follows the redirect)."""
        cmd: tuple[str, ...] = () if browser else ("--no-browser",)
        for flag, default in (("--redirect-port", str(self.world.port)), ("--timeout", "30")):
            cmd += () if flag in args else (flag, default)
        cmd += args
        proc = subprocess.Popen([sys.executable, "-m", "scripts.cli", "consent", *cmd], cwd=ROOT,
                                text=True, env=env or self.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        assert proc.stderr is not None
        seen: list[str] = []
        for line in proc.stderr:
            seen.append(line)
            if line.startswith("https://"):
                (play or sign_in_and_return)(self, line.strip(), proc)
                break
        out, rest = proc.communicate(timeout=110)
        return Run(("consent", *cmd), proc.returncode, out, "".join(seen) + rest)

    # -- the state to judge ----------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        return [(v.version, v.value, v.enabled)
                for v in self.world.vault.secret_versions(self.world.secret_name)]

    def kept_files(self) -> list[Path]:
        return sorted(self.pending.glob("*.json")) if self.pending.exists() else []

    def known_secrets(self) -> list[str]:
        """Every secret of this partner the double knows, right now."""
        world, state = self.world, self.cloud.auth_state
        with state.lock:
            issued = [value for value, rt in state.refresh_tokens.items()
                      if rt.sign_in.user.tenant_id == world.tenant.id]
            codes = [value for value, code in state.codes.items()
                     if code.sign_in.user.tenant_id == world.tenant.id]
        stored = [v.value for v in world.vault.secret_versions(world.secret_name)]
        deleted = world.vault.store.deleted.get(world.secret_name.lower())
        stored += [v.value for v in deleted.versions] if deleted else []
        kept = [json.loads(p.read_text())["refresh_token"] for p in self.kept_files()]
        return [*world.secrets(), *issued, *codes, *stored, *kept]

    def records(self, name: str) -> list[dict[str, Any]]:
        """What each stand-in child (pulumi, browser) was started with."""
        return [json.loads(p.read_text()) for p in sorted((self.root / "records").glob(
            f"{name}-*.json"))]

    def write_stack(self, stack: str, **outputs: str) -> None:
        (self.root / f"stack-{stack}.json").write_text(json.dumps(outputs))

    # -- the judgement ---------------------------------------------------------------------
    def check(self, run: Run, expect: Expect, before: Snapshot) -> None:
        detail = f"exit {run.code}\nstdout: {run.stdout}\nstderr: {run.stderr}"
        show = os.environ.get("MATRIX_SHOW")  # MATRIX_SHOW=rows.txt: every row's words, to review
        if show:
            with open(show, "a", encoding="utf-8") as out:
                out.write(f"[{' '.join(run.args[:1])} -> {run.code}] {run.stderr.strip()}\n")
        assert run.code == expect.code, detail
        assert "Traceback" not in run.stderr + run.stdout, detail
        problems = [line for line in run.lines if line.startswith(expect.prefix)]
        if expect.code == 0:
            assert not problems, detail
        else:
            assert len(problems) == 1, f"want one {expect.prefix!r} line; {detail}"
            cause, sep, fix = problems[0].partition(" Fix: ")
            assert sep, f"the line has no fix: {problems[0]}"
            for needle in expect.cause:
                assert needle in cause, f"{needle!r} not in the cause: {problems[0]}"
            for needle in expect.fix:
                assert needle in fix, f"{needle!r} not in the fix: {problems[0]}"
        self.check_vault(before, expect.vault)
        kept = self.kept_files()
        assert len(kept) == (1 if expect.kept else 0), kept
        if kept:
            assert str(kept[0]) in run.stderr, "the error must say where the token was kept"
        self.check_hygiene(run)

    def check_vault(self, before: Snapshot, change: str) -> None:
        after = self.snapshot()
        assert after[:len(before)] == before, "a version was lost or changed"
        added = len(after) - len(before)
        assert added == (1 if change == "new" else 0), f"{added} version(s) added"

    def check_hygiene(self, *runs: Run) -> None:
        secrets = self.known_secrets()
        for run in runs:
            text = run.stdout + run.stderr + " ".join(run.args)
            for secret in secrets:
                assert secret not in text, "a known secret appeared in the output"
            assert not JWT.search(text), "a token appeared in the output"
        check_files(self.home, self.root / "tmp", secrets=secrets, token_dir=self.pending)


def check_files(*roots: Path, secrets: list[str], token_dir: Path) -> None:
    """Every file under ``roots`` is owner-only (0600 or stricter, in 0700 directories); none
    holds a known secret, except that a fallback file (in ``token_dir``) holds its token."""
    tokens_ok = {json.loads(p.read_text()).get("refresh_token")
                 for p in token_dir.glob("*.json")} if token_dir.exists() else set()
    for root in roots:
        for path in root.rglob("*"):
            mode = stat.S_IMODE(path.lstat().st_mode)
            assert not mode & 0o077, f"{path} has mode {mode:o}"
            if path.is_file():
                text = path.read_text(errors="replace")
                for secret in secrets:
                    if secret in text and not (path.parent == token_dir and secret in tokens_ok):
                        raise AssertionError(f"a known secret is in {path}")
                assert not JWT.search(text), f"a token is in {path}"


# -- the person at the browser ---------------------------------------------------------------

def sign_in(box: Sandbox, url: str, *, user: str | None = None, accept: bool = True) -> str:
    world = box.world
    return str(world.cloud.sign_in(url, user or world.admin.upn, world.password,
                                   mfa_code="auto", consent=accept))


def sign_in_and_return(box: Sandbox, url: str, _proc: subprocess.Popen[str]) -> None:
    deliver(sign_in(box, url))


def returning(change: Callable[[str], str], **sign_in_args: Any) -> Callable[..., None]:
    """The person signs in; the browser delivers ``change(redirect)`` instead of the redirect."""
    def play(box: Sandbox, url: str, _proc: subprocess.Popen[str]) -> None:
        deliver(change(sign_in(box, url, **sign_in_args)))
    return play


def never_returns(_box: Sandbox, _url: str, _proc: subprocess.Popen[str]) -> None:
    """The person closes the tab."""


def interrupt(proc: subprocess.Popen[str]) -> None:
    """Ctrl-C, as the terminal sends it."""
    proc.send_signal(signal.SIGINT)


def wait_until(condition: Callable[[], bool], what: str, limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


# -- a stored token, without a CLI run -------------------------------------------------------

def fresh_token(box: Sandbox) -> str:
    """A working refresh token of the MFA admin, obtained the way consent obtains it."""
    world = box.world
    cca = msal.ConfidentialClientApplication(
        world.cpv.app_id, client_credential=world.cpv_secret,
        authority=f"{world.cloud.authority_host}/{world.domain}", instance_discovery=False)
    with warnings.catch_warnings():  # the loopback redirect uses the query (see consent.py)
        warnings.filterwarnings("ignore", message="response_mode", category=UserWarning)
        flow = cca.initiate_auth_code_flow(scopes=[wk.PARTNER_CENTER_SCOPE],
                                           redirect_uri=f"http://localhost:{world.port}")
    redirect = sign_in(box, flow["auth_uri"])
    result = cca.acquire_token_by_auth_code_flow(flow, query_params(redirect))
    assert "refresh_token" in result, result.get("error_description")
    return str(result["refresh_token"])


def seed(box: Sandbox, days: float = 90) -> Snapshot:
    """Store one working token as consent stores it (expiring in ``days``), straight into the
    vault: the lifecycle rows start from a consented partner without paying for a consent run."""
    world = box.world
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
    world.vault.set_secret(world.secret_name, fresh_token(box),
                           content_type=wk.TOKEN_CONTENT_TYPE, expires=expires,
                           tags={"tenantId": world.tenant.id, "source": "consent"})
    return box.snapshot()


def kept_token(box: Sandbox) -> Path:
    """A fallback file as consent leaves it when the vault refused the token (0600 in 0700)."""
    world = box.world
    box.pending.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(world.home, 0o700)
    path = box.pending / f"refresh-token-{world.tenant.id}-test.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"refresh_token": fresh_token(box), "tenant_id": world.tenant.id,
                   "app_id": world.cpv.app_id, "vault_url": world.vault.uri,
                   "secret_name": world.secret_name, "user": world.admin.upn,
                   "obtained_at": "2026-11-29T00:00:00+00:00"}, handle)
    return path


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@contextmanager
def untrusted_https() -> Iterator[str]:
    """An HTTPS endpoint whose certificate chains to a CA this machine does not trust: what a
    TLS-inspecting proxy looks like to a machine without its CA. It completes no handshake."""
    ca = trustme.CA(organization_name="untrusted proxy CA")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def handshake(conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            conn.settimeout(5)
            context.wrap_socket(conn, server_side=True).close()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=handshake, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()
