"""The owner-only fallback file: where a refresh token waits when it could not reach Key Vault.

A refresh token costs a human an MFA sign-in; losing it is never acceptable. Every store
(``scripts.storage``: consent, rotate, store-token) writes the token here *before* it talks to
the vault and deletes the file only after the vault confirmed the new version, so a vault error,
a crash or Ctrl-C while storing all leave it recoverable with ``csp-secure-app store-token
--from-file
PATH``. This module is the file alone; where its folder is (``$SECURE_APP_HOME``) is decided by
``scripts.inputs`` and passed in.

The folder may sit where other local users can write (a shared ``SECURE_APP_HOME``, a planted
``pending -> ~/Public`` symlink, a ``pending`` folder made by someone else first). So nothing here
follows a symlink or trusts a path twice: the folder is opened once (``O_NOFOLLOW``), checked on
that handle (a real folder, ours, owner-only) and the file is created relative to the handle
(``O_CREAT | O_EXCL | O_NOFOLLOW``, 0600). Only a folder we own is ever chmodded, and a folder
that existed before us never is, except ``pending`` itself when it is ours. :func:`prepare` runs
the same checks *before* the sign-in (``scripts.storage.keeper``), so a folder that cannot be
made safe costs exit 2 and one line, not a human's sign-in. On Windows, where modes and uids mean
nothing, the file gets an owner-only ACL instead (Win32 security API, no child process).
"""

from __future__ import annotations

import errno
import json
import os
import stat
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final, TypeVar

from foundation.errors import ConfigError

FOLDER: Final = "pending"
#: Owner-only on Windows: a protected DACL (no inherited entries) with one entry, full access for
#: the given user's SID. ``{sid}`` is the current user's (see :func:`_windows_user_sid`).
WINDOWS_OWNER_ONLY_SDDL: Final = "D:P(A;;FA;;;{sid})"
_T = TypeVar("_T")
_FIX_HOME: Final = ("set SECURE_APP_HOME to a folder of your own (or unset it for ~/.secure-app) "
                    "and run the task again")


@dataclass(frozen=True)
class PendingToken:
    refresh_token: str
    tenant_id: str
    app_id: str
    vault_url: str
    secret_name: str
    user: str
    obtained_at: str

    def __repr__(self) -> str:  # never let a debugger or log line print the token
        return f"PendingToken(tenant_id={self.tenant_id!r}, secret_name={self.secret_name!r})"


def windows() -> bool:
    """Asked at call time (not import time), so tests can run the Windows branch here."""
    return sys.platform == "win32"


def prepare(home: Path) -> Path:
    """Make ``HOME/pending`` (0700, ours) or check it is safe, before anything costs a sign-in.

    Raises ConfigError (exit 2, one line) for a folder that is a symlink, not a folder, owned by
    another user, writable by others, or that cannot be created."""
    if windows():
        folder = home / FOLDER
        _windows_call(lambda: folder.mkdir(parents=True, exist_ok=True), folder)
        return folder
    os.close(_open_pending(home))
    return home / FOLDER


def pending_dir(home: Path) -> Path:
    """``HOME/pending``, checked as :func:`prepare` checks it."""
    return prepare(home)


