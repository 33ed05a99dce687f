"""The ids Microsoft support asks for, at the end of every error line that has them.

Entra's trace id, correlation id and timestamp, a service's request id: not secrets, and what a
support case starts with, so :func:`with_ids` puts them at the end of the line, always. They come
from outside, so only values shaped like ids are shown (:func:`support_id`). Apart from
``foundation.advice`` (which names these too) so that adding ids never loads its refusal table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TypeVar

from foundation.errors import SecureAppError
from foundation.text import printable

#: (label, value) pairs in the order they are shown, e.g. (("trace id", "0b3..."), ...).
SupportIds = tuple[tuple[str, str], ...]
#: A GUID, or hex in dash-separated groups: what Entra, Partner Center, Graph and Key Vault use.
_ID = re.compile(r"(?=[0-9A-Fa-f-]{8,64}\Z)[0-9A-Fa-f]+(?:-[0-9A-Fa-f]+)*")
#: Entra's "2016-01-09 02:02:12Z" (token endpoint) or an ISO 8601 instant.
_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d{1,7})?Z?")
#: Where Entra puts them: the token endpoint's error JSON (MSAL's result dict; Learn,
#: reference-error-codes.md, "Handling error codes in your application"), and every
#: error_description, a redirect's too ("...\r\nTrace ID: x\r\nCorrelation ID: y\r\n...").
_ENTRA = (("trace id", "trace_id", r"Trace ID:\s*(\S+)"),
          ("correlation id", "correlation_id", r"Correlation ID:\s*(\S+)"),
          ("timestamp", "timestamp", r"Timestamp:\s*(\S+(?: [\d:.]+Z?)?)"))
E = TypeVar("E", bound=SecureAppError)


def support_id(value: object, *, stamp: bool = False) -> str | None:
    """``value`` if it looks like an id (with ``stamp``: a timestamp), else ``None``: it came from
    outside, so nothing longer or stranger than an id is ever printed as one."""
    text = value.strip() if isinstance(value, str) else ""
    return printable(text) if (_STAMP if stamp else _ID).fullmatch(text) else None


def entra_ids(reply: Mapping[str, object] | None = None,
              error_description: str | None = None) -> SupportIds:
    """Entra's trace id, correlation id and timestamp: the error JSON's own fields first, else
    the ``error_description`` text (a redirect's error carries only that)."""
    ids: list[tuple[str, str]] = []
    for label, key, pattern in _ENTRA:
        match = re.search(pattern, error_description or "", re.IGNORECASE)
        for candidate in ((reply or {}).get(key), match.group(1) if match else None):
            value = support_id(candidate, stamp=label == "timestamp")
            if value:
                ids.append((label, value))
                break
    return tuple(ids)


def support_note(ids: SupportIds) -> str:
    """``"(trace id X, correlation id Y, timestamp Z)"``, or ``""`` when there are none."""
    return f"({', '.join(f'{label} {value}' for label, value in ids)})" if ids else ""


def ids_of(err: BaseException) -> SupportIds:
    """The ids :func:`with_ids` attached to ``err`` (so a wrapping error can carry them on)."""
    ids = getattr(err, "support_ids", ())
    return ids if isinstance(ids, tuple) else ()


def with_ids(err: E, ids: SupportIds) -> E:
    """``err`` with ``ids`` at the end of its one line (after the fix), each value once."""
    known = ids_of(err)
    seen = {value.lower() for _, value in known}
    added = tuple((label, value) for label, value in ids if value.lower() not in seen)
    if not added:
        return err
    if err.fix:  # the fix ends the line; without one, the message does
        err.fix = f"{err.fix.rstrip('. ')} {support_note(added)}"
    else:
        err.message = f"{err.message.rstrip('. ')} {support_note(added)}"
    setattr(err, "support_ids", (*known, *added))  # noqa: B010  (not a declared attribute)
    err.args = (err.one_line(),)
    return err
