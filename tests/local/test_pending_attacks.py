"""Another local user against the pending-token folder, a crash against the secrets in memory,
and the Windows branch of the fallback file (issue 10, points 4, 8 and 10).

The other user is played for real: this suite runs as root, so a folder is given to uid 4242 with
``chown`` and the CLI itself is run as uid 4242 where the attack is that we cannot write. Every
consent here is the real CLI as a subprocess against the double, and what is asserted is what the
admin sees: exit 2 and one line *before* the sign-in (nothing was asked of the double, no sign-in
link was shown), and that no folder that is not ours was chmodded. Windows is the one thing this
machine cannot run: its branch runs here with ``sys.platform`` patched, every POSIX-only call
removed from ``os``, and the two Win32 calls (the user's SID, the ACL setter) faked.
"""

from __future__ import annotations

import json
import os
import resource
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from clouddouble import CloudDouble
from foundation.errors import ConfigError
from scripts.inputs.kept import kept_token_inputs
from scripts.local import pending as fallback
from tests.matrix.runner import Expect, Run, Sandbox
from tests.support import ROOT

OTHER_UID = 4242
HOME_FIX = ("SECURE_APP_HOME",)


@pytest.fixture
def box(cloud: CloudDouble, tmp_path: Path) -> Sandbox:
    return Sandbox(cloud, tmp_path / "sandbox")


def token() -> fallback.PendingToken:
    return fallback.PendingToken(refresh_token="rt-secret", tenant_id="t", app_id="a",
                                 vault_url="https://kv-demo.vault.azure.net/", secret_name="s",
                                 user="u", obtained_at="now")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def consent_before_sign_in(box: Sandbox, home: Path, *args: str) -> Run:
    """A consent that must stop before the sign-in: should it get as far as the link, the
    bounded --timeout ends it (and the asserts below say it went too far)."""
    box.cloud.clear_requests()
    return box.invoke("consent", "--no-browser", "--timeout", "5",
                      "--redirect-port", str(box.world.port), *args,
                      env=box.env(SECURE_APP_HOME=str(home)))


def assert_refused_before_sign_in(box: Sandbox, run: Run, *cause: str) -> None:
    box.check(run, Expect(2, cause, HOME_FIX), [])
    assert "https://" not in run.stderr, "the sign-in link was shown: a sign-in would be lost"
    assert box.cloud.requests == [], "the double was asked something before the refusal"


# -- point 4: the folder ---------------------------------------------------------------------

def test_planted_pending_symlink_is_refused_and_its_target_not_chmodded(box: Sandbox,
                                                                        tmp_path: Path) -> None:
    public = tmp_path / "Public"
    public.mkdir(mode=0o755)
    public.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    (home / "pending").symlink_to(public)
    run = consent_before_sign_in(box, home)
    assert_refused_before_sign_in(box, run, "symbolic link", str(home / "pending"))
    assert mode(public) == 0o755 and list(public.iterdir()) == []
    with pytest.raises(ConfigError, match="symbolic link"):  # and no later write follows it
        fallback.keep(token(), home)
    assert list(public.iterdir()) == []


def test_symlinked_home_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o755)
    (tmp_path / "home").symlink_to(elsewhere)
    with pytest.raises(ConfigError, match="symbolic link"):
        fallback.prepare(tmp_path / "home")
    assert mode(elsewhere) == 0o755 and list(elsewhere.iterdir()) == []


def test_pending_folder_of_another_user_is_refused_and_left_alone(box: Sandbox,
                                                                  tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "pending").mkdir(parents=True, mode=0o755)
    os.chown(home / "pending", OTHER_UID, OTHER_UID)
    run = consent_before_sign_in(box, home)
    assert_refused_before_sign_in(box, run, "belongs to another user", "uid 4242")
    info = (home / "pending").lstat()
    assert (info.st_uid, mode(home / "pending")) == (OTHER_UID, 0o755)


def test_home_of_another_user_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    os.chown(home, OTHER_UID, OTHER_UID)
    with pytest.raises(ConfigError, match="belongs to another user"):
        fallback.prepare(home)
    assert not (home / "pending").exists() and mode(home) == 0o700


