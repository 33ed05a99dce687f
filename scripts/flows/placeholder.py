"""The value ``pulumi up`` stores in the token secret before any consent, told apart from a token.

Apart from ``scripts.flows.settings`` (which re-exports both) so that rotate, which refuses to
redeem the placeholder, does not load the module settings' tables.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

from foundation.errors import SignInError

#: The value ``pulumi up`` writes before any consent (``infra/token_vault.py`` PLACEHOLDER_VALUE,
#: which the flows may not import). Older programs wrote other sentences after the same word.
_PLACEHOLDER_PREFIX: Final = "placeholder:"


def is_placeholder(value: str) -> bool:
    """True for what ``pulumi up`` stores before any consent. Its content type and tags are no
    help (it carries the token's content type, and a version pasted in the portal carries no
    tags either); its value is: the word ``placeholder:`` first, whatever sentence follows, or
    nothing at all. No refresh token starts that way (they are base64url and dots)."""
    text = value.strip().lower()
    return not text or text.startswith(_PLACEHOLDER_PREFIX)


def no_token_yet(name: str, vault_url: str) -> SignInError:
    return SignInError(
        f"no token stored yet: secret {name} in {urlsplit(vault_url).netloc or vault_url} still "
        "holds the placeholder `pulumi up` wrote",
        fix="run `csp-secure-app consent` (a partner admin signs in with MFA); it stores the "
        "token and prints the settings",
        error="no_token")
