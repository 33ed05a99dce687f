"""Text from outside, made safe for a terminal before it is printed.

A redirect's ``error_description``, a server's error message, a vault tag, a file's content or an
environment variable can carry control characters: ESC starts an ANSI/OSC sequence that can
rewrite the screen, set the window title, plant a hyperlink or (on some terminals) answer back
into the input; C1 characters (U+0080-U+009F) are the same sequences in one code point. Every
line this tool prints goes through ``printable`` in ``tasks.py``: each C0 (except tab), DEL and C1
character is shown as a visible escape (``\\x1b``), so what was sent can still be read and
reported, but not obeyed.
"""

from __future__ import annotations

import re
from typing import Final

#: C0 controls but tab, DEL, C1 controls; and the Unicode line/paragraph separators and the
#: bidirectional overrides, which reorder or break a line on screen the same way.
_UNSAFE: Final = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


#: A JWT (header.payload.signature, base64url): an access or id token. What quotes a server's
#: words (``foundation.advice``, verify's alerts) replaces it, whatever else it scrubs.
JWT: Final = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every control character escaped (``\\x1b``); ``keep_newlines``: for a
    multi-line result (a table), line breaks stay."""
    if keep_newlines:
        return "\n".join(_UNSAFE.sub(_escape, line) for line in text.split("\n"))
    return _UNSAFE.sub(_escape, text)