def test_shared_1777_home_is_never_chmodded_and_the_token_is_owner_only_in_it(
        box: Sandbox, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    run = box.consent(env=box.env(SECURE_APP_HOME=str(shared)))
    assert run.code == 0, run.stderr
    assert mode(shared) == 0o1777, "the shared folder was chmodded"
    assert mode(shared / "pending") == 0o700 and list((shared / "pending").iterdir()) == []
    path = fallback.keep(token(), shared)  # what a vault refusal would have kept
    assert mode(path) == 0o600 and path.parent == shared / "pending"
    assert mode(shared) == 0o1777


def test_pending_squatted_in_a_shared_folder_costs_no_sign_in(box: Sandbox,
                                                              tmp_path: Path) -> None:
    """The issue's /tmp case: another user made ``pending`` first (we could not write in it)."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    (shared / "pending").mkdir(mode=0o700)
    os.chown(shared / "pending", OTHER_UID, OTHER_UID)
    run = consent_before_sign_in(box, shared, "--store", "manual")
    assert_refused_before_sign_in(box, run, "belongs to another user")
    assert mode(shared) == 0o1777


def test_home_others_can_write_is_refused_not_chmodded(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o777)
    with pytest.raises(ConfigError, match="can be written by other users") as caught:
        fallback.prepare(home)
    assert "chmod go-w" in (caught.value.fix or "")
    assert mode(home) == 0o777 and not (home / "pending").exists()


def test_own_pending_folder_with_a_loose_mode_is_tightened(tmp_path: Path) -> None:
    (tmp_path / "home" / "pending").mkdir(parents=True)
    (tmp_path / "home" / "pending").chmod(0o755)
    assert fallback.prepare(tmp_path / "home") == tmp_path / "home" / "pending"
    assert mode(tmp_path / "home" / "pending") == 0o700
    assert list((tmp_path / "home" / "pending").iterdir()) == []  # the write probe is gone


def test_home_that_is_a_file_is_refused_before_the_sign_in(box: Sandbox, tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    run = consent_before_sign_in(box, not_a_folder / "home")
    assert_refused_before_sign_in(box, run, "is not a folder", str(not_a_folder))


@pytest.fixture
def other_user_world() -> Iterator[Path]:
    """A folder uid 4242 can reach (pytest's tmp_path is root's, 0700), and the way to this
    checkout and its interpreter: a clone made under ``mktemp -d`` sits in a 0700 folder, which
    uid 4242 may not even pass through. Those folders get others' search bit (never read) for
    the test's length, and their modes back after."""
    root = Path(tempfile.mkdtemp(prefix="secure-app-other-user-"))
    root.chmod(0o755)
    closed = {folder: folder.stat().st_mode for start in (ROOT, Path(sys.prefix).resolve())
              for folder in (start, *start.parents)
              if not folder.stat().st_mode & stat.S_IXOTH}
    try:
        for folder, was in closed.items():
            folder.chmod(stat.S_IMODE(was) | stat.S_IXOTH)
        yield root
    finally:
        for folder, was in closed.items():
            folder.chmod(stat.S_IMODE(was))
        subprocess.run(["rm", "-rf", "--", str(root)], check=True)


def test_unwritable_folder_is_exit_2_before_the_sign_in_not_exit_1_after(
        box: Sandbox, other_user_world: Path) -> None:
    """The CLI run as another user whose SECURE_APP_HOME is a folder it may read but not write
    (root's, 0755): mkdir fails with EACCES, which used to surface as "unexpected
    PermissionError" (exit 1) after the sign-in."""
    readonly_home = other_user_world / "readonly"
    readonly_home.mkdir(mode=0o755)
    own_home = other_user_world / "user"
    own_home.mkdir(mode=0o700)
    os.chown(own_home, OTHER_UID, OTHER_UID)
    env = box.env(SECURE_APP_HOME=str(readonly_home), PYTHONDONTWRITEBYTECODE="1")
    env.update(HOME=str(own_home), TMPDIR=str(own_home))
    box.cloud.clear_requests()
    proc = subprocess.run(
        [sys.executable, "-m", "scripts.cli", "consent", "--store", "manual", "--no-browser",
         "--timeout", "5", "--redirect-port", str(box.world.port)],
        cwd=ROOT, env=env, user=OTHER_UID, group=OTHER_UID, extra_groups=[],
        capture_output=True, text=True, timeout=60, check=False)
    run = Run(("consent",), proc.returncode, proc.stdout, proc.stderr)
    assert_refused_before_sign_in(box, run, "cannot be created", "Permission denied",
                                  str(readonly_home / "pending"))
    assert list(readonly_home.iterdir()) == []


# -- point 8: core dumps ---------------------------------------------------------------------

def raise_core_limit() -> None:
    """The admin's shell allows core files (this container's soft limit is 0; its hard limit is
    not): without the fix the CLI would inherit this and could dump."""
    _, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))