def keep(pending: PendingToken, home: Path) -> Path:
    """Write the token to a new owner-only file (0600, created exclusively: never over another,
    never through a symlink), in a folder checked again now (time passed since :func:`prepare`)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    name = f"refresh-token-{pending.tenant_id or 'tenant'}-{stamp}-{os.getpid()}.json"
    data = json.dumps(asdict(pending)).encode("utf-8")
    if windows():
        return _keep_on_windows(prepare(home) / name, data)
    folder_fd = _open_pending(home)
    path = home / FOLDER / name
    try:
        fd = _checked(lambda: os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                                      0o600, dir_fd=folder_fd), path, "cannot be created")
    finally:
        os.close(folder_fd)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return path


def load(path: Path) -> PendingToken:
    """Read a fallback file, refusing one that others could have read or written."""
    try:
        info = path.lstat()
    except FileNotFoundError as exc:
        raise ConfigError(f"no fallback file at {path}",
                          fix="pass the path that consent printed") from exc
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{path} is not a regular file", fix="pass the path that consent printed")
    # On Windows the owner-only ACL set when the file was written protects it; st_uid and the
    # mode bits say nothing there (and os.getuid does not exist).
    if not windows() and (info.st_uid != os.geteuid() or info.st_mode & 0o077):
        raise ConfigError(
            f"{path} is readable or writable by others (mode {stat.S_IMODE(info.st_mode):o}); "
            "the token in it must be treated as exposed",
            fix="run consent again to get a new token, and revoke the exposed one by resetting "
            "the consent in Partner Center",
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return PendingToken(**{k: str(data[k]) for k in PendingToken.__dataclass_fields__})
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path} is not a fallback file written by consent",
                          fix="pass the path that consent printed") from exc


def discard(path: Path) -> None:
    path.unlink(missing_ok=True)


# -- POSIX: one handle per folder, checked on the handle ------------------------------------------

def _open_pending(home: Path) -> int:
    """An fd of ``HOME/pending``: a real folder, ours, mode 0700, in a home others cannot tamper
    with. The caller closes it."""
    home_fd = _open_folder(home, parent_fd=None, shared_ok=True)
    try:
        return _open_folder(home / FOLDER, parent_fd=home_fd, shared_ok=False)
    finally:
        os.close(home_fd)


def _open_folder(path: Path, *, parent_fd: int | None, shared_ok: bool) -> int:
    """Create ``path`` (0700) or open the one there, without following a symlink, and check it.

    ``shared_ok`` (the home): a folder that existed before us may be root's (``/tmp``-like) and
    world-writable if sticky, and is never chmodded. Otherwise (``pending``): it must be ours, and
    ours only: a looser mode is tightened on the checked handle."""
    name: str | Path = path.name if parent_fd is not None else path
    if parent_fd is None:
        _checked(lambda: path.parent.mkdir(parents=True, exist_ok=True), path.parent,
                 "cannot be created")
    try:
        os.mkdir(name, 0o700, dir_fd=parent_fd)
        created = True
    except FileExistsError:
        created = False
    except OSError as exc:
        raise _folder_error(path, exc, "cannot be created") from None
    fd = _checked(lambda: os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW,
                                  dir_fd=parent_fd), path, "cannot be opened")
    try:
        _check_folder(fd, path, created=created, shared_ok=shared_ok)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _check_folder(fd: int, path: Path, *, created: bool, shared_ok: bool) -> None:
    info = os.fstat(fd)
    me = os.geteuid()
    owners = (me, 0) if shared_ok and not created else (me,)
    if info.st_uid not in owners:
        raise ConfigError(
            f"the fallback folder {path} belongs to another user (uid {info.st_uid}); a refresh "
            "token written there would be theirs to read", fix=_FIX_HOME)
    mode = stat.S_IMODE(info.st_mode)
    if shared_ok:
        if mode & 0o022 and not (info.st_uid == 0 and mode & stat.S_ISVTX and not created):
            raise ConfigError(
                f"the fallback folder {path} can be written by other users (mode {mode:o}); they "
                "could replace what is kept in it", fix=f"run 'chmod go-w {path}', or "
                f"{_FIX_HOME}")
        return
    if mode & 0o077:
        os.fchmod(fd, 0o700)  # ours (checked above), opened without following a link
    _check_writable(fd, path)


def _check_writable(fd: int, path: Path) -> None:
    """Fail now, not after the sign-in, on a folder we cannot write in (read-only file system,
    ACLs): ``os.access`` would say yes to root whatever the file system says."""
    probe = f".probe-{os.getpid()}"
    made = _checked(lambda: os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                                    0o600, dir_fd=fd), path, "cannot be written")
    os.close(made)
    os.unlink(probe, dir_fd=fd)


def _checked(call: Callable[[], _T], path: Path, what: str) -> _T:
    try:
        return call()
    except OSError as exc:
        raise _folder_error(path, exc, what) from None


def _folder_error(path: Path, exc: OSError, what: str) -> ConfigError:
    # O_NOFOLLOW | O_DIRECTORY on a symlink is ELOOP or ENOTDIR, depending on the system.
    if exc.errno == errno.ELOOP or (exc.errno == errno.ENOTDIR and path.is_symlink()):
        return ConfigError(
            f"the fallback folder {path} is a symbolic link; it is not followed (a link planted "
            "there would send the refresh token elsewhere)",
            fix=f"remove the link {path} (a real folder is made in its place), or {_FIX_HOME}")
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return ConfigError(f"the fallback folder {path} is not a folder", fix=_FIX_HOME)
    reason = os.strerror(exc.errno) if exc.errno else type(exc).__name__
    return ConfigError(f"the fallback folder {path} {what} ({reason})", fix=_FIX_HOME)


# -- Windows: an owner-only ACL ------------------------------------------------------------------

def _keep_on_windows(path: Path, data: bytes) -> Path:
    def write() -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0))
        try:
            # Owner-only before the token is in it: nobody else can open it in between.
            set_owner_only_acl(path, WINDOWS_OWNER_ONLY_SDDL.format(sid=_windows_user_sid()))
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    _windows_call(write, path)
    return path


def _windows_call(call: Callable[[], object], path: Path) -> None:
    try:
        call()
    except OSError as exc:
        raise _folder_error(path, exc, "cannot be written") from None


def _windows_user_sid() -> str:  # pragma: no cover - Win32 only; faked in the tests
    """The current user's SID (``S-1-5-21-...``), from the process token."""
    if sys.platform != "win32":  # tells mypy (and a reader) that what follows is Win32 only
        raise OSError(errno.ENOSYS, "Win32 only")
    import ctypes
    from ctypes import wintypes

    advapi32 = ctypes.WinDLL("advapi32", use_last_error=True)
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.GetCurrentProcess.restype = wintypes.HANDLE
    token = wintypes.HANDLE()
    if not advapi32.OpenProcessToken(kernel32.GetCurrentProcess(), 0x0008, ctypes.byref(token)):
        raise ctypes.WinError(ctypes.get_last_error())  # 0x0008: TOKEN_QUERY
    try:
        size = wintypes.DWORD()
        advapi32.GetTokenInformation(token, 1, None, 0, ctypes.byref(size))  # 1: TokenUser
        buffer = ctypes.create_string_buffer(size.value)
        if not advapi32.GetTokenInformation(token, 1, buffer, size, ctypes.byref(size)):
            raise ctypes.WinError(ctypes.get_last_error())
        sid = ctypes.cast(buffer, ctypes.POINTER(ctypes.c_void_p))[0]  # TOKEN_USER.User.Sid
        text = wintypes.LPWSTR()
        if not advapi32.ConvertSidToStringSidW(ctypes.c_void_p(sid), ctypes.byref(text)):
            raise ctypes.WinError(ctypes.get_last_error())
        try:
            return str(text.value)
        finally:
            kernel32.LocalFree(text)
    finally:
        kernel32.CloseHandle(token)


def set_owner_only_acl(path: Path, sddl: str) -> None:  # pragma: no cover - Win32 only
    """Replace the file's DACL with ``sddl`` (protected: nothing inherited from the folder)."""
    if sys.platform != "win32":  # tells mypy (and a reader) that what follows is Win32 only
        raise OSError(errno.ENOSYS, "Win32 only")
    import ctypes
    from ctypes import wintypes

    advapi32 = ctypes.WinDLL("advapi32", use_last_error=True)
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    descriptor = ctypes.c_void_p()
    if not advapi32.ConvertStringSecurityDescriptorToSecurityDescriptorW(
            wintypes.LPCWSTR(sddl), 1, ctypes.byref(descriptor), None):  # 1: SDDL_REVISION_1
        raise ctypes.WinError(ctypes.get_last_error())
    try:
        # 0x4: DACL_SECURITY_INFORMATION; 0x80000000: PROTECTED_DACL_SECURITY_INFORMATION
        if not advapi32.SetFileSecurityW(wintypes.LPCWSTR(str(path)), 0x80000004, descriptor):
            raise ctypes.WinError(ctypes.get_last_error())
    finally:
        kernel32.LocalFree(descriptor)
