"""Pure checks for single stack config values.

Each check returns ``None`` when the value is fine, or a short sentence saying what is wrong and the
rule it breaks. ``infra.config`` prefixes the key name, so a user who mistyped several values reads
one line per value and fixes them all in one pass instead of one ``pulumi up`` per mistake.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_NIL_GUID = "00000000-0000-0000-0000-000000000000"
_VAULT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$")
_SECRET_NAME = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
_LOCATION = re.compile(r"^[a-z][a-z0-9]{2,39}$")
# Azure resource group names: letters, digits, underscore, hyphen, period and parentheses; a
# trailing period is refused by ARM.
_RESOURCE_GROUP = re.compile(r"^[-\w.()]{1,90}$")
_DOMAIN_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


@functools.cache
def _non_public() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Ranges a Key Vault firewall refuses or that can never be a client's public egress
    address: RFC 1918 private, shared CGNAT, loopback, link-local, "this network", multicast and
    reserved. (Documentation ranges such as 203.0.113.0/24 stay allowed: examples use them.)
    Built on first use: only the stack config's IP ranges are checked against them."""
    return tuple(
        ipaddress.ip_network(n)
        for n in (
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "100.64.0.0/10",
            "127.0.0.0/8",
            "169.254.0.0/16",
            "0.0.0.0/8",
            "224.0.0.0/4",
            "240.0.0.0/4",
        )
    )


def is_guid(value: str) -> bool:
    """8-4-4-4-12 hex digits: a tenant, object or app id (the nil GUID included)."""
    return _GUID.match(value) is not None


def check_guid(value: str) -> str | None:
    if not is_guid(value):
        return f"{value!r} is not a GUID (rule: 8-4-4-4-12 hex digits)"
    if value == _NIL_GUID:
        return "the all-zero GUID is a placeholder, not a real id (rule: a real object/tenant id)"
    return None


def check_vault_name(value: str) -> str | None:
    # Key Vault names become DNS names ({name}.vault.azure.net) and are globally unique.
    rule = (
        "rule: 3-24 characters, letters, digits and hyphens, starts with a letter, "
        "ends with a letter or digit, no consecutive hyphens"
    )
    if not _VAULT_NAME.match(value) or "--" in value:
        return f"{value!r} is not a valid Key Vault name ({rule})"
    return None


def check_secret_name(value: str) -> str | None:
    if not _SECRET_NAME.match(value):
        return f"{value!r} is not a valid Key Vault secret name (rule: ^[0-9a-zA-Z-]{{1,127}}$)"
    return None


def check_location(value: str) -> str | None:
    if not _LOCATION.match(value):
        return (
            f"{value!r} is not an Azure region name (rule: the programmatic name, lowercase "
            "letters and digits, e.g. westeurope; see `az account list-locations -o table`)"
        )
    return None


def check_resource_group_name(value: str) -> str | None:
    if not _RESOURCE_GROUP.match(value) or value.endswith("."):
        return (
            f"{value!r} is not a valid resource group name (rule: 1-90 letters, digits, "
            "'_', '-', '.', '(', ')', not ending with '.')"
        )
    return None


def check_domain(value: str) -> str | None:
    rule = "rule: a DNS domain such as contoso.onmicrosoft.com"
    labels = value.split(".")
    if (
        len(value) > 253
        or len(labels) < 2
        or not all(_DOMAIN_LABEL.match(label) for label in labels)
        or not labels[-1].isalpha()
        or len(labels[-1]) < 2
    ):
        return f"{value!r} is not a domain name ({rule})"
    return None


def check_ipv4_range(value: str) -> str | None:
    """Key Vault firewall rules take public IPv4 addresses or CIDR ranges only."""
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        try:
            loose = ipaddress.ip_network(value, strict=False)
        except ValueError:
            return f"{value!r} is not an IPv4 address or CIDR range (rule: e.g. 203.0.113.0/24)"
        return (
            f"{value!r} has host bits set (rule: a network address; did you mean "
            f"{loose.with_prefixlen}?)"
        )
    if network.version != 4:
        return f"{value!r} is IPv6 (rule: Key Vault firewall rules accept IPv4 only)"
    if any(network.overlaps(blocked) for blocked in _non_public()):
        return (
            f"{value!r} is a private or reserved range (rule: Key Vault firewall rules take "
            "public IPv4 addresses; reach the vault privately with a private endpoint instead)"
        )
    return None


def check_int_range(value: str, low: int, high: int) -> tuple[int | None, str | None]:
    """Parse ``value`` as an integer within [low, high]."""
    try:
        number = int(value.strip())
    except ValueError:
        return None, f"{value!r} is not a whole number (rule: {low}-{high})"
    if not low <= number <= high:
        return None, f"{number} is out of range (rule: {low}-{high})"
    return number, None


def parse_tags(raw: str) -> tuple[dict[str, str], list[str]]:
    rule = "rule: a map of up to 50 name: value pairs, names <= 512, values <= 256 characters"
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        return {}, [f"is not a map ({rule})"]
    if not isinstance(data, dict) or len(data) > 50:
        return {}, [f"is not a map of at most 50 tags ({rule})"]
    errors: list[str] = []
    tags: dict[str, str] = {}
    for name, value in data.items():
        if not name or len(name) > 512 or any(c in name for c in "<>%&\\?/"):
            errors.append(f"tag name {name!r} is invalid ({rule}; no <>%&\\?/ in names)")
        elif not isinstance(value, str | int | float | bool) or len(str(value)) > 256:
            errors.append(f"tag {name!r} has an invalid value ({rule})")
        else:
            tags[name] = str(value)
    return tags, errors