def core_limit_of(pid: int) -> str:
    limits = Path(f"/proc/{pid}/limits").read_text().splitlines()
    return next(line for line in limits if line.startswith("Max core file size"))


def test_a_running_consent_has_core_dumps_off(box: Sandbox) -> None:
    control = subprocess.run(["cat", "/proc/self/limits"], capture_output=True, text=True,
                             check=True, preexec_fn=raise_core_limit)
    assert "Max core file size        0 " not in control.stdout, "this test could not fail"
    proc = subprocess.Popen(
        [sys.executable, "-m", "scripts.cli", "consent", "--no-browser", "--timeout", "20",
         "--redirect-port", str(box.world.port)],
        cwd=ROOT, env=box.env(), text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=raise_core_limit)  # runs in the child, before exec
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.startswith("https://"):  # waiting for the admin: secrets are in memory
                break
        assert core_limit_of(proc.pid).split()[4] == "0", core_limit_of(proc.pid)  # the soft limit
    finally:
        proc.kill()
        proc.communicate(timeout=30)


def test_core_files_are_ignored_by_git() -> None:
    for name in ("core", "core.12345"):
        checked = subprocess.run(["git", "check-ignore", "-q", name], cwd=ROOT, check=False)
        assert checked.returncode == 0, f"{name} is not in .gitignore"


# -- point 10: Windows -------------------------------------------------------------------------

SID = "S-1-5-21-1004336348-1177238915-682003330-1001"


@pytest.fixture
def on_windows(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Path, str]]:
    """The Windows branch: ``sys.platform`` says win32, and the POSIX-only calls are gone from
    ``os`` (any use would raise AttributeError, as on Windows). Returns the ACLs set."""
    monkeypatch.setattr(sys, "platform", "win32")
    for name in ("getuid", "geteuid", "fchmod", "O_NOFOLLOW", "O_DIRECTORY"):
        monkeypatch.delattr(os, name)
    acls: list[tuple[Path, str]] = []

    def set_acl(path: Path, sddl: str) -> None:
        assert path.read_bytes() == b"", "the ACL must be set before the token is written"
        acls.append((path, sddl))

    monkeypatch.setattr(fallback, "set_owner_only_acl", set_acl)
    monkeypatch.setattr(fallback, "_windows_user_sid", lambda: SID)
    return acls


def test_windows_file_gets_an_owner_only_acl_for_the_current_user_only(
        on_windows: list[tuple[Path, str]], tmp_path: Path) -> None:
    path = fallback.keep(token(), tmp_path / "home")
    assert on_windows == [(path, f"D:P(A;;FA;;;{SID})")]  # protected: nothing inherited
    assert json.loads(path.read_text())["refresh_token"] == "rt-secret"


def test_windows_store_token_reads_the_file_without_posix_calls(
        on_windows: list[tuple[Path, str]], tmp_path: Path) -> None:
    """What crashed store-token (``os.getuid`` in load): the whole input step now runs."""
    path = fallback.keep(token(), tmp_path / "home")
    given = kept_token_inputs(str(path), None, None, None, environ={})
    assert given.target.vault_url == "https://kv-demo.vault.azure.net/"
    assert given.target.secret_name == "s"
