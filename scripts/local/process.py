"""This process, hardened before any task reads a secret.

A core dump is a copy of the process's memory: the CPV app secret, the Key Vault client secret
and the refresh token, written to the working folder (the repository, where ``git add .`` picks
it up) or handed to a crash collector. A SIGQUIT (Ctrl-\\) during the vault write was enough to
leave one. So every task starts with core dumps off; the limit is inherited by the children we
start, which see none of our secrets anyway.

Only the soft limit is lowered: it is the one the kernel applies to this process's own dump. The
hard limit stays as the caller had it, so a test runner or shell that imports the tasks in process
keeps its own ability to allow dumps for other programs (lowering a hard limit cannot be undone
without CAP_SYS_RESOURCE).
"""

from __future__ import annotations


def harden() -> None:
    """Core dumps off (soft ``RLIMIT_CORE`` 0). Windows has no such limit (and no ``resource``
    module): nothing to do there."""
    try:
        import resource
    except ImportError:  # Windows
        return
    _, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (0, hard))
