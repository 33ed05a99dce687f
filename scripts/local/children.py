"""What the child processes this tool starts may inherit from it.

Three kinds of children exist: the Pulumi CLI (``stack_outputs``), the user's web browser
(consent), and the credential helpers azure-identity's ``DefaultAzureCredential`` may run for the
deployer (``az``, ``azd``, ``pwsh``). None of them needs the CPV app secret or the Key Vault
client app secret; a child's environment is readable by anything that inspects it
(``/proc/PID/environ``, crash reports, the browser's own child processes) for as long as it runs,
which for a browser is long after this tool exits.

* The browser and Pulumi get an **allow-listed** environment: what a program needs to run here
  (paths, locale, display, temp folders, proxies, CA bundles, Windows' system variables) and,
  for Pulumi only, its own and Azure's variables (its state backend and secrets provider may be
  Azure). A name pattern would let whatever it did not foresee through.
* The credential helpers are started by azure-identity with this process's whole environment,
  which we cannot filter. So our secrets do not stay in it: they are moved out of ``os.environ``
  whenever ``scripts.inputs`` reads it (``process_environment``), and so are the credentials
  only a child could want (storage connection strings and keys, Pulumi's token and passphrase),
  into a store only ``pulumi_environment`` draws from.

This module touches ``os.environ`` (``scripts.inputs`` reads it through
``process_environment``) on purpose: what a child inherits is this *process's*
environment, not the mapping our inputs were resolved from. Nothing here resolves an input:
values are only passed on or held back.
"""

from __future__ import annotations

import os
import webbrowser
from collections import ChainMap
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Final

#: Our own secrets: read once by ``scripts.inputs``, never inherited by any child.
OURS: Final = frozenset({"CPV_APP_SECRET", "KV_CLIENT_APP_SECRET"})

#: Credentials nothing in this process reads, which only Pulumi's state backend may need: kept
#: out of ``os.environ`` (so ``az``/``azd``/``pwsh`` never see them) and handed to Pulumi only.
WITHHELD: Final = frozenset({
    "AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN",
    "PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE", "ARM_CLIENT_SECRET",
    "ARM_CLIENT_CERTIFICATE_PASSWORD", "ARM_ACCESS_KEY", "ARM_SAS_TOKEN",
})

#: Every child may get these: enough to run a program on Linux, macOS or Windows.
_ANY_CHILD: Final = frozenset({
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TERM",
    "DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "BROWSER",
    "TMPDIR", "TMP", "TEMP",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
    # Windows: a program cannot start without some of these.
    "SYSTEMROOT", "SystemRoot", "SYSTEMDRIVE", "WINDIR", "COMSPEC", "PATHEXT", "USERPROFILE",
    "APPDATA", "LOCALAPPDATA", "PROGRAMDATA", "PROGRAMFILES", "PROGRAMFILES(X86)",
    "COMMONPROGRAMFILES", "NUMBER_OF_PROCESSORS", "PROCESSOR_ARCHITECTURE", "OS", "USERNAME",
    "USERDOMAIN", "HOMEDRIVE", "HOMEPATH",
})
_ANY_CHILD_PREFIXES: Final = ("LC_", "XDG_")
#: Pulumi's own settings and the Azure variables its backends and providers read.
_PULUMI_PREFIXES: Final = ("PULUMI_", "ARM_", "AZURE_")

#: What ``withhold`` took out of ``os.environ``, for ``pulumi_environment`` alone.
_withheld: dict[str, str] = {}
#: Our secrets, out of ``os.environ``: only ``scripts.inputs`` reads them, through
#: ``process_environment``.
_ours: dict[str, str] = {}


def _allowed(name: str, prefixes: tuple[str, ...] = ()) -> bool:
    return (name in _ANY_CHILD or name.upper() in _ANY_CHILD
            or name.startswith(_ANY_CHILD_PREFIXES + prefixes)) and name not in OURS


def process_environment() -> Mapping[str, str]:
    """This process's environment as ``scripts.inputs`` reads it: our secrets and the
    ``WITHHELD`` credentials are first moved out of ``os.environ`` (so no child inherits them),
    and our secrets stay readable through the view returned. Called on every read, so a value
    set later (a test's environment) is moved out too."""
    withhold()
    for name in OURS & set(os.environ):
        _ours[name] = os.environ.pop(name)
    return ChainMap(os.environ, _ours)


def withhold(environ: MutableMapping[str, str] | None = None) -> None:
    """Move the ``WITHHELD`` credentials out of ``environ`` (this process's; idempotent)."""
    environ = os.environ if environ is None else environ
    for name in WITHHELD & set(environ):
        _withheld[name] = environ.pop(name)


def pulumi_environment() -> dict[str, str]:
    """The environment for the Pulumi CLI: the allow-list, Pulumi's and Azure's variables, and
    what ``withhold`` kept for it; never our secrets."""
    merged: Mapping[str, str] = {**os.environ, **_withheld}
    return {k: v for k, v in merged.items() if _allowed(k, _PULUMI_PREFIXES)}


def browser_environment() -> dict[str, str]:
    """The environment for the browser: the allow-list only (no Azure, Pulumi or CI variable)."""
    return {k: v for k, v in os.environ.items() if _allowed(k)}


@contextmanager
def environment_limited_to(allowed: Mapping[str, str]) -> Iterator[None]:
    """For children whose launcher takes no ``env`` (``webbrowser`` inherits ``os.environ``):
    while the block runs, this process's environment is exactly ``allowed``; the rest is
    restored afterwards. Nothing else in this process reads the environment then (the sign-in
    has not started, and credentials read their variables when they are built)."""
    hidden = {k: v for k, v in os.environ.items() if k not in allowed}
    for name in hidden:
        del os.environ[name]
    try:
        yield
    finally:
        os.environ.update(hidden)


def open_browser(url: str) -> bool:
    """``webbrowser.open`` for a browser that inherits none of our credentials."""
    with environment_limited_to(browser_environment()):
        return webbrowser.open(url)
