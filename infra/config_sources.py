"""Where the stack config's values come from: a ``Pulumi.<stack>.yaml`` read offline, or the
Pulumi engine under ``pulumi up``.

Both hand ``parse_config`` the same plain mapping (bare keys, text values, encrypted ones replaced
by ``SECRET_MARKER``), so the offline plan and a deployment judge a stack identically. Reading a
file someone hands over is bounded here (size, YAML aliases) before anything is expanded.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from foundation.errors import ConfigError
from infra.config_input import SECRET_MARKER, config_text
from infra.config_validation import parse_config
from infra.stack_config import PROJECT, StackConfig

#: A stack file is a few dozen lines; anything this big is not one (and is not read whole).
STACK_FILE_MAX_BYTES = 1_000_000
#: YAML aliases expand on load: a handful of nested ones (a "billion laughs") is gigabytes once
#: rendered. A hand-written stack file needs none; a few are tolerated, never enough to blow up.
STACK_FILE_MAX_ALIASES = 16


def read_stack_document(path: Path) -> object:
    """The parsed ``Pulumi.<stack>.yaml``, refused (``ConfigError``, exit 2) when it is over the
    size cap or uses more aliases than the bound, before anything is expanded. Syntax errors
    surface as ``yaml.YAMLError`` for the caller to name the line."""
    import yaml

    with path.open("rb") as file:
        raw = file.read(STACK_FILE_MAX_BYTES + 1)
    if len(raw) > STACK_FILE_MAX_BYTES:
        raise ConfigError(f"{path} is over {STACK_FILE_MAX_BYTES} bytes, too big for a stack "
                          "file", fix="point --stack at the Pulumi.<stack>.yaml of this project")
    text = raw.decode("utf-8", errors="replace")
    # The event stream names each alias without expanding it: counting costs one pass.
    aliases = sum(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, yaml.SafeLoader))
    if aliases > STACK_FILE_MAX_ALIASES:
        raise ConfigError(f"{path} uses {aliases} YAML aliases (at most "
                          f"{STACK_FILE_MAX_ALIASES} are accepted, so the file cannot expand "
                          "to exhaust memory)", fix="write the values out instead of *aliases")
    return yaml.safe_load(text)


def config_values_from_stack_file(raw: Mapping[str, Any]) -> dict[str, str]:
    """Turn the ``config:`` block of a ``Pulumi.<stack>.yaml`` into ``parse_config`` input:
    keep this project's keys, strip the ``csp-secure-app:`` prefix, and render structured values
    as JSON text, the way ``pulumi.Config.get`` returns them."""
    prefix = f"{PROJECT}:"
    return {
        key[len(prefix) :]: SECRET_MARKER if _is_secure(value) else config_text(value)
        for key, value in raw.items()
        if key.startswith(prefix) and value is not None
    }


def _is_secure(value: object) -> bool:
    """Pulumi writes encrypted values as ``{secure: <ciphertext>}`` in the stack file."""
    return isinstance(value, dict) and set(value) == {"secure"}


def read_config() -> StackConfig:
    """What ``infra/__main__.py`` calls under the Pulumi engine: every key this project has in
    the stack (including mistyped ones, so they are reported), through ``pulumi.Config``."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    prefix = f"{PROJECT}:"
    present = [*runtime_config.CONFIG.get(), *runtime_config.get_config_env()]
    keys = sorted({key[len(prefix) :] for key in present if key.startswith(prefix)})
    stack_config = pulumi.Config(PROJECT)
    values = {
        key: SECRET_MARKER if runtime_config.is_config_secret(f"{prefix}{key}") else text
        for key in keys
        if (text := stack_config.get(key)) is not None
    }
    client_id = pulumi.Config("azure-native").get("clientId") or os.environ.get("ARM_CLIENT_ID")
    return parse_config(values, provider_client_id=client_id)
