"""The stack configuration: one frozen, typed ``StackConfig``, read and validated in one place.

This module is the one door to it: importers (``infra/__main__.py``, the offline plan, the tests)
name ``infra.config`` and need not know how it is laid out behind, one module per concern:

- ``infra.stack_config``: the typed ``StackConfig``, its defaults and the project name;
- ``infra.config_input``: the keys this project knows and how raw values are normalised;
- ``infra.config_validation``: ``parse_config``, every rule and its message, all reported at once;
- ``infra.config_sources``: reading the values from a stack file or from the Pulumi engine.
"""

from __future__ import annotations

from infra.config_input import KNOWN_KEYS, OPTIONAL_KEYS, REQUIRED_KEYS, SECRET_MARKER
from infra.config_sources import (
    STACK_FILE_MAX_ALIASES,
    STACK_FILE_MAX_BYTES,
    config_values_from_stack_file,
    read_config,
    read_stack_document,
)
from infra.config_validation import MAX_ACCESS_POLICIES, MAX_SECRET_LIFETIME_DAYS, parse_config
from infra.stack_config import (
    DEFAULT_RESOURCE_GROUP,
    DEFAULT_RETENTION_DAYS,
    DEFAULT_SECRET_LIFETIME_DAYS,
    DEFAULT_SECRET_NAME,
    PROJECT,
    AccessMode,
    CloudName,
    StackConfig,
)

__all__ = [
    "DEFAULT_RESOURCE_GROUP",
    "DEFAULT_RETENTION_DAYS",
    "DEFAULT_SECRET_LIFETIME_DAYS",
    "DEFAULT_SECRET_NAME",
    "KNOWN_KEYS",
    "MAX_ACCESS_POLICIES",
    "MAX_SECRET_LIFETIME_DAYS",
    "OPTIONAL_KEYS",
    "PROJECT",
    "REQUIRED_KEYS",
    "SECRET_MARKER",
    "STACK_FILE_MAX_ALIASES",
    "STACK_FILE_MAX_BYTES",
    "AccessMode",
    "CloudName",
    "StackConfig",
    "config_values_from_stack_file",
    "parse_config",
    "read_config",
    "read_stack_document",
]
