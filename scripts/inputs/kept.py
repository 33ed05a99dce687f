"""``csp-secure-app store-token``'s inputs: the fallback file, and where its token goes.

Resolved as every task's are (``scripts.inputs``: every problem of the run reported together);
apart from them because only store-token reads a fallback file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from foundation.clouds import validate_vault_url
from foundation.errors import ConfigError
from scripts.inputs import _env, _machine, check_secret_name, first
from scripts.inputs.gather import Gather, _sure
from scripts.types import StorageOptions, VaultTarget

if TYPE_CHECKING:
    from collections.abc import Mapping

    from foundation.clouds import Endpoints


@dataclass(frozen=True)
class KeptTokenInputs:
    """``csp-secure-app store-token``: the fallback file, and where its token goes."""

    path: Path
    endpoints: Endpoints
    #: The flags', else the vault and secret the file recorded: checked either way.
    target: VaultTarget
    storage: StorageOptions


def kept_token_inputs(from_file: str, vault_url: str | None, secret_name: str | None,
                      cloud: str | None,
                      environ: Mapping[str, str] | None = None) -> KeptTokenInputs:
    """``--vault-url`` / ``--secret-name`` win over what the fallback file recorded; what the file
    recorded is checked exactly as those flags are (a file is input too: one that names
    ``https://user:pw@evil.example:8443/x/`` or a secret ``../../keys/x`` is refused, exit 2).
    Every problem of the run (the file, the flags, the variables) is reported together."""
    from scripts.local import pending

    run, path = Gather(_env(environ)), Path(from_file)
    where, storage = _machine(run, cloud)
    kept = run.check(lambda: pending.load(path))
    url = first(vault_url, kept.vault_url) if kept else None
    name = first(secret_name, kept.secret_name) if kept else None
    if kept and not (url and name):
        lacking = [flag for flag, got in (("--vault-url", url), ("--secret-name", name)) if not got]
        run.errors.append(ConfigError(f"{path} names no vault (it was kept by a consent with "
                                      "--store manual)", fix=f"pass {' and '.join(lacking)}"))
    checked_url = (run.check(lambda: _recorded_url(url, where, path, given=bool(vault_url)))
                   if url and where else None)
    source = "--secret-name" if secret_name else f"the secret name recorded in {path}:"
    checked_name = run.check(lambda: check_secret_name(name, source)) if name else None
    run.done()
    return KeptTokenInputs(path=path, endpoints=_sure(where), storage=_sure(storage),
                           target=VaultTarget(_sure(checked_url), _sure(checked_name)))


def _recorded_url(url: str, where: Endpoints, path: Path, *, given: bool) -> str:
    """``validate_vault_url``; a URL that came from the file says so."""
    try:
        return validate_vault_url(url, where)
    except ConfigError as exc:
        if given:
            raise
        raise ConfigError(f"{exc.message}, as recorded in {path}", fix=exc.fix) from None
