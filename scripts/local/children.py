"""What the child processes this tool starts may inherit from it.

Two children exist: the Pulumi CLI (``stack_outputs``) and the user's web browser (consent).
Neither needs the CPV app secret or the Key Vault client app secret, and a browser needs none of
our credentials at all; a child's environment is readable by anything that inspects it
(``/proc/PID/environ``, crash reports, the browser's own child processes) for as long as it runs,
which for a browser is long after this tool exits.

This is the one module besides ``scripts.inputs`` that touches ``os.environ``, on purpose: what a
child inherits is this *process's* environment (``subprocess`` without ``env``, ``webbrowser``
always), not the mapping our inputs were resolved from, so the filter must start from the real
thing. A mapping handed in could differ from it and let a secret through, or drop what Pulumi's
state backend needs. Nothing here resolves an input: values are only passed on or held back.
"""

from __future__ import annotations

import os
import re
import webbrowser
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

#: Secrets this tool reads that the Pulumi CLI never needs. (Pulumi may need the rest: its
#: passphrase, access token or AZURE_* credentials for the state backend and secrets provider.)
NOT_FOR_PULUMI: Final = frozenset({"CPV_APP_SECRET", "KV_CLIENT_APP_SECRET"})
#: Variable names that hold a credential, by the naming every SDK and CI system uses.
_SECRET_NAME: Final = re.compile(r"SECRET|PASSWORD|PASSPHRASE|TOKEN|CREDENTIAL|_KEY$",
                                 re.IGNORECASE)


def pulumi_environment() -> dict[str, str]:
    """The environment for the Pulumi CLI: ours, minus the secrets it never needs."""
    return {k: v for k, v in os.environ.items() if k not in NOT_FOR_PULUMI}


@contextmanager
def secrets_hidden() -> Iterator[None]:
    """Remove credential variables from this process's environment while the block runs.

    For children whose launcher takes no ``env`` (``webbrowser`` inherits ``os.environ``). The
    values are restored afterwards; nothing else in this process reads the environment then
    (the sign-in has not started, and credentials read their variables when they are built).
    """
    hidden = {k: v for k, v in os.environ.items() if k in NOT_FOR_PULUMI or _SECRET_NAME.search(k)}
    for name in hidden:
        del os.environ[name]
    try:
        yield
    finally:
        os.environ.update(hidden)


def open_browser(url: str) -> bool:
    """``webbrowser.open`` for a browser that inherits none of our credentials."""
    with secrets_hidden():
        return webbrowser.open(url)
